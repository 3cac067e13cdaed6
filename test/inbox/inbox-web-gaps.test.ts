/**
 * What the inbox web app needs beyond the first slice: unread counts with a per-member read
 * marker, template replies (outside the 24-hour window too), starting a conversation with a
 * template, and the approved templates a replying member may pick. PGlite and PostgreSQL.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contacts, messages, messageTemplates } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import { connectChannel } from "../whatsapp/helpers.js";
import { activityOf, base, customerWrites, type InboxFixture, inboxOrg, sendJobsFor } from "./helpers.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;
/** APPROVED on f's channel: "Hello {{1}}, your order {{2}} is ready." */
let approved: string;
let pending: string;
let otherChannelTemplate: string;
let otherOrgTemplate: string;

async function template(
  fx: InboxFixture,
  channelId: string,
  name: string,
  status: "APPROVED" | "PENDING",
): Promise<string> {
  const [row] = await t.database.db
    .insert(messageTemplates)
    .values({
      orgId: fx.org.orgId,
      channelId,
      wabaId: "waba-1",
      name,
      language: "en_US",
      category: "UTILITY",
      components: [
        { type: "BODY", text: "Hello {{1}}, your order {{2}} is ready.", example: { body_text: [["Ann", "A-1"]] } },
      ],
      status,
    })
    .returning();
  return row!.id;
}

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Gaps Co");
  other = await inboxOrg(t, "Gaps Other Co");
  approved = await template(f, f.ch.id, "order_ready", "APPROVED");
  pending = await template(f, f.ch.id, "order_pending", "PENDING");
  const second = await connectChannel(f.org);
  otherChannelTemplate = await template(f, second.id, "order_ready_2", "APPROVED");
  otherOrgTemplate = await template(other, other.ch.id, "order_ready", "APPROVED");
});
afterAll(async () => {
  await t.close();
});

const url = (path = "") => `${base(f.org.orgId)}${path}`;
const vars = { "1": "Ann", "2": "A-7" };

describe("unread counts (a read marker per member)", () => {
  it("counts the customer's messages since the member opened the thread, per member; marking needs visibility", async () => {
    const c = await customerWrites(f, { text: "one", secondsAgo: 5 });
    await customerWrites(f, { waId: c.waId, text: "two", secondsAgo: 4 });
    const unreadOf = async (who: InboxFixture["manager"]) => {
      const list = await who.client.get(url("?view=all&limit=100"));
      expect(list.statusCode).toBe(200);
      const row = list.json().items.find((i: { id: string }) => i.id === c.conversationId);
      const one = await who.client.get(url(`/${c.conversationId}`));
      expect(one.json().unread).toBe(row.unread);
      return row.unread as number;
    };
    expect(await unreadOf(f.manager)).toBe(2);
    expect(await unreadOf(f.admin)).toBe(2);

    // The manager opens the thread: 0 for them, still 2 for the administrator.
    const read = await f.manager.client.post(url(`/${c.conversationId}/read`), {});
    expect(read.statusCode).toBe(204);
    expect(await unreadOf(f.manager)).toBe(0);
    expect(await unreadOf(f.admin)).toBe(2);
    // Our own replies and notes are never unread; the customer's next message is.
    expect((await f.manager.client.post(url(`/${c.conversationId}/notes`), { text: "looking" })).statusCode).toBe(201);
    // Meta's timestamps are whole seconds: the next message is written in the next second, after the
    // marker (a message in the same second as the marker is the known limit, docs/decisions.md).
    await new Promise((r) => setTimeout(r, 1005 - (Date.now() % 1000)));
    await customerWrites(f, { waId: c.waId, text: "three" });
    expect(await unreadOf(f.manager)).toBe(1);

    // `until`: up to the item shown; the marker never moves back.
    const thread = (await f.admin.client.get(url(`/${c.conversationId}/messages`))).json().items as {
      text: string;
      createdAt: string;
    }[];
    const first = thread.find((m) => m.text === "one")!;
    expect((await f.admin.client.post(url(`/${c.conversationId}/read`), { until: first.createdAt })).statusCode).toBe(
      204,
    );
    expect(await unreadOf(f.admin)).toBe(2);
    await f.manager.client.post(url(`/${c.conversationId}/read`), { until: first.createdAt });
    expect(await unreadOf(f.manager)).toBe(1);

    // Not visible to the caller: 404, as every conversation route.
    for (const who of [f.operator, f.noChats]) {
      const res = await who.client.post(url(`/${c.conversationId}/read`), {});
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe("conversation_not_found");
    }
    // Another organization's conversation: 404 in our path, 404 in theirs.
    const theirs = await customerWrites(other);
    expect((await f.manager.client.post(url(`/${theirs.conversationId}/read`), {})).statusCode).toBe(404);
    expect((await f.manager.client.post(`${base(other.org.orgId)}/${c.conversationId}/read`, {})).statusCode).toBe(404);
    expect((await f.manager.client.post(url(`/${c.conversationId}/read`), { until: "yesterday" })).statusCode).toBe(
      400,
    );
  });

  it("the assignee (an operator) has their own count on the conversations they see", async () => {
    const c = await customerWrites(f, { text: "hi" });
    expect(
      (await f.manager.client.post(url(`/${c.conversationId}/assign`), { memberId: f.operator.memberId })).statusCode,
    ).toBe(200);
    const mine = (await f.operator.client.get(url("?view=mine&limit=100"))).json().items;
    expect(mine.find((i: { id: string }) => i.id === c.conversationId).unread).toBe(1);
    await f.operator.client.post(url(`/${c.conversationId}/read`), {});
    const after = (await f.operator.client.get(url("?view=mine&limit=100"))).json().items;
    expect(after.find((i: { id: string }) => i.id === c.conversationId).unread).toBe(0);
  });
});

describe("template replies", () => {
  it("outside the 24-hour window text is refused and an approved template goes out, once per clientMsgId", async () => {
    const c = await customerWrites(f, { secondsAgo: 25 * 3600 });
    const text = await f.manager.client.post(url(`/${c.conversationId}/messages`), { text: "hello?" });
    expect(text.statusCode).toBe(409);
    expect(text.json().code).toBe("window_closed");

    const body = { clientMsgId: "tpl-reply-1", template: { templateId: approved, variables: vars } };
    const res = await f.manager.client.post(url(`/${c.conversationId}/messages`), body);
    expect(res.statusCode, res.body).toBe(202);
    const m = res.json();
    expect(m).toMatchObject({ kind: "message", direction: "out", type: "template", status: "queued" });
    expect(m.text).toBe("Hello Ann, your order A-7 is ready.");
    const again = await f.manager.client.post(url(`/${c.conversationId}/messages`), body);
    expect(again.statusCode).toBe(202);
    expect(again.json().id).toBe(m.id);
    expect(await sendJobsFor(t, m.id)).toBe(1);
    const [row] = await t.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.orgId, f.org.orgId), eq(messages.id, m.id)));
    expect((row!.payload as { content: unknown }).content).toEqual({
      type: "template",
      name: "order_ready",
      language: "en_US",
      components: [
        {
          type: "body",
          parameters: [
            { type: "text", text: "Ann" },
            { type: "text", text: "A-7" },
          ],
        },
      ],
    });
    // The reply took the unassigned conversation; the list's preview is what the customer reads.
    const conv = (await f.manager.client.get(url(`/${c.conversationId}`))).json();
    expect(conv.assignee.memberId).toBe(f.manager.memberId);
    expect(conv.preview).toBe("Hello Ann, your order A-7 is ready.");
  });

  it("refuses what cannot be sent, each with its code, and sends nothing", async () => {
    const c = await customerWrites(f);
    const post = (b: Record<string, unknown>, who = f.manager) =>
      who.client.post(url(`/${c.conversationId}/messages`), b);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ template: { templateId: approved, variables: { "1": "Ann" } } }, 400, "template_variables_missing"],
      [{ template: { templateId: pending, variables: vars } }, 409, "template_not_approved"],
      [{ template: { templateId: otherChannelTemplate, variables: vars } }, 400, "template_other_channel"],
      [{ template: { templateId: otherOrgTemplate, variables: vars } }, 404, "template_not_found"],
      [
        { template: { templateId: "00000000-0000-4000-8000-000000000000", variables: vars } },
        404,
        "template_not_found",
      ],
      [{ text: "both", template: { templateId: approved, variables: vars } }, 400, "validation_failed"],
      [{}, 400, "validation_failed"],
    ];
    for (const [b, status, code] of cases) {
      const res = await post(b);
      expect(res.statusCode, JSON.stringify(b)).toBe(status);
      if (code !== "validation_failed") expect(res.json().code).toBe(code);
    }
    const thread = (await f.manager.client.get(url(`/${c.conversationId}/messages`))).json().items;
    expect(thread.filter((i: { direction: string }) => i.direction === "out")).toEqual([]);
    // Roles: no chats:reply → 403; an operator's unassigned conversation → 404.
    expect((await post({ template: { templateId: approved, variables: vars } }, f.noChats)).statusCode).toBe(403);
    expect((await post({ template: { templateId: approved, variables: vars } }, f.operator)).statusCode).toBe(404);
  });

  it("lists the approved templates a replying member may send, by channel", async () => {
    const res = await f.operator.client.get(url(`/templates?channelId=${f.ch.id}`));
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((x: { id: string }) => x.id)).toEqual([approved]);
    const all = (await f.operator.client.get(url("/templates"))).json().items.map((x: { id: string }) => x.id);
    expect(all.sort()).toEqual([approved, otherChannelTemplate].sort());
    expect((await f.noChats.client.get(url("/templates"))).statusCode).toBe(403);
    expect((await f.operator.client.get(`${base(other.org.orgId)}/templates`)).statusCode).toBe(404);
  });
});

describe("POST /conversations: start a conversation with a template", () => {
  let phones = Math.floor(Math.random() * 500_000);
  async function newContact(name: string, fx = f): Promise<string> {
    const res = await fx.org.owner.client.post(`/api/v1/orgs/${fx.org.orgId}/contacts`, {
      phone: `+34600${String(++phones).padStart(6, "0")}`,
      name,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id;
  }
  const start = (who: InboxFixture["manager"], b: Record<string, unknown>) => who.client.post(url(), b);

  it("opens a conversation assigned to its starter, records it, and a retry sends nothing twice", async () => {
    const contactId = await newContact("Stan Start");
    const body = {
      contactId,
      channelId: f.ch.id,
      clientMsgId: "start-1",
      template: { templateId: approved, variables: vars },
    };
    const res = await start(f.admin, body);
    expect(res.statusCode, res.body).toBe(202);
    const r = res.json();
    expect(r.conversationCreated).toBe(true);
    expect(r.conversation).toMatchObject({
      contact: { id: contactId, name: "Stan Start" },
      channelId: f.ch.id,
      status: "open",
      assignee: { memberId: f.admin.memberId, name: "Ada Admin" },
      windowClosesAt: null,
      preview: "Hello Ann, your order A-7 is ready.",
    });
    expect(r.message).toMatchObject({ type: "template", status: "queued", clientMsgId: "start-1" });
    const again = await start(f.admin, body);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ conversationCreated: false, message: { id: r.message.id } });
    expect(await sendJobsFor(t, r.message.id)).toBe(1);
    const started = (await activityOf(t, f.org.orgId, "conversation.started")).filter(
      (a) => a.targetId === r.conversation.id,
    );
    expect(started).toHaveLength(1);
    // Without clientMsgId a second start continues the same live conversation.
    const next = await start(f.admin, { ...body, clientMsgId: undefined });
    expect(next.statusCode).toBe(202);
    expect(next.json().conversationCreated).toBe(false);
    expect(next.json().conversation.id).toBe(r.conversation.id);
    // The same clientMsgId for another contact: 409.
    const clash = await start(f.admin, { ...body, contactId: await newContact("Other") });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe("client_msg_id_used");
  });

  it("needs chats:reply and contacts:read (a chat manager has no contacts:read); a starter keeps what they open", async () => {
    const contactId = await newContact("Rights");
    const b = { contactId, channelId: f.ch.id, template: { templateId: approved, variables: vars } };
    // Operator: no contacts:read. Contact Manager: no chats:reply.
    expect((await start(f.operator, b)).statusCode).toBe(403);
    expect((await start(f.noChats, b)).statusCode).toBe(403);
    expect((await start(f.manager, b)).statusCode).toBe(403);
    const role = await insertCustomRole(t.database.db, f.org.orgId, [
      "chats:read_assigned",
      "chats:reply",
      "contacts:read",
    ]);
    const agent = (await memberWith(t, f.org.orgId, [role], { firstName: "Ola", lastName: "Outbound" }))!;
    const res = await start(agent, b);
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().conversation.id;
    expect((await agent.client.get(url(`/${id}`))).statusCode).toBe(200);
    // Someone else's live conversation with a contact: not visible to the agent → 409 without its id.
    const c = await customerWrites(f);
    await f.manager.client.post(url(`/${c.conversationId}/assign`), { memberId: f.operator2.memberId });
    const theirs = await start(agent, { ...b, contactId: c.contactId });
    expect(theirs.statusCode).toBe(409);
    expect(theirs.json().code).toBe("live_conversation_exists");
    expect(theirs.json().conversationId).toBeUndefined();
    // The reader (chats:read_all + reply) sees it but may not reply in another's: 403.
    const readerRole = await insertCustomRole(t.database.db, f.org.orgId, [
      "chats:read_all",
      "chats:reply",
      "contacts:read",
    ]);
    const reader = (await memberWith(t, f.org.orgId, [readerRole]))!;
    const refused = await start(reader, { ...b, contactId: c.contactId });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe("assigned_to_someone_else");
  });

  it("continues an unassigned live conversation and takes it (one conversation.assigned record)", async () => {
    const c = await customerWrites(f);
    const res = await start(f.admin, {
      contactId: c.contactId,
      channelId: f.ch.id,
      template: { templateId: approved, variables: vars },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      conversationCreated: false,
      conversation: { id: c.conversationId, assignee: { memberId: f.admin.memberId } },
    });
    const rec = (await activityOf(t, f.org.orgId, "conversation.assigned")).filter(
      (a) => a.targetId === c.conversationId,
    );
    expect(rec).toHaveLength(1);
  });

  it("another organization's contact, channel or template answers as one that does not exist", async () => {
    const contactId = await newContact("Mine");
    const theirContact = await newContact("Theirs", other);
    const none = "00000000-0000-4000-8000-000000000000";
    const ok = { contactId, channelId: f.ch.id, template: { templateId: approved, variables: vars } };
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...ok, contactId: theirContact }, 404, "contact_not_found"],
      [{ ...ok, contactId: none }, 404, "contact_not_found"],
      [{ ...ok, channelId: other.ch.id }, 404, "channel_not_found"],
      [{ ...ok, channelId: none }, 404, "channel_not_found"],
      [{ ...ok, template: { templateId: otherOrgTemplate, variables: vars } }, 404, "template_not_found"],
      [{ ...ok, template: { templateId: pending, variables: vars } }, 409, "template_not_approved"],
      [{ ...ok, template: { templateId: otherChannelTemplate, variables: vars } }, 400, "template_other_channel"],
    ];
    for (const [b, status, code] of cases) {
      const res = await start(f.admin, b);
      expect(res.statusCode, JSON.stringify(b)).toBe(status);
      expect(res.json().code).toBe(code);
    }
    // Our org's path from a member of the other one: 404.
    expect((await other.manager.client.post(url(), ok)).statusCode).toBe(404);
    // An opted-out contact is never messaged.
    await t.database.db
      .update(contacts)
      .set({ optedOutAt: new Date() })
      .where(and(eq(contacts.orgId, f.org.orgId), eq(contacts.id, contactId)));
    const opted = await start(f.admin, ok);
    expect(opted.statusCode).toBe(409);
    expect(opted.json().code).toBe("contact_opted_out");
  });
});

describe("GET /conversations/assignees: the assign and transfer pickers", () => {
  it("lists members who can read chats (names only) to members who read chats; others nothing / 404", async () => {
    const res = await f.operator.client.get(url("/assignees"));
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { memberId: string; name: string; readsAll: boolean }[];
    const ids = items.map((i) => i.memberId);
    for (const m of [f.admin, f.manager, f.operator, f.operator2, f.reader]) expect(ids).toContain(m.memberId);
    expect(ids).toContain(f.org.ownerMemberId);
    expect(ids).not.toContain(f.noChats.memberId);
    expect(items.find((i) => i.memberId === f.operator.memberId)).toEqual({
      memberId: f.operator.memberId,
      name: "Otto Operator",
      readsAll: false,
    });
    expect(JSON.stringify(items)).not.toMatch(/@/);
    const none = await f.noChats.client.get(url("/assignees"));
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ items: [] });
    expect((await f.operator.client.get(`${base(other.org.orgId)}/assignees`)).statusCode).toBe(404);
  });
});
