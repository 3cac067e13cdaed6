import { sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { rowsOf } from "../../db/rows.js";
import { type Actor, SYSTEM_ACTOR } from "../../http/request-context.js";
import { defineJob } from "../../jobs/define.js";
import type { EventHub } from "../events/hub.js";
import { statusChanged } from "./service.js";

/**
 * Automatic offline (issue 15, DESIGN §7.4 presence): a member who is online or busy and whose
 * last event stream (an open inbox tab) closed goes offline once the grace period
 * (`PRESENCE_OFFLINE_GRACE`, 60 s) passes with no stream open again and no status change, with
 * the same consequences as `PUT /me/presence offline` (reassignOnOffline, the backlog).
 *
 * Across instances, `member_presence.stream_seen_at` says when a stream of the member was last
 * known open anywhere: set when an instance's first stream of the member opens and when its last
 * one closes, and refreshed every TOUCH interval (shorter than the grace) while any is open. The
 * close enqueues a delayed job (it survives restarts) carrying that time; whichever instance runs
 * it sets offline only when the row was not touched since (no stream anywhere) and the status
 * did not change since.
 *
 * An instance that stops without closing its streams (killed, crashed, its machine lost) enqueues
 * no job, and its members' `stream_seen_at` stops being refreshed. A sweep every minute finds the
 * online or busy members not seen streaming anywhere for longer than the grace (and whose status
 * did not change since) and runs the same check for them.
 */

export const AUTO_OFFLINE_ACTOR: Actor = { ...SYSTEM_ACTOR, name: "Automatic offline" };

export const autoOfflineJob = defineJob<{ orgId: string; memberId: string; closedAt: string }>({
  name: "presence.auto_offline",
  queue: { retryLimit: 3, retryDelay: 5, retryBackoff: true, expireInSeconds: 60 },
  work: { batchSize: 10, localConcurrency: 2, pollingIntervalSeconds: 2 },
});

/** How often an instance refreshes `stream_seen_at` of the members streaming there: well within the grace. */
export function touchIntervalMs(graceMs: number): number {
  return Math.max(100, Math.min(20_000, Math.floor(graceMs / 3)));
}

/** An instance's first stream of the member opened: a pending automatic offline (on any instance) will not apply. */
export async function streamOpened(ctx: AppContext, orgId: string, memberId: string): Promise<void> {
  await ctx.db.execute(sql`
    update member_presence set stream_seen_at = greatest(stream_seen_at, now())
    where org_id = ${orgId} and member_id = ${memberId} and status <> 'offline'`);
}

/**
 * The instance's last stream of the member closed: when the member is online or busy, a job
 * after the grace period, committed with the time it compares against.
 */
export async function lastStreamClosed(ctx: AppContext, orgId: string, memberId: string): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const [row] = rowsOf<{ at: string }>(
      await tx.execute(sql`
        update member_presence set stream_seen_at = greatest(stream_seen_at, now())
        where org_id = ${orgId} and member_id = ${memberId} and status in ('online', 'busy')
        returning to_char(stream_seen_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at`),
    );
    if (!row) return false;
    await ctx.jobs.enqueue(
      tx,
      autoOfflineJob,
      { orgId, memberId, closedAt: row.at },
      { startAfter: new Date(Date.now() + ctx.config.presenceOfflineGraceMs) },
    );
    return true;
  });
}

// `greatest`: a statement that started earlier but waited for the row lock never moves the time back.

/** Refreshes `stream_seen_at` of the members with a stream open on this instance (one statement). */
export async function touchStreams(ctx: AppContext, members: { orgId: string; memberId: string }[]): Promise<void> {
  if (members.length === 0) return;
  const input = JSON.stringify(members.map((m) => ({ org_id: m.orgId, member_id: m.memberId })));
  await ctx.db.execute(sql`
    update member_presence p set stream_seen_at = greatest(p.stream_seen_at, now())
    from json_to_recordset(${input}::json) as x(org_id uuid, member_id uuid)
    where p.org_id = x.org_id and p.member_id = x.member_id and p.status <> 'offline'`);
}

/**
 * The job: offline when the member is still online or busy, their status unchanged and no stream
 * of theirs seen anywhere since `closedAt` (nor open here). Returns whether it set them offline.
 */
export async function offlineIfNoStream(
  ctx: AppContext,
  hub: EventHub,
  data: { orgId: string; memberId: string; closedAt: string },
): Promise<boolean> {
  const { orgId, memberId, closedAt } = data;
  if (hub.hasMemberStream(orgId, memberId)) return false;
  return ctx.db.transaction(async (tx) => {
    const [row] = rowsOf<{ name: string; status: "online" | "busy" }>(
      await tx.execute(sql`
        select trim(m.first_name || ' ' || m.last_name) as name, p.status
        from member_presence p join memberships m on m.org_id = p.org_id and m.id = p.member_id
        where p.org_id = ${orgId} and p.member_id = ${memberId} and p.status in ('online', 'busy')
          and p.status_changed_at <= ${closedAt}::timestamptz
          and p.stream_seen_at <= ${closedAt}::timestamptz
        for update of p`),
    );
    // Checked again under the row lock: a stream opening here now waits for this commit to touch the row.
    if (!row || hub.hasMemberStream(orgId, memberId)) return false;
    await tx.execute(sql`
      update member_presence set status = 'offline', status_changed_at = now(), updated_at = now()
      where org_id = ${orgId} and member_id = ${memberId}`);
    await statusChanged(ctx, tx, AUTO_OFFLINE_ACTOR, { orgId, memberId, name: row.name }, row.status, "offline");
    return true;
  });
}

/** Recurring: the sweep for streams an instance left behind when it stopped without closing them. */
export const sweepStaleStreamsJob = defineJob<Record<string, never>>({
  name: "presence.sweep_stale_streams",
  cron: "* * * * *",
  queue: { policy: "singleton", retryLimit: 2, retryDelay: 30, expireInSeconds: 300 },
});

/** How many members one sweep sets offline at most; the next minute's sweep goes on. */
export const SWEEP_BATCH = 500;

/**
 * Online or busy members whose stream was last seen longer than the grace ago and whose status
 * did not change since: each through `offlineIfNoStream` (which checks again under the row lock).
 * Returns how many went offline. A live instance refreshes its members' `stream_seen_at` every
 * `touchIntervalMs` (a third of the grace at most), so a time older than the grace means no
 * stream of theirs is open on any running instance.
 */
export async function sweepStaleStreams(ctx: AppContext, hub: EventHub): Promise<number> {
  const stale = rowsOf<{ org_id: string; member_id: string; seen: string }>(
    await ctx.db.execute(sql`
      select org_id, member_id,
        to_char(stream_seen_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as seen
      from member_presence
      where status in ('online', 'busy') and stream_seen_at is not null
        and stream_seen_at < now() - make_interval(secs => ${ctx.config.presenceOfflineGraceMs / 1000})
        and status_changed_at <= stream_seen_at
      order by stream_seen_at
      limit ${SWEEP_BATCH}`),
  );
  let offline = 0;
  for (const r of stale) {
    if (await offlineIfNoStream(ctx, hub, { orgId: r.org_id, memberId: r.member_id, closedAt: r.seen })) offline++;
  }
  return offline;
}

/**
 * Wires automatic offline into an app: the job, the hub's open/close hook, and the refresh timer.
 * Returns what stops it (awaits the writes in flight).
 */
export function startAutoOffline(ctx: AppContext, hub: EventHub): () => Promise<void> {
  ctx.jobs.register(autoOfflineJob, async ({ data }) => offlineIfNoStream(ctx, hub, data));
  ctx.jobs.register(sweepStaleStreamsJob, async () => {
    const offline = await sweepStaleStreams(ctx, hub);
    if (offline > 0) ctx.log.info({ offline }, "presence: members left online by a stopped instance set offline");
    return offline > 0;
  });
  const inFlight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>, what: string) => {
    const q = p.catch((err) => ctx.log.warn({ err }, `automatic offline: ${what} failed`));
    inFlight.add(q);
    void q.finally(() => inFlight.delete(q));
  };
  hub.onMemberStreams = (change, orgId, memberId) => {
    track(
      change === "opened" ? streamOpened(ctx, orgId, memberId) : lastStreamClosed(ctx, orgId, memberId),
      `stream ${change}`,
    );
  };
  const timer = setInterval(() => {
    const members = [...hub.streamingMembers()];
    if (members.length) track(touchStreams(ctx, members), "refresh");
  }, touchIntervalMs(ctx.config.presenceOfflineGraceMs));
  timer.unref();
  return async () => {
    clearInterval(timer);
    hub.onMemberStreams = null;
    await Promise.all([...inFlight]);
  };
}
