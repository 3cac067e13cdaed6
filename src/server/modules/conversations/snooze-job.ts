import { sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { Db } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { activity } from "../../db/schema/index.js";
import { SYSTEM_ACTOR } from "../../http/request-context.js";
import { defineJob } from "../../jobs/define.js";

export const WAKE_BATCH = 500;

interface Woken {
  org_id: string;
  id: string;
  channel_id: string;
  contact_id: string;
  was_until: string | Date;
}

const isoOf = (v: string | Date) => new Date(v).toISOString();

/**
 * Returns snoozed conversations whose `snoozedUntil` has passed to `open` (DESIGN §7.1: "snoozed
 * until a time, then back to open"), each with a system line in its thread and a
 * `conversation.status_changed` activity record by the system actor, in the same transaction as
 * the change. In batches of `batchSize` (short transactions), oldest due first, through
 * `conversations_snoozed_due_idx`. Safe to run twice and on two instances at once: rows are
 * claimed `FOR UPDATE SKIP LOCKED` and re-checked (`status = 'snoozed'`) under the lock, so a
 * conversation another run (or a member's PATCH) holds is left to it and is never reopened twice.
 * Returns how many were reopened.
 */
export async function wakeSnoozed(db: Db, opts: { now?: Date; batchSize?: number } = {}): Promise<number> {
  const batchSize = opts.batchSize ?? WAKE_BATCH;
  const now = (opts.now ?? new Date()).toISOString();
  let total = 0;
  for (;;) {
    const woken = await db.transaction(async (tx) => {
      const rows = rowsOf<Woken>(
        await tx.execute(sql`
          with due as (
            select org_id, id, snoozed_until from conversations
            where status = 'snoozed' and snoozed_until <= ${now}::timestamptz
            order by snoozed_until
            limit ${batchSize}
            for update skip locked)
          update conversations c
             set status = 'open', snoozed_until = null, version = c.version + 1, updated_at = now()
            from due
           where c.org_id = due.org_id and c.id = due.id and c.status = 'snoozed'
          returning c.org_id, c.id, c.channel_id, c.contact_id, due.snoozed_until as was_until`),
      );
      if (rows.length === 0) return 0;
      // The thread's system line, as a member's status change writes it (service.ts), by nobody.
      await tx.execute(sql`
        insert into messages (org_id, conversation_id, channel_id, contact_id, direction, kind, type, body, payload, status)
        select r.org_id, r.id, r.channel_id, r.contact_id, 'out', 'system', 'system', 'reopened: the snooze ended',
               jsonb_build_object('event', jsonb_build_object('type', 'status_changed', 'from', 'snoozed', 'to', 'open',
                 'snoozedUntil', null, 'by', null, 'reason', 'snooze_ended', 'snoozedUntilWas', r.was)),
               'sent'
        from jsonb_to_recordset(${JSON.stringify(
          rows.map((r) => ({
            org_id: r.org_id,
            id: r.id,
            channel_id: r.channel_id,
            contact_id: r.contact_id,
            was: isoOf(r.was_until),
          })),
        )}::jsonb) as r(org_id uuid, id uuid, channel_id uuid, contact_id uuid, was text)`);
      await tx.insert(activity).values(
        rows.map((r) => ({
          orgId: r.org_id,
          actorType: SYSTEM_ACTOR.type,
          actorId: SYSTEM_ACTOR.id,
          actorName: SYSTEM_ACTOR.name,
          action: "conversation.status_changed",
          targetType: "conversation",
          targetId: r.id,
          targetLabel: null,
          changes: {
            status: { before: "snoozed", after: "open" },
            snoozedUntil: { before: isoOf(r.was_until), after: null },
            reason: { after: "snooze_ended" },
          },
          ip: null,
          userAgent: null,
          requestId: null,
        })),
      );
      return rows.length;
    });
    total += woken;
    if (woken < batchSize) return total;
  }
}

/**
 * Every minute, on whichever instance claims the slot (pg-boss: one job per slot across all
 * instances; singleton: a second never starts while one runs).
 */
export const wakeSnoozedJob = defineJob<Record<string, never>>({
  name: "conversations.wake_snoozed",
  cron: "* * * * *",
  queue: { policy: "singleton", retryLimit: 2, retryDelay: 30, expireInSeconds: 300 },
});

export function registerSnoozeJob(ctx: Pick<AppContext, "db" | "log" | "jobs">): void {
  ctx.jobs.register(wakeSnoozedJob, async () => {
    const woken = await wakeSnoozed(ctx.db);
    if (woken > 0) ctx.log.info({ woken }, "inbox: snoozed conversations reopened");
    return woken > 0;
  });
}
