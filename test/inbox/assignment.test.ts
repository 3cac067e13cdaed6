import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, conversations, messages } from "../../src/server/db/schema/index.js";
import { backlogJob, handOutBacklog, pickMember } from "../../src/server/modules/conversations/assignment.js";
import type { AssignmentSettings } from "../../src/shared/schemas/settings.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith } from "../helpers/orgs.js";
import { base, customerWrites, type InboxFixture, inboxOrg, type Member } from "./helpers.js";

// DESIGN §7.4 assignment rules and §7.1 presence. Rules are given explicitly to handOutBacklog
// here; test/inbox/assignment-rules.test.ts drives them through PATCH /settings and webhooks.
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

const rr = (defaultCapacity = 10, reassignOnOffline = false): AssignmentSettings => ({
  mode: "round_robin",
  defaultCapacity,
  reassignOnOffline,
});
const presence = (f: InboxFixture) => `/api/v1/orgs/${f.org.orgId}/me/presence`;
const goOnline = async (f: InboxFixture, ...who: Member[]) => {
  for (const m of who) expect((await m.client.put(presence(f), { status: "online" })).statusCode).toBe(200);
};
const byId = (...ms: Member[]) => [...ms].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));

async function assigneesOf(orgId: string, ids: string[]): Promise<(string | null)[]> {
  const rows = await t.database.db
    .select({ id: conversations.id, a: conversations.assigneeMemberId })
    .from(conversations)
    .where(eq(conversations.orgId, orgId));
  const m = new Map(rows.map((r) => [r.id, r.a]));
  return ids.map((id) => m.get(id) ?? null);
}

async function arrivals(f: InboxFixture, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await customerWrites(f)).conversationId);
  return out;
}

describe("presence: GET / PUT /me/presence", () => {
  it("starts offline; any member sets online, busy, offline; bad input 400; not a member 404", async () => {
    const f = await inboxOrg(t, "Presence Co");
    const before = await f.noChats.client.get(presence(f));
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual({
      memberId: f.noChats.memberId,
      status: "offline",
      statusChangedAt: null,
      capacity: 10,
      capacityOverride: null,
      openAssigned: 0,
    });
    for (const status of ["online", "busy", "offline"] as const) {
      const res = await f.operator.client.put(presence(f), { status });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ memberId: f.operator.memberId, status });
      expect(typeof res.json().statusChangedAt).toBe("string");
      expect((await f.operator.client.get(presence(f))).json().status).toBe(status);
    }
    const bad = await f.operator.client.put(presence(f), { status: "away" });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers["content-type"]).toContain("application/problem+json");
    const other = await inboxOrg(t, "Elsewhere Co");
    expect((await other.operator.client.put(presence(f), { status: "online" })).statusCode).toBe(404);
  });

  it("capacity override: members:update only, another org's member 404, activity recorded, null resets", async () => {
    const f = await inboxOrg(t, "Capacity Co");
    const url = (m: string, orgId = f.org.orgId) => `/api/v1/orgs/${orgId}/members/${m}/capacity`;
    expect((await f.operator.client.put(url(f.operator2.memberId), { capacity: 3 })).statusCode).toBe(403);
    const set = await f.admin.client.put(url(f.operator.memberId), { capacity: 3 });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({
      memberId: f.operator.memberId,
      capacity: 3,
      capacityOverride: 3,
      status: "offline",
    });
    expect((await f.operator.client.get(presence(f))).json()).toMatchObject({ capacity: 3, capacityOverride: 3 });
    expect((await f.admin.client.put(url(f.operator.memberId), { capacity: 0 })).statusCode).toBe(400);
    const other = await inboxOrg(t, "Other Capacity Co");
    const foreign = await f.admin.client.put(url(other.operator.memberId), { capacity: 3 });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().code).toBe("member_not_found");
    const reset = await f.admin.client.put(url(f.operator.memberId), { capacity: null });
    expect(reset.json()).toMatchObject({ capacity: 10, capacityOverride: null });
    const records = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, f.org.orgId), eq(activity.action, "member.capacity_changed")))
      .orderBy(activity.id);
    expect(records.map((r) => r.changes)).toEqual([
      { capacity: { before: null, after: 3 } },
      { capacity: { before: 3, after: null } },
    ]);
    expect(records.every((r) => r.targetId === f.operator.memberId && r.actorId === f.admin.id)).toBe(true);
  });
});

describe("pickMember (the choice alone)", () => {
  const c = (memberId: string, load: number, capacity = 5, teams: string[] = []) => ({
    memberId,
    name: memberId,
    load,
    capacity,
    teamIds: new Set(teams),
  });
  it("round robin: next after the last, wrapping; skips full and other-team members", () => {
    const cs = [c("a", 0), c("b", 5), c("c", 1), c("d", 0, 5, ["t1"])];
    expect(pickMember(cs, null, "round_robin", null)?.memberId).toBe("a");
    expect(pickMember(cs, null, "round_robin", "a")?.memberId).toBe("c"); // b is full
    expect(pickMember(cs, null, "round_robin", "d")?.memberId).toBe("a");
    expect(pickMember(cs, "t1", "round_robin", "a")?.memberId).toBe("d");
    expect(pickMember(cs, "t2", "round_robin", null)).toBeNull();
  });
  it("balanced: fewest open, ties in round-robin order after the last", () => {
    const cs = [c("a", 2), c("b", 1), c("c", 1), c("d", 3)];
    expect(pickMember(cs, null, "balanced", null)?.memberId).toBe("b");
    expect(pickMember(cs, null, "balanced", "b")?.memberId).toBe("c");
    expect(pickMember(cs, null, "balanced", "c")?.memberId).toBe("b");
  });
});

describe("the backlog handed out by the rules (explicit settings)", () => {
  it("round robin oldest first in member-id order, only online members with a chat permission", async () => {
    const f = await inboxOrg(t, "Robin Co");
    const ids = await arrivals(f, 7);
    // noChats (Contact Manager) is online too but holds no chat permission: never chosen.
    await goOnline(f, f.operator, f.operator2, f.manager, f.noChats);
    expect(await assigneesOf(f.org.orgId, ids)).toEqual(ids.map(() => null)); // manual mode: nothing yet
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr())).toBe(7);
    const order = byId(f.operator, f.operator2, f.manager).map((m) => m.memberId);
    expect(await assigneesOf(f.org.orgId, ids)).toEqual(ids.map((_, i) => order[i % 3]));
    // The thread line and the activity record name the rules.
    const lines = await t.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationId, ids[0]!), eq(messages.kind, "system")));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.body).toMatch(/^assigned to .+ by the assignment rules \(round robin\)$/);
    expect(lines[0]!.payload).toMatchObject({ event: { type: "assigned", via: "rules", to: { memberId: order[0] } } });
    const recs = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, f.org.orgId), eq(activity.action, "conversation.assigned")));
    expect(recs).toHaveLength(7);
    expect(recs.every((r) => r.actorType === "system" && r.actorName === "Assignment rules")).toBe(true);
    // Visible to the assignee through the API like any assignment.
    const mine = await f.operator.client.get(`${base(f.org.orgId)}?view=mine&limit=50`);
    expect(mine.json().items.length).toBe(ids.filter((_, i) => order[i % 3] === f.operator.memberId).length);
    // Nothing left: a second run assigns nothing.
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr())).toBe(0);
  });

  it("capacity: never more than capacity (override or default); the rest stays queued oldest first", async () => {
    const f = await inboxOrg(t, "Capacity Rules Co");
    const ids = await arrivals(f, 6);
    await goOnline(f, f.operator, f.operator2);
    await f.admin.client.put(`/api/v1/orgs/${f.org.orgId}/members/${f.operator.memberId}/capacity`, { capacity: 1 });
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr(2))).toBe(3);
    const got = await assigneesOf(f.org.orgId, ids);
    expect(got.slice(3)).toEqual([null, null, null]); // the newest wait
    expect(got.filter((a) => a === f.operator.memberId)).toHaveLength(1);
    expect(got.filter((a) => a === f.operator2.memberId)).toHaveLength(2);
    // Resolving one frees capacity: the next oldest goes out.
    const oneOfOtto = ids[got.indexOf(f.operator.memberId)]!;
    const res = await f.manager.client.patch(`${base(f.org.orgId)}/${oneOfOtto}`, { status: "resolved" });
    expect(res.statusCode).toBe(200);
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr(2))).toBe(1);
    expect((await assigneesOf(f.org.orgId, ids))[3]).toBe(f.operator.memberId);
  });

  it("balanced: fewest open first; ties by member id", async () => {
    const f = await inboxOrg(t, "Balanced Co");
    const pre = await arrivals(f, 2);
    // Otto already holds two (manual), Pia none.
    for (const id of pre) {
      const r = await f.manager.client.post(`${base(f.org.orgId)}/${id}/assign`, { memberId: f.operator.memberId });
      expect(r.statusCode).toBe(200);
    }
    const ids = await arrivals(f, 4);
    await goOnline(f, f.operator, f.operator2);
    expect(await handOutBacklog(t.database.db, f.org.orgId, { ...rr(), mode: "balanced" })).toBe(4);
    const got = await assigneesOf(f.org.orgId, ids);
    // Pia 0 → 1 → 2 (tie with Otto at 2) → then alternating in id order from after Pia.
    expect(got.slice(0, 2)).toEqual([f.operator2.memberId, f.operator2.memberId]);
    expect(new Set(got.slice(2))).toEqual(new Set([f.operator.memberId, f.operator2.memberId]));
    const counts = [f.operator, f.operator2].map(
      (m) => [...pre.map(() => f.operator.memberId), ...got].filter((a) => a === m.memberId).length,
    );
    expect(counts).toEqual([3, 3]);
  });

  it("team: a conversation with a team goes only to that team's members", async () => {
    const f = await inboxOrg(t, "Team Rules Co");
    const team = await f.admin.client.post(`/api/v1/orgs/${f.org.orgId}/teams`, {
      name: "Billing",
      memberIds: [f.operator2.memberId],
    });
    expect(team.statusCode).toBe(201);
    const ids = await arrivals(f, 3);
    for (const id of ids) {
      const r = await f.manager.client.post(`${base(f.org.orgId)}/${id}/assign`, {
        memberId: null,
        teamId: team.json().id,
      });
      expect(r.statusCode).toBe(200);
    }
    await goOnline(f, f.operator);
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr())).toBe(0); // Otto is not in Billing
    await goOnline(f, f.operator2);
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr())).toBe(3);
    expect(await assigneesOf(f.org.orgId, ids)).toEqual(ids.map(() => f.operator2.memberId));
  });

  it("busy, offline, removed members and members without chat permission are never chosen", async () => {
    const f = await inboxOrg(t, "Eligibility Co");
    const ids = await arrivals(f, 4);
    const leaver = await memberWith(t, f.org.orgId, ["operator"], { firstName: "Lee", lastName: "Leaver" });
    await goOnline(f, f.operator, leaver, f.noChats);
    expect((await f.operator2.client.put(presence(f), { status: "busy" })).statusCode).toBe(200);
    const removed = await f.org.owner.client.delete(`/api/v1/orgs/${f.org.orgId}/members/${leaver.memberId}`);
    expect(removed.statusCode).toBe(204);
    expect(await handOutBacklog(t.database.db, f.org.orgId, rr())).toBe(4);
    expect(await assigneesOf(f.org.orgId, ids)).toEqual(ids.map(() => f.operator.memberId));
  });

  it("manual mode hands out nothing", async () => {
    const f = await inboxOrg(t, "Manual Co");
    const ids = await arrivals(f, 2);
    await goOnline(f, f.operator);
    expect(await handOutBacklog(t.database.db, f.org.orgId, { ...rr(), mode: "manual" })).toBe(0);
    expect(await assigneesOf(f.org.orgId, ids)).toEqual([null, null]);
  });

  it("coming online and freeing capacity enqueue no job while the rules are off (manual default)", async () => {
    const f = await inboxOrg(t, "Quiet Co");
    await goOnline(f, f.operator);
    const res = await t.database.db.execute(
      sql`select count(*)::int as n from pgboss.job where name = ${backlogJob.name} and data->>'orgId' = ${f.org.orgId}`,
    );
    const rows = (Array.isArray(res) ? res : (res as { rows: { n: number }[] }).rows) as { n: number }[];
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
