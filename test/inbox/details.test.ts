/**
 * Issue 15, the inbox's details pane: a conversation as the list and the single read give it carries
 * what the pane shows to members who may not read contacts or list tags (a Chat Manager, an
 * Operator): the contact's WhatsApp id and opt-out state, and the conversation's tags with names.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { base, customerWrites, type InboxFixture, inboxOrg } from "./helpers.js";

let t: TestApp;
let f: InboxFixture;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Details Co");
});
afterAll(async () => {
  await t.close();
});

const url = (path = "") => `${base(f.org.orgId)}${path}`;

describe("conversation details for the inbox's details pane", () => {
  it("contact WhatsApp id and opt-out, tags with names, for a Chat Manager and the assigned Operator", async () => {
    const c = await customerWrites(f, { name: "Dora Details" });
    const orgApi = `/api/v1/orgs/${f.org.orgId}`;
    const vip = await f.org.owner.client.post(`${orgApi}/tags`, { name: "VIP", color: "#b91c1c" });
    const late = await f.org.owner.client.post(`${orgApi}/tags`, { name: "Late delivery" });
    expect([vip.statusCode, late.statusCode]).toEqual([201, 201]);
    const assigned = await f.manager.client.post(url(`/${c.conversationId}/assign`), {
      memberId: f.operator.memberId,
    });
    expect(assigned.statusCode).toBe(200);

    // Fresh: not opted out, no tags.
    const fresh = (await f.manager.client.get(url(`/${c.conversationId}`))).json();
    expect(fresh.contact).toEqual({
      id: c.contactId,
      name: "Dora Details",
      phone: `+${c.waId}`,
      waId: c.waId,
      optedOut: false,
    });
    expect(fresh.tags).toEqual([]);

    // The Chat Manager (chats:*, no contacts:read) tags it and raises its priority.
    const tagged = await f.manager.client.patch(url(`/${c.conversationId}`), {
      tagIds: [vip.json().id, late.json().id],
      priority: 3,
    });
    expect(tagged.statusCode).toBe(200);
    const expectedTags = [
      { id: vip.json().id, name: "VIP", color: "#b91c1c" },
      { id: late.json().id, name: "Late delivery", color: late.json().color },
    ].sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(tagged.json()).toMatchObject({ priority: 3, tags: expectedTags });
    expect(tagged.json().tagIds).toEqual(expectedTags.map((x) => x.id));
    // The Chat Manager may not list the organization's tags, yet reads the conversation's.
    expect((await f.manager.client.get(`${orgApi}/tags`)).statusCode).toBe(403);

    // The contact opts out (a Contact Manager); the Operator's list and single read say so.
    const out = await f.noChats.client.patch(`${orgApi}/contacts/${c.contactId}`, { optedOut: true });
    expect(out.statusCode).toBe(200);
    const one = (await f.operator.client.get(url(`/${c.conversationId}`))).json();
    expect(one.contact).toMatchObject({ waId: c.waId, optedOut: true });
    expect(one.tags).toEqual(expectedTags);
    const row = (await f.operator.client.get(url("?view=mine&limit=100")))
      .json()
      .items.find((x: { id: string }) => x.id === c.conversationId);
    expect(row).toMatchObject({ priority: 3, contact: { optedOut: true }, tags: expectedTags });

    // A deleted tag leaves the conversation.
    expect((await f.org.owner.client.delete(`${orgApi}/tags/${vip.json().id}`)).statusCode).toBe(204);
    const after = (await f.manager.client.get(url(`/${c.conversationId}`))).json();
    expect(after.tags).toEqual(expectedTags.filter((x) => x.id !== vip.json().id));
  });

  it("GET /conversations/tags: the tag picker of chat readers (no contacts:read needed); others get nothing", async () => {
    const orgApi = `/api/v1/orgs/${f.org.orgId}`;
    const made = await f.org.owner.client.post(`${orgApi}/tags`, { name: "Picker tag", color: "#0f766e" });
    expect(made.statusCode).toBe(201);
    for (const who of [f.manager, f.operator]) {
      const res = await who.client.get(url("/tags"));
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toContainEqual({
        id: made.json().id,
        name: "Picker tag",
        color: "#0f766e",
        teamId: null,
      });
      // Names, colours and teams only: no contact counts (those need contacts:read).
      for (const item of res.json().items) expect(Object.keys(item).sort()).toEqual(["color", "id", "name", "teamId"]);
    }
    // A member who reads no chats (a Contact Manager) gets an empty list, as from the conversation list.
    const none = await f.noChats.client.get(url("/tags"));
    expect(none.statusCode).toBe(200);
    expect(none.json().items).toEqual([]);
    // Another organization's owner: not a member here.
    const other = await inboxOrg(t, "Details Other Co");
    expect((await other.org.owner.client.get(url("/tags"))).statusCode).toBe(404);
  });
});
