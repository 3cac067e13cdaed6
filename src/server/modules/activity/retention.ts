import { sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { organizations } from "../../db/schema/index.js";
import { defineJob } from "../../jobs/define.js";

export const RETENTION_BATCH = 5_000;

/**
 * Deletes the activity records older than each organization's `activity_retention_days`,
 * in statements of at most `batchSize` rows (short transactions, no long locks), one
 * organization at a time through `activity_org_at_idx`. Safe to run on several
 * instances at once: a row deleted by one is simply not found by the other.
 * Returns the number of records deleted.
 */
export async function runRetention(
  db: DbOrTx,
  opts: { batchSize?: number; now?: Date; orgId?: string } = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? RETENTION_BATCH;
  const now = opts.now ?? new Date();
  const orgs = await db
    .select({ id: organizations.id, days: organizations.activityRetentionDays })
    .from(organizations)
    .where(opts.orgId ? sql`${organizations.id} = ${opts.orgId}` : undefined);
  let total = 0;
  for (const org of orgs) {
    if (!(org.days > 0)) continue; // 0 or less would mean "delete everything": treat as "keep"
    const cutoff = new Date(now.getTime() - org.days * 86_400_000);
    for (;;) {
      const res = await db.execute(sql`
        delete from activity where org_id = ${org.id} and id in (
          select id from activity where org_id = ${org.id} and at < ${cutoff.toISOString()}::timestamptz
          limit ${batchSize})`);
      const deleted = affected(res);
      total += deleted;
      if (deleted < batchSize) break;
    }
  }
  return total;
}

function affected(res: unknown): number {
  const r = res as { rowCount?: number | null; affectedRows?: number };
  return r.rowCount ?? r.affectedRows ?? 0;
}

/**
 * Hourly, at minute 17, on whichever instance claims it: pg-boss enqueues one job per slot
 * across all instances, and the singleton policy keeps a second run from starting while one
 * is still deleting.
 */
export const retentionJob = defineJob<Record<string, never>>({
  name: "activity.retention",
  cron: "17 * * * *",
  queue: { policy: "singleton", retryLimit: 2, retryDelay: 300, expireInSeconds: 3_600 },
});

export function registerRetentionJob(ctx: Pick<AppContext, "db" | "log" | "jobs">): void {
  ctx.jobs.register(retentionJob, async () => {
    const deleted = await runRetention(ctx.db);
    if (deleted > 0) ctx.log.info({ deleted }, "activity retention: deleted expired records");
  });
}
