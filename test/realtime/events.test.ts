import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { events } from "../../src/server/db/schema/index.js";
import { eventHub } from "../../src/server/modules/events/hub.js";
import { pruneEvents } from "../../src/server/modules/events/prune.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith } from "../helpers/orgs.js";
import { base, customerWrites, type InboxFixture, inboxOrg } from "../inbox/helpers.js";
import { listen, SseClient } from "./sse.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;
let url: string;
const open: SseClient[] = [];

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Realtime Co");
  other = await inboxOrg(t, "Other Realtime Co");
  url = await listen(t);
}, 180_000);
afterAll(async () => {
  for (const c of open) c.close();
  await t?.close();
});

async function stream(who: { token: string }, orgId = f.org.orgId, headers: Record<string, string> = {}) {
  const c = await SseClient.open(url, orgId, who.token, headers);
  open.push(c);
  return c;
}
const conv = (path = "") => `${base(f.org.orgId)}${path}`;

describe("GET /orgs/:orgId/events", () => {
  it("streams text/event-stream to any member; 401 without a session, 404 for a non-member", async () => {
    const s = await stream(f.noChats);
    expect(s.status).toBe(200);
    expect(s.contentType).toContain("text/event-stream");
    const anon = await fetch(`${url}/api/v1/orgs/${f.org.orgId}/events`, { headers: { accept: "text/event-stream" } });
    expect(anon.status).toBe(401);
    await anon.text();
    const outsider = await SseClient.open(url, f.org.orgId, other.manager.token);
    expect(outsider.status).toBe(404);
    expect(JSON.parse(outsider.body).code).toBe("org_not_found");
  });

  it("a customer message and a reply reach a chat manager's stream, with ids as SSE ids", async () => {
    const s = await stream(f.manager);
    const c = await customerWrites(f, { name: "Stream Sam" });
    const created = await s.next(
      (e) => e.event === "conversation.created" && e.data.conversationId === c.conversationId,
    );
    expect(created.id).toBe(String(created.data.id));
    expect(created.data).toMatchObject({ kind: "conversation.created", assigneeMemberId: null });
    const inbound = await s.next((e) => e.event === "message.created" && e.data.conversationId === c.conversationId);
    expect(inbound.data).toMatchObject({ direction: "in" });
    expect(Number(inbound.id)).toBeGreaterThan(Number(created.id));
    // Nothing of the message's text travels on the stream (ids and states only).
    expect(JSON.stringify(s.events)).not.toContain("Hello, I need help");

    const reply = await f.manager.client.post(conv(`/${c.conversationId}/messages`), { text: "On it" });
    expect(reply.statusCode).toBe(202);
    const taken = await s.next(
      (e) => e.event === "conversation.assigned" && e.data.conversationId === c.conversationId,
    );
    expect(taken.data.assigneeMemberId).toBe(f.manager.memberId);
    const out = await s.next(
      (e) => e.event === "message.created" && e.data.conversationId === c.conversationId && e.data.direction === "out",
    );
    expect(out.data.messageId).toBe(reply.json().id);
  });

  it("an operator gets nothing of conversations not assigned to them, and everything once assigned", async () => {
    const s = await stream(f.operator);
    const hidden = await customerWrites(f, { name: "Hidden Hal" });
    const theirs = await customerWrites(f, { name: "Theirs Tom" });
    expect(
      (await f.manager.client.post(conv(`/${theirs.conversationId}/assign`), { memberId: f.operator2.memberId }))
        .statusCode,
    ).toBe(200);
    const mine = await customerWrites(f, { name: "Mine Mo" });
    expect(
      (await f.manager.client.post(conv(`/${mine.conversationId}/assign`), { memberId: f.operator.memberId }))
        .statusCode,
    ).toBe(200);
    // The assignment is the first event of that conversation the operator sees…
    const assigned = await s.next(
      (e) => e.event === "conversation.assigned" && e.data.conversationId === mine.conversationId,
    );
    expect(assigned.data.assigneeMemberId).toBe(f.operator.memberId);
    // …and events are delivered in commit order: nothing of the others came before it, or will.
    expect(s.of(hidden.conversationId)).toEqual([]);
    expect(s.of(theirs.conversationId)).toEqual([]);
    // (and their "assigned to you" notification, which names the conversation)
    expect(s.of(mine.conversationId).map((e) => e.event)).toEqual(["conversation.assigned", "notification.created"]);

    // From now on the conversation's messages reach them.
    await customerWrites(f, { waId: mine.waId, text: "Are you there?" });
    await s.next((e) => e.event === "message.created" && e.data.conversationId === mine.conversationId);

    // Reassigned away: the operator hears only that it left them (ids), then nothing more.
    expect(
      (
        await f.manager.client.post(conv(`/${mine.conversationId}/assign`), {
          memberId: f.operator2.memberId,
        })
      ).statusCode,
    ).toBe(200);
    const gone = await s.next(
      (e) =>
        e.event === "conversation.assigned" && e.data.conversationId === mine.conversationId && e.data.removed === true,
    );
    expect(gone.data.assigneeMemberId).toBeUndefined();
    await customerWrites(f, { waId: mine.waId, text: "Hello again" });
    // A sentinel the operator does see, committed after: once it arrives, nothing else of `mine` came.
    const sentinel = await customerWrites(f, { name: "Sentinel Sue" });
    await f.manager.client.post(conv(`/${sentinel.conversationId}/assign`), { memberId: f.operator.memberId });
    await s.next((e) => e.event === "conversation.assigned" && e.data.conversationId === sentinel.conversationId);
    expect(s.of(mine.conversationId).filter((e) => e.event === "message.created")).toHaveLength(1);
    expect(s.of(hidden.conversationId)).toEqual([]);
  });

  it("another organization's events never reach a stream", async () => {
    const s = await stream(other.manager, other.org.orgId);
    const a = await customerWrites(f, { name: "Org A Ann" });
    const b = await customerWrites(other, { name: "Org B Bea" });
    await s.next((e) => e.event === "message.created" && e.data.conversationId === b.conversationId);
    expect(s.of(a.conversationId)).toEqual([]);
    const ids = new Set(
      (await t.database.db.select({ id: events.id }).from(events).where(eq(events.orgId, f.org.orgId))).map((r) =>
        String(r.id),
      ),
    );
    expect(s.events.filter((e) => e.id !== null && ids.has(e.id))).toEqual([]);
  });

  it("Last-Event-ID replays what a reconnect missed, filtered as live", async () => {
    const first = await stream(f.manager);
    const c = await customerWrites(f, { name: "Replay Rae" });
    const seen = await first.next((e) => e.event === "message.created" && e.data.conversationId === c.conversationId);
    first.close();
    // Missed while disconnected: a status change and a note.
    await f.manager.client.patch(conv(`/${c.conversationId}`), { status: "pending" });
    await f.manager.client.post(conv(`/${c.conversationId}/notes`), { text: "internal" });
    const hiddenMeanwhile = await customerWrites(f, { name: "Not For Operators" });

    const again = await stream(f.manager, f.org.orgId, { "last-event-id": seen.id! });
    const updated = await again.next(
      (e) => e.event === "conversation.updated" && e.data.conversationId === c.conversationId,
    );
    const note = await again.next(
      (e) =>
        e.event === "message.created" && e.data.conversationId === c.conversationId && e.data.messageKind === "note",
    );
    expect(Number(updated.id)).toBeGreaterThan(Number(seen.id));
    expect(Number(note.id)).toBeGreaterThan(Number(updated.id));
    expect(again.events.find((e) => e.id === seen.id)).toBeUndefined();

    // The operator's replay from the same point leaves out what they may not see.
    const op = await stream(f.operator, f.org.orgId, { "last-event-id": seen.id! });
    const sentinel = await customerWrites(f, { name: "Sentinel Two" });
    await f.manager.client.post(conv(`/${sentinel.conversationId}/assign`), { memberId: f.operator.memberId });
    await op.next((e) => e.data.conversationId === sentinel.conversationId);
    expect(op.of(c.conversationId)).toEqual([]);
    expect(op.of(hiddenMeanwhile.conversationId)).toEqual([]);
  });

  it("`resync` when the last event id is no longer kept (pruned), unknown or malformed", async () => {
    const c = await customerWrites(f, { name: "Old Olga" });
    const [old] = await t.database.db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.orgId, f.org.orgId), eq(events.conversationId, c.conversationId)));
    // Age it past the retention, then prune.
    await t.database.db.execute(
      sql`update events set created_at = now() - interval '25 hours' where org_id = ${f.org.orgId} and id = ${old!.id}`,
    );
    expect(await pruneEvents(t.database.db)).toBeGreaterThanOrEqual(1);
    for (const last of [String(old!.id), "999999999999", "abc"]) {
      const s = await stream(f.manager, f.org.orgId, { "last-event-id": last });
      const r = await s.next((e) => e.event === "resync");
      expect(r.data).toMatchObject({ reason: "gone" });
      // It carries the newest id, so the next reconnect replays from there.
      expect(Number(r.id)).toBeGreaterThan(0);
      s.close();
    }
  });

  it("a removed member's stream closes; so does one whose chat permissions are taken away", async () => {
    const gone = await memberWith(t, f.org.orgId, ["operator"], { firstName: "Gus", lastName: "Gone" });
    const demoted = await memberWith(t, f.org.orgId, ["operator"], { firstName: "Dee", lastName: "Demoted" });
    await t.settle();
    const s1 = await stream(gone);
    const s2 = await stream(demoted);
    const hub = eventHub(t.app.ctx);
    const before = hub.streamCount;

    const del = await f.org.owner.client.delete(`/api/v1/orgs/${f.org.orgId}/members/${gone.memberId}`);
    expect(del.statusCode).toBe(204);
    await s1.closedByServer();

    const patch = await f.org.owner.client.patch(`/api/v1/orgs/${f.org.orgId}/members/${demoted.memberId}`, {
      roleIds: ["contact_manager"],
    });
    expect(patch.statusCode).toBe(200);
    await s2.closedByServer();
    expect(hub.streamCount).toBe(before - 2);

    // Reconnecting after the removal: 404, nothing streamed.
    const again = await SseClient.open(url, f.org.orgId, gone.token);
    expect(again.status).toBe(404);
  });

  it("heartbeats are comment lines; the stream opens with one", async () => {
    const s = await stream(f.admin);
    expect(s.comments[0]).toBe("connected");
  });
});
