import { and, count, eq, lt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, organizations } from "../../src/server/db/schema/index.js";
import { retentionJob, runRetention } from "../../src/server/modules/activity/retention.js";
import { createOrg, createUser, daysAgo, insertActivity, insertManyActivity } from "../helpers/activity.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function countOf(orgId: string) {
  const [row] = await t.database.db.select({ n: count() }).from(activity).where(eq(activity.orgId, orgId));
  return row!.n;
}

describe("activity retention", () => {
  it("deletes records older than each organization's retention, in batches, and nothing else", async () => {
    const db = t.database.db;
    const owner = await createUser(db);
    const { orgId: year } = await createOrg(db, owner, { name: "Default 365" });
    const { orgId: month } = await createOrg(db, owner, { name: "30 days", activityRetentionDays: 30 });
    const now = new Date();
    for (const orgId of [year, month]) {
      await insertActivity(db, orgId, [
        { at: daysAgo(1), action: "member.invited" },
        { at: daysAgo(29), action: "member.invited" },
        { at: daysAgo(31), action: "member.removed" },
        { at: daysAgo(364), action: "role.created" },
        { at: daysAgo(366), action: "role.deleted" },
        { at: daysAgo(1000), action: "role.deleted" },
      ]);
    }
    // 25 old records more in the 30-day organization, deleted 10 per statement.
    await insertManyActivity(db, month, 25, daysAgo(40));

    const deleted = await runRetention(db, { batchSize: 10, now });
    expect(deleted).toBe(2 + 4 + 25);
    const left = async (orgId: string) =>
      (await db.select({ action: activity.action, at: activity.at }).from(activity).where(eq(activity.orgId, orgId)))
        .map((r) => r.action)
        .sort();
    expect(await left(year)).toEqual(["member.invited", "member.invited", "member.removed", "role.created"]);
    expect(await left(month)).toEqual(["member.invited", "member.invited"]);
    // Idempotent: a second run finds nothing.
    expect(await runRetention(db, { batchSize: 10, now })).toBe(0);
  });

  it("reads the retention column at each run", async () => {
    const db = t.database.db;
    const owner = await createUser(db);
    const { orgId } = await createOrg(db, owner, { name: "Changes its mind" });
    await insertActivity(db, orgId, [
      { at: daysAgo(10), action: "a.b" },
      { at: daysAgo(2), action: "a.c" },
    ]);
    expect(await runRetention(db, { orgId })).toBe(0);
    await db.update(organizations).set({ activityRetentionDays: 5 }).where(eq(organizations.id, orgId));
    expect(await runRetention(db, { orgId })).toBe(1);
    expect(await countOf(orgId)).toBe(1);
    const [old] = await db
      .select({ n: count() })
      .from(activity)
      .where(and(eq(activity.orgId, orgId), lt(activity.at, daysAgo(5))));
    expect(old!.n).toBe(0);
  });

  it("runs as the activity.retention job of the job queue", async () => {
    const db = t.database.db;
    const owner = await createUser(db);
    const { orgId } = await createOrg(db, owner, { name: "Job", activityRetentionDays: 1 });
    await insertActivity(db, orgId, [
      { at: daysAgo(3), action: "a.old" },
      { at: new Date(), action: "a.new" },
    ]);
    await t.app.ctx.jobs.enqueue(db, retentionJob, {});
    expect(await t.app.ctx.jobs.drain(retentionJob)).toBe(1);
    expect(await countOf(orgId)).toBe(1);
  });

  it("is scheduled hourly (UTC) by an instance that runs workers, once for all instances", async () => {
    const a = await createTestApp({ database: t.database, workers: true });
    const b = await createTestApp({ database: t.database, workers: true });
    try {
      const res = await db().execute(
        sql`select name, cron, timezone from pgboss.schedule where name = 'activity.retention'`,
      );
      expect((res as unknown as { rows: unknown[] }).rows).toEqual([
        { name: "activity.retention", cron: "17 * * * *", timezone: "UTC" },
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

function db() {
  return t.database.db;
}
