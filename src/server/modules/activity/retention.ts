import { sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { organizations } from "../../db/schema/index.js";

export const RETENTION_BATCH = 5_000;
export const RETENTION_INTERVAL_MS = 60 * 60_000;

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

export interface RetentionJob {
  stop(): Promise<void>;
}

/**
 * Runs `runRetention` once shortly after start, then every `intervalMs`. `stop()` clears
 * the timer and waits for a run in progress. main.ts runs it next to the outbox worker.
 */
export function startRetentionJob(
  ctx: Pick<AppContext, "db" | "log">,
  opts: { intervalMs?: number; firstRunAfterMs?: number } = {},
): RetentionJob {
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = () => {
    if (running || stopped) return;
    running = runRetention(ctx.db)
      .then((n) => {
        if (n > 0) ctx.log.info({ deleted: n }, "activity retention: deleted expired records");
      })
      .catch((err) => ctx.log.error({ err }, "activity retention failed"))
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(run, opts.firstRunAfterMs ?? 30_000);
  const timer = setInterval(run, opts.intervalMs ?? RETENTION_INTERVAL_MS);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
