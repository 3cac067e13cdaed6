import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, conversations } from "../../src/server/db/schema/index.js";
import { JOBS_SCHEMA } from "../../src/server/jobs/queue.js";
import { backlogJob } from "../../src/server/modules/conversations/assignment.js";
import { eventHub } from "../../src/server/modules/events/hub.js";
import { autoOfflineJob, sweepStaleStreamsJob } from "../../src/server/modules/presence/auto-offline.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { customerWrites, type InboxFixture, inboxOrg, type Member } from "../inbox/helpers.js";
import { listen, SseClient } from "./sse.js";

// Automatic offline (issue 15): an online or busy member whose last event stream closed goes
// offline once PRESENCE_OFFLINE_GRACE passes with no stream open again and no status change.
const GRACE_MS = 600;
const ENV = { PRESENCE_OFFLINE_GRACE: `${GRACE_MS}ms` };

let t: TestApp;
let url: string;
const open: SseClient[] = [];

beforeAll(async () => {
  t = await createTestApp({ env: ENV });
  url = await listen(t);
}, 180_000);
afterAll(async () => {
  for (const c of open) c.close();
  await t?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function stream(app: TestApp, baseUrl: string, f: InboxFixture, m: Member): Promise<SseClient> {
  const c = await SseClient.open(baseUrl, f.org.orgId, m.token);
  expect(c.status).toBe(200);
  open.push(c);
  // The hub has it (and the open's write is under way).
  await until(() => eventHub(app.app.ctx).hasMemberStream(f.org.orgId, m.memberId), "the stream to subscribe");
  return c;
}

/** Closes the client's stream and waits until the server saw it go. */
async function closeStream(app: TestApp, f: InboxFixture, m: Member, c: SseClient, stillOpen = 0): Promise<void> {
  const hub = eventHub(app.app.ctx);
  const before = hub.streamCount;
  c.close();
  await until(() => hub.streamCount < before, "the server to see the stream close");
  if (stillOpen === 0) await until(() => !hub.hasMemberStream(f.org.orgId, m.memberId), "the member's last stream");
}

/** `presence.auto_offline` jobs of the member (any state). */
async function offlineJobs(m: Member): Promise<number> {
  const res = await t.database.db.execute(
    sql`select count(*)::int as n from ${sql.identifier(JOBS_SCHEMA)}.job where name = 'presence.auto_offline' and data->>'memberId' = ${m.memberId}`,
  );
  const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { n: number }[];
  return Number(rows[0]?.n ?? 0);
}

/** One run of the every-minute sweep, now: whether it set anyone offline (1) or not (0). */
async function sweep(): Promise<number> {
  await t.app.ctx.jobs.enqueue(t.database.db, sweepStaleStreamsJob, {});
  return t.app.ctx.jobs.drain(sweepStaleStreamsJob);
}

const presenceOf = async (f: InboxFixture, m: Member) =>
  (await m.client.get(`/api/v1/orgs/${f.org.orgId}/me/presence`)).json() as { status: string; openAssigned: number };
const setPresence = async (f: InboxFixture, m: Member, status: "online" | "busy" | "offline") => {
  const res = await m.client.put(`/api/v1/orgs/${f.org.orgId}/me/presence`, { status });
  expect(res.statusCode).toBe(200);
};

describe("automatic offline after the last event stream closes", () => {
  it("online, the only stream closes: offline after the grace, with reassignOnOffline's consequences", async () => {
    const f = await inboxOrg(t, "Auto Offline Co");
    const rules = await f.org.owner.client.patch(`/api/v1/orgs/${f.org.orgId}/settings`, {
      assignment: { mode: "round_robin", defaultCapacity: 10, reassignOnOffline: true },
    });
    expect(rules.statusCode).toBe(200);
    await setPresence(f, f.operator, "online");
    const waiting = await customerWrites(f); // assigned to the operator at once, unanswered
    expect((await presenceOf(f, f.operator)).openAssigned).toBe(1);

    const s = await stream(t, url, f, f.operator);
    await closeStream(t, f, f.operator, s);
    await until(async () => (await offlineJobs(f.operator)) === 1, "the delayed job");
    // Due after the grace, not before.
    const res = await t.database.db.execute(
      sql`select extract(epoch from start_after - created_on)::float8 as delay from ${sql.identifier(JOBS_SCHEMA)}.job where name = 'presence.auto_offline' and data->>'memberId' = ${f.operator.memberId}`,
    );
    const delay = Number(
      ((Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { delay: number }[])[0]?.delay,
    );
    expect(delay).toBeGreaterThan((GRACE_MS - 100) / 1000);
    expect(delay).toBeLessThan((GRACE_MS + 2_000) / 1000);
    await sleep(GRACE_MS + 100);
    expect(await t.app.ctx.jobs.drain(autoOfflineJob)).toBe(1);
    expect(await presenceOf(f, f.operator)).toMatchObject({ status: "offline", openAssigned: 0 });
    // The same consequences as PUT /me/presence offline: the unanswered conversation is back in the
    // queue, recorded with the system as actor.
    const [row] = await t.database.db
      .select({ a: conversations.assigneeMemberId })
      .from(conversations)
      .where(eq(conversations.id, waiting.conversationId));
    expect(row?.a).toBeNull();
    const [rec] = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, f.org.orgId), eq(activity.action, "conversations.returned_to_queue")));
    expect(rec).toMatchObject({ targetId: f.operator.memberId, actorType: "system", actorName: "Automatic offline" });
    // Each change of availability is on record: the member's own, then the automatic one.
    const changes = await t.database.db
      .select({ actorType: activity.actorType, actorName: activity.actorName, changes: activity.changes })
      .from(activity)
      .where(
        and(
          eq(activity.orgId, f.org.orgId),
          eq(activity.action, "member.presence_changed"),
          eq(activity.targetId, f.operator.memberId),
        ),
      )
      .orderBy(activity.id);
    expect(changes).toEqual([
      { actorType: "user", actorName: expect.any(String), changes: { status: { before: "offline", after: "online" } } },
      {
        actorType: "system",
        actorName: "Automatic offline",
        changes: { status: { before: "online", after: "offline" } },
      },
    ]);
    // …and someone online takes it from the queue.
    await setPresence(f, f.operator2, "online");
    await t.app.ctx.jobs.drain(backlogJob);
    const [taken] = await t.database.db
      .select({ a: conversations.assigneeMemberId })
      .from(conversations)
      .where(eq(conversations.id, waiting.conversationId));
    expect(taken?.a).toBe(f.operator2.memberId);
  });

  it("a stream reopened within the grace keeps the member online; closing that one later sets offline", async () => {
    const f = await inboxOrg(t, "Auto Offline Reopen Co");
    await setPresence(f, f.operator, "busy");
    const first = await stream(t, url, f, f.operator);
    await closeStream(t, f, f.operator, first);
    await until(async () => (await offlineJobs(f.operator)) === 1, "the delayed job");
    const second = await stream(t, url, f, f.operator); // a reload: a new stream within the grace
    await sleep(GRACE_MS + 100);
    expect(await t.app.ctx.jobs.drain(autoOfflineJob)).toBe(0);
    expect((await presenceOf(f, f.operator)).status).toBe("busy");

    await closeStream(t, f, f.operator, second);
    await until(async () => (await offlineJobs(f.operator)) === 2, "the second delayed job");
    await sleep(GRACE_MS + 100);
    expect(await t.app.ctx.jobs.drain(autoOfflineJob)).toBe(1);
    expect((await presenceOf(f, f.operator)).status).toBe("offline");
  });

  it("two streams: closing one changes nothing; a status set after the close wins; offline members get no job", async () => {
    const f = await inboxOrg(t, "Auto Offline Two Co");
    await setPresence(f, f.operator, "online");
    const a = await stream(t, url, f, f.operator);
    const b = await stream(t, url, f, f.operator);
    await closeStream(t, f, f.operator, a, 1);
    await sleep(GRACE_MS + 100);
    expect(await t.app.ctx.jobs.drain(autoOfflineJob)).toBe(0);
    expect(await offlineJobs(f.operator)).toBe(0); // the instance still has one: no job at all
    expect((await presenceOf(f, f.operator)).status).toBe("online");

    // The last closes, then the member sets busy themselves: their choice stands.
    await closeStream(t, f, f.operator, b);
    await until(async () => (await offlineJobs(f.operator)) === 1, "the delayed job");
    await sleep(5); // status_changed_at strictly after the close
    await setPresence(f, f.operator, "busy");
    await sleep(GRACE_MS + 100);
    expect(await t.app.ctx.jobs.drain(autoOfflineJob)).toBe(0);
    expect((await presenceOf(f, f.operator)).status).toBe("busy");

    // Offline already: a stream opening and closing enqueues nothing.
    await setPresence(f, f.operator2, "offline");
    const c = await stream(t, url, f, f.operator2);
    await closeStream(t, f, f.operator2, c);
    await sleep(200);
    expect(await offlineJobs(f.operator2)).toBe(0);
  });

  it("two instances: a stream still open on the other instance keeps the member online", async () => {
    const f = await inboxOrg(t, "Auto Offline Instances Co");
    const other = await createTestApp({ database: t.database, env: ENV });
    try {
      const otherUrl = await listen(other);
      await setPresence(f, f.operator, "online");
      const here = await stream(t, url, f, f.operator);
      const there = await stream(other, otherUrl, f, f.operator);
      // The other instance's last (only) stream of the member closes: it enqueues the job…
      await closeStream(other, f, f.operator, there);
      await until(async () => (await offlineJobs(f.operator)) === 1, "the delayed job");
      await sleep(GRACE_MS + 100);
      // …which the other instance runs (no stream there), but this instance refreshed stream_seen_at meanwhile.
      expect(await other.app.ctx.jobs.drain(autoOfflineJob)).toBe(0);
      expect((await presenceOf(f, f.operator)).status).toBe("online");
      // The last stream anywhere closes: offline, whichever instance runs the job.
      await closeStream(t, f, f.operator, here);
      await until(async () => (await offlineJobs(f.operator)) === 2, "the second delayed job");
      await sleep(GRACE_MS + 100);
      expect(await other.app.ctx.jobs.drain(autoOfflineJob)).toBe(1);
      expect((await presenceOf(f, f.operator)).status).toBe("offline");
    } finally {
      await other.close();
    }
  });

  it("an instance that stops without closing its streams: the sweep sets its members offline after the grace", async () => {
    const f = await inboxOrg(t, "Auto Offline Crash Co");
    const gone = await createTestApp({ database: t.database, env: ENV });
    await setPresence(f, f.operator, "online");
    await setPresence(f, f.operator2, "online");
    // operator streams on the instance that goes away; operator2 streams here, and stays.
    await stream(gone, await listen(gone), f, f.operator);
    const here = await stream(t, url, f, f.operator2);
    // Stopping closes the streams without the close hook (as a crash would): no job is enqueued.
    await gone.close();
    expect(await offlineJobs(f.operator)).toBe(0);
    // Within the grace the sweep leaves both alone (it sweeps every organization: what it counts
    // may include members of the other tests, so each member's status is what is checked).
    await sweep();
    expect((await presenceOf(f, f.operator)).status).toBe("online");
    await sleep(GRACE_MS + 300);
    // operator2's stream here is refreshed (a third of the grace); operator's is stale: offline.
    expect(await sweep()).toBe(1);
    expect((await presenceOf(f, f.operator)).status).toBe("offline");
    expect((await presenceOf(f, f.operator2)).status).toBe("online");
    here.close();
  });

  it("the sweep leaves a member whose status changed after their last stream (busy through the API, no tab open)", async () => {
    const f = await inboxOrg(t, "Auto Offline Api Co");
    await setPresence(f, f.operator, "online");
    const c = await stream(t, url, f, f.operator);
    await closeStream(t, f, f.operator, c);
    // Busy through the API after the tab closed: a status chosen after the last stream stands.
    await setPresence(f, f.operator, "busy");
    await sleep(GRACE_MS + 300);
    await t.app.ctx.jobs.drain(autoOfflineJob);
    await sweep();
    expect((await presenceOf(f, f.operator)).status).toBe("busy");
  });
});
