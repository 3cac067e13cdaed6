import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, conversations, messages } from "../../src/server/db/schema/index.js";
import { backlogJob } from "../../src/server/modules/conversations/assignment.js";
import { webhookJob } from "../../src/server/modules/whatsapp/ingest.js";
import type { AssignmentSettings } from "../../src/shared/schemas/settings.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { inbound, postWebhook } from "../whatsapp/helpers.js";
import { base, customerNumber, customerWrites, type InboxFixture, inboxOrg, type Member } from "./helpers.js";

// DESIGN §7.4 end to end: the rules set through PATCH /settings, conversations arriving through
// the signed webhook and its job, presence through PUT /me/presence, the backlog through its job.
// On PostgreSQL (TEST_DATABASE_URL) the concurrency case runs two app instances whose webhook
// jobs really overlap.
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function rules(f: InboxFixture, assignment: AssignmentSettings) {
  const res = await f.org.owner.client.patch(`/api/v1/orgs/${f.org.orgId}/settings`, { assignment });
  expect(res.statusCode, res.body).toBe(200);
}
const rr = (defaultCapacity = 10, reassignOnOffline = false): AssignmentSettings => ({
  mode: "round_robin",
  defaultCapacity,
  reassignOnOffline,
});
const presence = (f: InboxFixture, m: Member, status: "online" | "busy" | "offline") =>
  m.client.put(`/api/v1/orgs/${f.org.orgId}/me/presence`, { status });
const online = async (f: InboxFixture, ...who: Member[]) => {
  for (const m of who) expect((await presence(f, m, "online")).statusCode).toBe(200);
};
const byId = (...ms: Member[]) => [...ms].sort((a, b) => (a.memberId < b.memberId ? -1 : 1)).map((m) => m.memberId);
const drainBacklog = () => t.app.ctx.jobs.drain(backlogJob);

async function conv(f: InboxFixture, id: string) {
  const res = await f.org.owner.client.get(`${base(f.org.orgId)}/${id}`);
  expect(res.statusCode).toBe(200);
  return res.json() as { assignee: { memberId: string; name: string } | null; status: string };
}
const assigneeOf = async (f: InboxFixture, id: string) => (await conv(f, id)).assignee?.memberId ?? null;

describe("assignment at arrival (webhooks)", () => {
  it("round robin: new conversations go at once to online chat members in id order; a reopened one too", async () => {
    const f = await inboxOrg(t, "Arrival RR Co");
    await rules(f, rr());
    await online(f, f.operator, f.operator2, f.noChats); // noChats: Contact Manager, never chosen
    const order = byId(f.operator, f.operator2);
    const a = await customerWrites(f);
    const b = await customerWrites(f);
    const c = await customerWrites(f);
    expect([
      await assigneeOf(f, a.conversationId),
      await assigneeOf(f, b.conversationId),
      await assigneeOf(f, c.conversationId),
    ]).toEqual([order[0], order[1], order[0]]);
    // A second message in the same conversation changes nothing.
    await customerWrites(f, { waId: a.waId });
    expect(await assigneeOf(f, a.conversationId)).toBe(order[0]);
    // Resolved, then the customer writes again: a new live conversation, assigned to the next member.
    expect(
      (await f.manager.client.patch(`${base(f.org.orgId)}/${a.conversationId}`, { status: "resolved" })).statusCode,
    ).toBe(200);
    const again = await customerWrites(f, { waId: a.waId });
    expect(again.conversationId).not.toBe(a.conversationId);
    expect(await assigneeOf(f, again.conversationId)).toBe(order[1]);
    // The assignee sees it in "mine"; the thread names the rules.
    const mine = await (order[1] === f.operator.memberId ? f.operator : f.operator2).client.get(
      `${base(f.org.orgId)}?view=mine`,
    );
    expect(mine.json().items.map((i: { id: string }) => i.id)).toContain(again.conversationId);
    const thread = await f.manager.client.get(`${base(f.org.orgId)}/${again.conversationId}/messages`);
    const line = thread.json().items.find((i: { kind: string }) => i.kind === "system");
    expect(line.text).toMatch(/^assigned to .+ by the assignment rules \(round robin\)$/);
    expect(line.event).toMatchObject({ type: "assigned", via: "rules", to: { memberId: order[1] } });
  });

  it("balanced: the member with the fewest open conversations", async () => {
    const f = await inboxOrg(t, "Arrival Balanced Co");
    const pre = await customerWrites(f);
    const r = await f.manager.client.post(`${base(f.org.orgId)}/${pre.conversationId}/assign`, {
      memberId: f.operator.memberId,
    });
    expect(r.statusCode).toBe(200);
    await rules(f, { ...rr(), mode: "balanced" });
    await online(f, f.operator, f.operator2);
    const x = await customerWrites(f);
    expect(await assigneeOf(f, x.conversationId)).toBe(f.operator2.memberId); // 0 < 1
    const y = await customerWrites(f);
    const z = await customerWrites(f);
    // Now 1 : 1 after x; y and z go one to each (ties by member id after the last).
    expect(new Set([await assigneeOf(f, y.conversationId), await assigneeOf(f, z.conversationId)])).toEqual(
      new Set([f.operator.memberId, f.operator2.memberId]),
    );
  });

  it("manual (the default): nothing is assigned; nobody online or everyone full: the conversation waits", async () => {
    const f = await inboxOrg(t, "Arrival Manual Co");
    await online(f, f.operator);
    const a = await customerWrites(f);
    expect(await assigneeOf(f, a.conversationId)).toBeNull();
    await rules(f, rr(1));
    await presence(f, f.operator, "busy");
    const b = await customerWrites(f);
    expect(await assigneeOf(f, b.conversationId)).toBeNull(); // busy is not online
    await online(f, f.operator);
    await drainBacklog(); // coming online hands out the queue: a first (oldest), then Otto is full
    expect(await assigneeOf(f, a.conversationId)).toBe(f.operator.memberId);
    expect(await assigneeOf(f, b.conversationId)).toBeNull();
    const c = await customerWrites(f);
    expect(await assigneeOf(f, c.conversationId)).toBeNull(); // at capacity
  });
});

describe("the backlog", () => {
  it("coming online hands out the queue oldest first up to capacity; resolving frees a place", async () => {
    const f = await inboxOrg(t, "Backlog Co");
    await rules(f, rr(2));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await customerWrites(f)).conversationId);
    expect(await Promise.all(ids.map((id) => assigneeOf(f, id)))).toEqual([null, null, null]);
    const res = await presence(f, f.operator, "online");
    expect(res.json()).toMatchObject({ status: "online", openAssigned: 0, capacity: 2 });
    expect(await drainBacklog()).toBe(1);
    expect(await Promise.all(ids.map((id) => assigneeOf(f, id)))).toEqual([
      f.operator.memberId,
      f.operator.memberId,
      null,
    ]);
    expect((await f.operator.client.get(`/api/v1/orgs/${f.org.orgId}/me/presence`)).json().openAssigned).toBe(2);
    // The operator resolves one: the third goes out by the job the change enqueued.
    const done = await f.operator.client.patch(`${base(f.org.orgId)}/${ids[0]}`, { status: "resolved" });
    expect(done.statusCode).toBe(200);
    expect(await drainBacklog()).toBe(1);
    expect(await assigneeOf(f, ids[2]!)).toBe(f.operator.memberId);
    // A raised capacity hands out more: a fourth waits until the override.
    const d = await customerWrites(f);
    expect(await assigneeOf(f, d.conversationId)).toBeNull();
    const cap = await f.admin.client.put(`/api/v1/orgs/${f.org.orgId}/members/${f.operator.memberId}/capacity`, {
      capacity: 3,
    });
    expect(cap.statusCode).toBe(200);
    expect(await drainBacklog()).toBe(1);
    expect(await assigneeOf(f, d.conversationId)).toBe(f.operator.memberId);
  });

  it("turning the rules on (PATCH /settings) hands out the waiting queue at once; so does a higher default capacity", async () => {
    const f = await inboxOrg(t, "Backlog Switch Co");
    await drainBacklog(); // whatever earlier tests left
    await online(f, f.operator); // manual: coming online enqueues nothing
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await customerWrites(f)).conversationId);
    expect(await Promise.all(ids.map((id) => assigneeOf(f, id)))).toEqual([null, null, null]);
    expect(await drainBacklog()).toBe(0);
    // Still manual (another setting changed): nothing is handed out.
    const tz = await f.org.owner.client.patch(`/api/v1/orgs/${f.org.orgId}/settings`, { timezone: "Europe/Madrid" });
    expect(tz.statusCode).toBe(200);
    expect(await drainBacklog()).toBe(0);
    await rules(f, rr(2));
    expect(await drainBacklog()).toBe(1);
    expect(await Promise.all(ids.map((id) => assigneeOf(f, id)))).toEqual([
      f.operator.memberId,
      f.operator.memberId,
      null,
    ]);
    // The same rules saved again, or a lower capacity: no job. A higher default capacity: the third goes out.
    await rules(f, rr(2));
    await rules(f, rr(1));
    expect(await drainBacklog()).toBe(0);
    expect(await assigneeOf(f, ids[2]!)).toBeNull();
    await rules(f, rr(3));
    expect(await drainBacklog()).toBe(1);
    expect(await assigneeOf(f, ids[2]!)).toBe(f.operator.memberId);
  });

  it("unassigning and transferring enqueue the backlog too", async () => {
    const f = await inboxOrg(t, "Backlog Transfer Co");
    await rules(f, rr(1));
    await online(f, f.operator);
    const a = await customerWrites(f);
    const b = await customerWrites(f);
    expect([await assigneeOf(f, a.conversationId), await assigneeOf(f, b.conversationId)]).toEqual([
      f.operator.memberId,
      null,
    ]);
    const moved = await f.operator.client.post(`${base(f.org.orgId)}/${a.conversationId}/transfer`, {
      memberId: f.manager.memberId,
    });
    expect(moved.statusCode).toBe(200);
    expect(await drainBacklog()).toBe(1);
    expect(await assigneeOf(f, b.conversationId)).toBe(f.operator.memberId);
  });
});

describe("reassignOnOffline", () => {
  it("going offline returns the unanswered conversations (customer wrote last) to the queue; answered ones stay", async () => {
    const f = await inboxOrg(t, "Offline Co");
    await rules(f, rr(10, true));
    await online(f, f.operator);
    const answered = await customerWrites(f);
    const waiting = await customerWrites(f);
    expect(await assigneeOf(f, answered.conversationId)).toBe(f.operator.memberId);
    expect(await assigneeOf(f, waiting.conversationId)).toBe(f.operator.memberId);
    const reply = await f.operator.client.post(`${base(f.org.orgId)}/${answered.conversationId}/messages`, {
      text: "On it",
    });
    expect(reply.statusCode).toBe(202);
    await online(f, f.operator2);
    const off = await presence(f, f.operator, "offline");
    expect(off.statusCode).toBe(200);
    expect(off.json()).toMatchObject({ status: "offline", returnedToQueue: 1, openAssigned: 1 });
    expect(await assigneeOf(f, answered.conversationId)).toBe(f.operator.memberId);
    expect(await assigneeOf(f, waiting.conversationId)).toBeNull();
    const lines = await t.database.db
      .select({ body: messages.body })
      .from(messages)
      .where(and(eq(messages.conversationId, waiting.conversationId), eq(messages.kind, "system")));
    expect(lines.map((l) => l.body)).toContain("returned to the queue: Otto Operator went offline");
    const [rec] = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, f.org.orgId), eq(activity.action, "conversations.returned_to_queue")));
    expect(rec).toMatchObject({ targetId: f.operator.memberId, actorId: f.operator.id });
    expect(rec!.changes).toEqual({ conversations: { before: 1, after: 0 }, reason: { after: "offline" } });
    // Someone else online takes it from the queue.
    expect(await drainBacklog()).toBe(1);
    expect(await assigneeOf(f, waiting.conversationId)).toBe(f.operator2.memberId);
  });

  it("off: going offline keeps every conversation", async () => {
    const f = await inboxOrg(t, "Offline Off Co");
    await rules(f, rr(10, false));
    await online(f, f.operator);
    const a = await customerWrites(f);
    const off = await presence(f, f.operator, "offline");
    expect(off.json().returnedToQueue).toBeUndefined();
    expect(await assigneeOf(f, a.conversationId)).toBe(f.operator.memberId);
  });
});

describe("concurrency: parallel arrivals, two instances", () => {
  it("30 customers at once, 3 members of capacity 8: 24 assigned exactly once, 8 each, 6 queued", async () => {
    const f = await inboxOrg(t, "Race Rules Co");
    await rules(f, rr(8));
    await online(f, f.operator, f.operator2, f.manager);
    const other = await createTestApp({ database: t.database });
    try {
      const waIds = Array.from({ length: 30 }, () => customerNumber());
      const posted = await Promise.all(
        waIds.map((w, i) =>
          postWebhook(
            i % 2 ? other : t,
            f.ch.webhookKey,
            inbound(f.ch.phoneNumberId, w, { type: "text", text: { body: "hi" } }),
          ),
        ),
      );
      expect(posted.map((p) => p.statusCode)).toEqual(waIds.map(() => 200));
      // Both instances apply the webhook jobs at the same time (on PostgreSQL they overlap).
      await Promise.all([t.app.ctx.jobs.drain(webhookJob, 1), other.app.ctx.jobs.drain(webhookJob, 1)]);
    } finally {
      await other.close();
    }
    const rows = await t.database.db
      .select({ id: conversations.id, a: conversations.assigneeMemberId })
      .from(conversations)
      .where(eq(conversations.orgId, f.org.orgId));
    expect(rows).toHaveLength(30);
    const per = new Map<string, number>();
    for (const r of rows) if (r.a) per.set(r.a, (per.get(r.a) ?? 0) + 1);
    expect([...per.values()].sort()).toEqual([8, 8, 8]);
    expect(rows.filter((r) => r.a === null)).toHaveLength(6);
    const recs = await t.database.db.execute(sql`
      select target_id, count(*)::int as n from activity
      where org_id = ${f.org.orgId} and action = 'conversation.assigned' group by target_id`);
    const counted = (Array.isArray(recs) ? recs : (recs as { rows: { n: number }[] }).rows) as { n: number }[];
    expect(counted).toHaveLength(24);
    expect(counted.every((r) => Number(r.n) === 1)).toBe(true);
  });
});
