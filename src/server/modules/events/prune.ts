import { sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { defineJob } from "../../jobs/define.js";

/** How long events are kept for reconnecting streams; an older `Last-Event-ID` gets a `resync`. */
export const EVENTS_RETENTION_MS = 24 * 60 * 60 * 1000;
const BATCH = 5_000;

/**
 * Deletes events older than the retention, organization by organization through
 * `events_org_created_idx`, in statements of at most 5,000 rows. Safe on several instances at once.
 */
export async function pruneEvents(db: DbOrTx, now = new Date(), retentionMs = EVENTS_RETENTION_MS): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionMs).toISOString();
  const orgs = (await db.execute(sql`select distinct org_id from events`)) as unknown;
  const ids = (Array.isArray(orgs) ? orgs : (orgs as { rows: { org_id: string }[] }).rows) as { org_id: string }[];
  let total = 0;
  for (const { org_id: orgId } of ids) {
    for (;;) {
      const res = (await db.execute(sql`
        delete from events where org_id = ${orgId} and id in (
          select id from events where org_id = ${orgId} and created_at < ${cutoff}::timestamptz limit ${BATCH})`)) as {
        rowCount?: number | null;
        affectedRows?: number;
      };
      const n = res.rowCount ?? res.affectedRows ?? 0;
      total += n;
      if (n < BATCH) break;
    }
  }
  return total;
}

/** Every 10 minutes on whichever instance claims it. */
export const pruneEventsJob = defineJob<Record<string, never>>({
  name: "events.prune",
  cron: "*/10 * * * *",
  queue: { policy: "singleton", retryLimit: 2, retryDelay: 60, expireInSeconds: 600 },
});

export function registerPruneEventsJob(ctx: Pick<AppContext, "db" | "log" | "jobs">): void {
  ctx.jobs.register(pruneEventsJob, async () => {
    const n = await pruneEvents(ctx.db);
    if (n) ctx.log.info({ deleted: n }, "real-time events pruned");
  });
}
