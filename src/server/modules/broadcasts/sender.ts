import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { type BroadcastStatus, broadcasts, messageTemplates } from "../../db/schema/index.js";
import { type Actor, SYSTEM_ACTOR } from "../../http/request-context.js";
import { isUuidShaped } from "../../lib/uuid.js";
import { recordActivity } from "../activity/record.js";
import { getChannel, graphTargetOf } from "../channels/repo.js";
import { buildTemplateMessage } from "../templates/render.js";
import { asTemplate, statusOf } from "../templates/service.js";
import { GraphClient, GraphError } from "../whatsapp/graph-client.js";
import { whatsappOf } from "../whatsapp/runtime.js";
import { reached } from "../whatsapp/status-steps.js";
import { PRIORITY_BULK } from "../whatsapp/throughput.js";
import { broadcastSendJob } from "./jobs.js";
import { onBroadcastFinished } from "./notify.js";
import { type BroadcastRow, freezeAudience } from "./service.js";

/**
 * The broadcast sender. One run holds the broadcast's lease (`lease_owner`, renewed every batch)
 * and loops: claim a batch of queued recipients (`FOR UPDATE SKIP LOCKED`, marked `sending` and
 * committed BEFORE any request), send each through the channel's throughput bucket at bulk
 * priority (replies go first), record the wamids or Meta's reasons, check the status (a pause
 * or cancel stops the loop within one batch). A recipient is requested at most once:
 *
 * - a run that dies leaves its claimed rows `sending`; the next run (after the lease lapses)
 *   marks them failed with code -1 "interrupted" instead of sending again: the request may have
 *   reached Meta. Their status webhooks (matched by `biz_opaque_callback_data` = recipient id)
 *   still move them forward to sent / delivered / read when Meta did send them;
 * - a network failure or timeout is the same kind of doubt: interrupted, never retried;
 * - Meta's explicit refusals that mean "not now" (130429 throughput, 131056 pair rate…) put the
 *   recipient back in the queue; the others fail it with Meta's code and title;
 * - the template paused / disabled / gone at Meta (132015, 132016, 132001) pauses the broadcast
 *   with the reason and puts the batch back.
 */

/** Code of a recipient whose request may or may not have reached Meta (never retried). */
export const INTERRUPTED = -1;
const INTERRUPTED_TITLE = "Interrupted: the send's outcome is unknown, so it was not repeated";
const TEMPLATE_CODES = new Set([132001, 132015, 132016]);
/** Refusals after which nothing was sent and a later try may pass. */
const REQUEUE_CODES = new Set([4, 80007, 130429, 131056, 133004]);
const MAX_ATTEMPTS = 5;

export interface SenderOptions {
  /** A run sends for at most this long, then enqueues its continuation. */
  sliceMs: number;
  leaseMs: number;
  /** Recipients claimed at once (default: a tenth of a second at the channel's rate, 5…200). */
  batchSize?: number;
  /** Concurrent claim → send → record loops (default 4). */
  lanes?: number;
  /** Tests: stop after this many batches as if the process died (claims kept, lease kept). */
  dieAfterBatches?: number;
}

export const DEFAULT_SENDER: SenderOptions = { sliceMs: 20_000, leaseMs: 15_000 };

const clients = new WeakMap<AppContext, GraphClient>();
/** One attempt per request: the sender decides what is retried (never an ambiguous failure). */
function clientOf(ctx: AppContext): GraphClient {
  let c = clients.get(ctx);
  if (!c) {
    c = new GraphClient({
      timeoutMs: ctx.config.waHttpTimeoutMs,
      retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    });
    clients.set(ctx, c);
  }
  return c;
}

const uuidList = (ids: string[]) =>
  sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  );

async function loadRow(db: DbOrTx, orgId: string, id: string): Promise<BroadcastRow | null> {
  const [row] = await db
    .select()
    .from(broadcasts)
    .where(and(eq(broadcasts.orgId, orgId), eq(broadcasts.id, id)));
  return row ?? null;
}

/** A scheduled broadcast whose time has come: sending, its audience frozen now. */
async function startScheduled(ctx: AppContext, row: BroadcastRow): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const [moved] = await tx
      .update(broadcasts)
      .set({ status: "sending", startedAt: new Date(), version: sql`${broadcasts.version} + 1`, updatedAt: new Date() })
      .where(and(eq(broadcasts.orgId, row.orgId), eq(broadcasts.id, row.id), eq(broadcasts.status, "scheduled")))
      .returning();
    if (!moved) return false;
    const frozen = await freezeAudience(tx, moved);
    await tx
      .update(broadcasts)
      .set({ excludedOptedOut: frozen.optedOut, excludedDuplicates: frozen.duplicates })
      .where(and(eq(broadcasts.orgId, row.orgId), eq(broadcasts.id, row.id)));
    await recordActivity(tx, SYSTEM_ACTOR, {
      orgId: row.orgId,
      action: "broadcast.started",
      target: { type: "broadcast", id: row.id, label: row.name },
      changes: {
        status: { before: "scheduled", after: "sending" },
        recipients: { after: frozen.inserted },
        excludedOptedOut: { after: frozen.optedOut },
        excludedDuplicates: { after: frozen.duplicates },
      },
    });
    return true;
  });
}

/** Pauses (sending or scheduled → paused) with a reason, as Chorus: Meta paused the template… */
export async function pauseWithReason(
  tx: DbOrTx,
  orgId: string,
  id: string,
  reason: string,
  actor: Actor = SYSTEM_ACTOR,
): Promise<boolean> {
  const [row] = await tx
    .update(broadcasts)
    .set({
      status: "paused",
      statusReason: reason.slice(0, 500),
      version: sql`${broadcasts.version} + 1`,
      updatedAt: new Date(),
    })
    .where(
      and(eq(broadcasts.orgId, orgId), eq(broadcasts.id, id), inArray(broadcasts.status, ["sending", "scheduled"])),
    )
    .returning();
  if (!row) return false;
  await recordActivity(tx, actor, {
    orgId,
    action: "broadcast.paused",
    target: { type: "broadcast", id, label: row.name },
    changes: { status: { after: "paused" }, reason: { after: row.statusReason } },
  });
  return true;
}

/** No recipient left to send: completed (or failed when nobody could be sent to), and the notification. */
async function finish(ctx: AppContext, orgId: string, id: string, runId: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [c] = rowsOf(
      await tx.execute(sql`
        select count(*) filter (where status in ('queued', 'sending'))::int as open,
          count(*) filter (where status in ('sent', 'delivered', 'read') or (status = 'failed' and error_code = ${INTERRUPTED}))::int as reached,
          count(*)::int as total
        from broadcast_recipients where org_id = ${orgId}::uuid and broadcast_id = ${id}::uuid`),
    );
    if (Number(c?.open ?? 0) > 0) return;
    const to: BroadcastStatus = Number(c?.total) > 0 && Number(c?.reached) === 0 ? "failed" : "completed";
    const [row] = await tx
      .update(broadcasts)
      .set({
        status: to,
        statusReason: to === "failed" ? "No recipient could be sent to" : null,
        finishedAt: new Date(),
        leaseOwner: null,
        leaseUntil: null,
        version: sql`${broadcasts.version} + 1`,
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(broadcasts.orgId, orgId),
          eq(broadcasts.id, id),
          eq(broadcasts.status, "sending"),
          eq(broadcasts.leaseOwner, runId),
        ),
      )
      .returning();
    if (!row) return;
    const notified = await onBroadcastFinished(tx, {
      orgId,
      broadcastId: id,
      name: row.name,
      memberIds: [row.createdByMemberId, row.sentByMemberId].filter((m): m is string => Boolean(m)),
    });
    await recordActivity(tx, SYSTEM_ACTOR, {
      orgId,
      action: to === "completed" ? "broadcast.completed" : "broadcast.failed",
      target: { type: "broadcast", id, label: row.name },
      changes: { status: { before: "sending", after: to }, notified: { after: notified } },
    });
  });
}

interface Claimed {
  id: string;
  recipient: string;
  variables: Record<string, string>;
  attempts: number;
}

type Outcome =
  | { id: string; kind: "sent"; wamid: string }
  | { id: string; kind: "failed"; code: number; title: string }
  | { id: string; kind: "interrupted"; title: string }
  | { id: string; kind: "requeue" }
  | { id: string; kind: "template"; code: number; title: string };

/** The job: sends (a slice of) one broadcast. */
export async function runBroadcastSend(
  ctx: AppContext,
  data: { orgId: string; broadcastId: string },
  opts: SenderOptions = DEFAULT_SENDER,
): Promise<boolean> {
  const { orgId, broadcastId: id } = data;
  let row = await loadRow(ctx.db, orgId, id);
  if (!row) return false;
  if (row.status === "scheduled") {
    if (row.scheduledAt && row.scheduledAt.getTime() > Date.now() + 1000) return false; // moved later: its own job
    await startScheduled(ctx, row);
    row = await loadRow(ctx.db, orgId, id);
  }
  if (row?.status !== "sending") return false;

  const runId = randomUUID();
  const leaseSql = sql`now() + ${`${opts.leaseMs} milliseconds`}::interval`;
  const [leased] = rowsOf(
    await ctx.db.execute(sql`
      update broadcasts set lease_owner = ${runId}, lease_until = ${leaseSql}
      where org_id = ${orgId}::uuid and id = ${id}::uuid and status = 'sending'
        and (lease_until is null or lease_until < now())
      returning lease_owner`),
  );
  if (!leased) {
    // Another run holds it: look again once its lease could have lapsed (it may have died).
    const [l] = rowsOf(
      await ctx.db.execute(sql`select lease_until from broadcasts where org_id = ${orgId}::uuid and id = ${id}::uuid`),
    );
    const until = l?.lease_until ? new Date(String(l.lease_until)) : new Date();
    await ctx.jobs.enqueue(ctx.db, broadcastSendJob, data, {
      startAfter: new Date(Math.max(until.getTime(), Date.now()) + 1000),
      singletonKey: `broadcast:${id}`,
    });
    return false;
  }
  // Rows another (dead) run claimed: their requests may have gone out. Never again.
  await ctx.db.execute(sql`
    update broadcast_recipients set status = 'failed', error_code = ${INTERRUPTED}, error_title = ${INTERRUPTED_TITLE}, failed_at = now()
    where org_id = ${orgId}::uuid and broadcast_id = ${id}::uuid and status = 'sending'
      and claim_owner is distinct from ${runId}`);

  const channel = await getChannel(ctx.db, orgId, row.channelId);
  const [template] = row.templateId
    ? await ctx.db
        .select()
        .from(messageTemplates)
        .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, row.templateId)))
    : [];
  if (!channel || !template || template.status !== "APPROVED") {
    await ctx.db.transaction((tx) =>
      pauseWithReason(
        tx,
        orgId,
        id,
        !template
          ? "The template was deleted"
          : !channel
            ? "The channel is gone"
            : `The template is ${template.status}${template.rejectionReason ? ` (${template.rejectionReason})` : ""}`,
      ),
    );
    await releaseLease(ctx.db, orgId, id, runId);
    return true;
  }
  const like = asTemplate(template);
  const target = graphTargetOf(ctx.config, channel);
  const limiter = whatsappOf(ctx).limiter;
  const graph = clientOf(ctx);
  const mps = channel.mpsLimit;
  const batchSize = opts.batchSize ?? Math.max(5, Math.min(200, Math.round(mps / 10)));
  const started = performance.now();
  let batches = 0;

  // Lanes: several claim → send → record loops at once (SKIP LOCKED keeps their batches apart),
  // so one batch's database round trips overlap another's requests; the bucket paces them all.
  const lane = async (): Promise<"slice" | "stopped" | "finished" | "died"> => {
    for (;;) {
      if (performance.now() - started > opts.sliceMs) return "slice";
      // Still ours and still sending? (A pause or cancel shows here, within one batch.)
      const [mine] = rowsOf(
        await ctx.db.execute(sql`
          update broadcasts set lease_until = ${leaseSql}
          where org_id = ${orgId}::uuid and id = ${id}::uuid and status = 'sending' and lease_owner = ${runId}
          returning id`),
      );
      if (!mine) return "stopped";
      const claimed = rowsOf(
        await ctx.db.execute(sql`
          update broadcast_recipients r set status = 'sending', claim_owner = ${runId}, attempts = r.attempts + 1
          from (
            select org_id, id from broadcast_recipients
            where org_id = ${orgId}::uuid and broadcast_id = ${id}::uuid and status = 'queued'
            order by seq limit ${batchSize}
            for update skip locked
          ) pick
          where r.org_id = pick.org_id and r.id = pick.id
          returning r.id, r.recipient, r.variables, r.attempts`),
      ).map((r) => ({
        id: String(r.id),
        recipient: String(r.recipient),
        variables: (typeof r.variables === "string" ? JSON.parse(r.variables) : r.variables) as Record<string, string>,
        attempts: Number(r.attempts),
      })) as Claimed[];
      if (claimed.length === 0) {
        await finish(ctx, orgId, id, runId); // completes once no lane has a request in flight
        return "finished";
      }
      if (opts.dieAfterBatches !== undefined && batches >= opts.dieAfterBatches) return "died"; // holding its claims

      const outcomes = await Promise.all(
        claimed.map(async (r): Promise<Outcome> => {
          let message: ReturnType<typeof buildTemplateMessage>;
          try {
            message = buildTemplateMessage(like, r.variables);
          } catch (err) {
            return { id: r.id, kind: "failed", code: 100, title: (err as Error).message.slice(0, 300) };
          }
          await limiter.acquire(channel.id, mps, PRIORITY_BULK);
          try {
            const res = await graph.sendMessage(target, {
              to: r.recipient,
              content: {
                type: "template",
                name: message.name,
                language: message.language.code,
                ...(message.components ? { components: message.components } : {}),
              },
              bizOpaqueCallbackData: r.id,
            });
            return { id: r.id, kind: "sent", wamid: res.wamid };
          } catch (err) {
            if (!(err instanceof GraphError)) return { id: r.id, kind: "interrupted", title: INTERRUPTED_TITLE };
            if (err.code === 0) return { id: r.id, kind: "interrupted", title: `${INTERRUPTED_TITLE} (${err.title})` };
            if (TEMPLATE_CODES.has(err.code)) return { id: r.id, kind: "template", code: err.code, title: err.title };
            if (REQUEUE_CODES.has(err.code) && r.attempts < MAX_ATTEMPTS) return { id: r.id, kind: "requeue" };
            if (err.retryable && err.httpStatus !== null && err.httpStatus >= 500 && r.attempts < MAX_ATTEMPTS) {
              return { id: r.id, kind: "requeue" };
            }
            return { id: r.id, kind: "failed", code: err.code, title: (err.details ?? err.title).slice(0, 300) };
          }
        }),
      );
      batches++;
      await record(ctx.db, orgId, outcomes);
      const templateStop = outcomes.find((o): o is Extract<Outcome, { kind: "template" }> => o.kind === "template");
      if (templateStop) {
        await ctx.db.transaction((tx) =>
          pauseWithReason(tx, orgId, id, `Meta refused the template (${templateStop.code}): ${templateStop.title}`),
        );
        return "stopped";
      }
      if (outcomes.some((o) => o.kind === "requeue")) await sleep(1000); // Meta asked us to slow down
    }
  };
  const ends = await Promise.all(Array.from({ length: Math.max(1, opts.lanes ?? 4) }, lane));
  if (ends.includes("died")) return true;
  // Paused, cancelled or taken over: only now (no lane has a request in flight) are the claims let go.
  if (ends.includes("stopped")) {
    await releaseClaims(ctx.db, orgId, id, runId);
    return true;
  }
  if (ends.includes("slice")) {
    await releaseLease(ctx.db, orgId, id, runId);
    await ctx.jobs.enqueue(ctx.db, broadcastSendJob, data);
    return true;
  }
  await finish(ctx, orgId, id, runId);
  return true;
}

async function releaseLease(db: DbOrTx, orgId: string, id: string, runId: string): Promise<void> {
  await db.execute(sql`
    update broadcasts set lease_owner = null, lease_until = null
    where org_id = ${orgId}::uuid and id = ${id}::uuid and lease_owner = ${runId}`);
}

/** Paused or cancelled mid-run: nothing of this run is in flight any more. */
async function releaseClaims(db: DbOrTx, orgId: string, id: string, runId: string): Promise<void> {
  await db.execute(sql`
    update broadcast_recipients set status = case when b.status = 'cancelled' then 'cancelled' else 'queued' end, claim_owner = null
    from broadcasts b
    where b.org_id = ${orgId}::uuid and b.id = ${id}::uuid
      and broadcast_recipients.org_id = b.org_id and broadcast_recipients.broadcast_id = b.id
      and broadcast_recipients.status = 'sending' and broadcast_recipients.claim_owner = ${runId}`);
  await releaseLease(db, orgId, id, runId);
}

/** A batch's outcomes in (at most) four statements. */
async function record(db: DbOrTx, orgId: string, outcomes: Outcome[]): Promise<void> {
  const sent = outcomes.filter((o): o is Extract<Outcome, { kind: "sent" }> => o.kind === "sent");
  if (sent.length) {
    const values = sql.join(
      sent.map((o) => sql`(${o.id}::uuid, ${o.wamid}::text)`),
      sql`, `,
    );
    // A status webhook may have come first (it moved the row already): forward only.
    await db.execute(sql`
      update broadcast_recipients r set
        wamid = coalesce(r.wamid, v.wamid),
        status = case when r.status = 'sending' or (r.status = 'failed' and r.error_code = ${INTERRUPTED}) then 'sent' else r.status end,
        error_code = case when r.error_code = ${INTERRUPTED} then null else r.error_code end,
        error_title = case when r.error_code = ${INTERRUPTED} then null else r.error_title end,
        sent_at = coalesce(r.sent_at, now())
      from (values ${values}) as v(id, wamid)
      where r.org_id = ${orgId}::uuid and r.id = v.id`);
  }
  const failed = outcomes.filter(
    (o): o is Extract<Outcome, { kind: "failed" | "interrupted" }> => o.kind === "failed" || o.kind === "interrupted",
  );
  if (failed.length) {
    const values = sql.join(
      failed.map(
        (o) => sql`(${o.id}::uuid, ${o.kind === "failed" ? o.code : INTERRUPTED}::int, ${o.title.slice(0, 300)}::text)`,
      ),
      sql`, `,
    );
    await db.execute(sql`
      update broadcast_recipients r set status = 'failed', error_code = v.code, error_title = v.title, failed_at = now()
      from (values ${values}) as v(id, code, title)
      where r.org_id = ${orgId}::uuid and r.id = v.id and r.status = 'sending'`);
  }
  const back = outcomes.filter((o) => o.kind === "requeue" || o.kind === "template").map((o) => o.id);
  if (back.length) {
    await db.execute(sql`
      update broadcast_recipients set status = 'queued', claim_owner = null
      where org_id = ${orgId}::uuid and id in (${uuidList(back)}) and status = 'sending'`);
  }
}

// ---- from the webhook ingest ----

const RANK = (status: string, code: string) =>
  sql.raw(
    `(case ${status} when 'queued' then 0 when 'cancelled' then 0.3 when 'sending' then 0.5 when 'sent' then 1 when 'failed' then (case when ${code} = ${INTERRUPTED} then 0.7 else 1.5 end) when 'delivered' then 2 when 'read' then 3 else 4 end)`,
  );

/**
 * A status webhook of a broadcast's message (called by the ingest when no inbox message matched):
 * by wamid, or by the recipient id in `biz_opaque_callback_data` when the send's answer was lost.
 * Forward only, like the inbox's messages. True when a recipient row matched.
 */
export async function applyBroadcastStatus(
  tx: DbOrTx,
  orgId: string,
  channelId: string,
  s: {
    id: string;
    status: string;
    timestamp: Date;
    biz_opaque_callback_data?: string | undefined;
    errors?: { code: number; title?: string | undefined; message?: string | undefined }[] | undefined;
  },
): Promise<boolean> {
  if (!["sent", "delivered", "read", "failed"].includes(s.status)) return false;
  const at = s.timestamp.toISOString();
  const err = s.status === "failed" ? s.errors?.[0] : undefined;
  const cb = s.biz_opaque_callback_data && isUuidShaped(s.biz_opaque_callback_data) ? s.biz_opaque_callback_data : null;
  const match = cb ? sql`(wamid = ${s.id} or id = ${cb}::uuid)` : sql`wamid = ${s.id}`;
  const newRank = RANK(`'${s.status}'`, err ? String(err.code) : "0");
  const oldRank = RANK("status", "error_code");
  const forward = sql`${newRank} > ${oldRank}`;
  const res = rowsOf(
    await tx.execute(sql`
      update broadcast_recipients set
        wamid = coalesce(wamid, ${s.id}),
        status = case when ${forward} then ${s.status} else status end,
        error_code = case when ${forward} then ${err ? sql`${err.code}::int` : sql`null::int`} else error_code end,
        error_title = case when ${forward} then ${err ? sql`${(err.title ?? err.message ?? "").slice(0, 300)}::text` : sql`null::text`} else error_title end,
        sent_at = ${reached(s.status, "sent") ? sql`least(sent_at, ${at}::timestamptz)` : sql`sent_at`},
        delivered_at = ${reached(s.status, "delivered") ? sql`least(delivered_at, ${at}::timestamptz)` : sql`delivered_at`},
        read_at = ${s.status === "read" ? sql`least(read_at, ${at}::timestamptz)` : sql`read_at`},
        failed_at = ${s.status === "failed" ? sql`coalesce(failed_at, ${at}::timestamptz)` : sql`failed_at`}
      where org_id = ${orgId}::uuid and channel_id = ${channelId}::uuid and ${match}
      returning id`),
  );
  return res.length > 0;
}

/**
 * An inbound message: the contact's broadcast messages on this channel sent in the 72 h before it
 * got a reply. Meta's timestamp has whole seconds: a reply in the same second as the send (its
 * `sent_at` has milliseconds) counts, so the comparison allows the rest of that second.
 */
export async function markBroadcastReply(
  tx: DbOrTx,
  orgId: string,
  channelId: string,
  contactId: string,
  at: Date,
): Promise<void> {
  const iso = at.toISOString();
  await tx.execute(sql`
    update broadcast_recipients set replied_at = ${iso}::timestamptz
    where org_id = ${orgId}::uuid and contact_id = ${contactId}::uuid and channel_id = ${channelId}::uuid
      and replied_at is null and sent_at is not null
      and sent_at < ${iso}::timestamptz + interval '1 second' and sent_at > ${iso}::timestamptz - interval '72 hours'`);
}

/**
 * A `message_template_status_update` to PAUSED or DISABLED: the broadcasts sending (or scheduled
 * with) that template pause, with Meta's reason. Called by the ingest in its transaction.
 */
export async function pauseBroadcastsForTemplate(
  tx: DbOrTx,
  orgId: string,
  channel: { id: string; wabaId: string },
  value: {
    event: string;
    message_template_id: string | number;
    message_template_name: string;
    message_template_language: string;
    reason?: string | null | undefined;
  },
): Promise<number> {
  const status = statusOf(value.event);
  if (status !== "PAUSED" && status !== "DISABLED") return 0;
  const templates = await tx
    .select({ id: messageTemplates.id })
    .from(messageTemplates)
    .where(
      and(
        eq(messageTemplates.orgId, orgId),
        sql`(${messageTemplates.metaId} = ${String(value.message_template_id)} or (${messageTemplates.wabaId} = ${channel.wabaId} and ${messageTemplates.name} = ${value.message_template_name} and ${messageTemplates.language} = ${value.message_template_language}))`,
      ),
    );
  if (!templates.length) return 0;
  const affected = await tx
    .select({ id: broadcasts.id })
    .from(broadcasts)
    .where(
      and(
        eq(broadcasts.orgId, orgId),
        inArray(
          broadcasts.templateId,
          templates.map((t) => t.id),
        ),
        inArray(broadcasts.status, ["sending", "scheduled"]),
      ),
    );
  const reason = value.reason && value.reason.toUpperCase() !== "NONE" ? `: ${value.reason.slice(0, 200)}` : "";
  let n = 0;
  for (const b of affected) {
    if (
      await pauseWithReason(
        tx,
        orgId,
        b.id,
        `Meta ${status === "PAUSED" ? "paused" : "disabled"} the template ${value.message_template_name}${reason}`,
      )
    )
      n++;
  }
  return n;
}

/**
 * The watchdog (and a worker's start): a job for every broadcast `sending`. One whose lease
 * still holds (a live worker, or one that just died) gets a job that looks again once the lease
 * could have lapsed; a second job for a broadcast being sent is a no-op.
 */
export async function resumeStalled(ctx: AppContext): Promise<number> {
  const stalled = rowsOf(
    await ctx.db.execute(sql`
      select org_id, id from broadcasts
      where status = 'sending' and (lease_until is null or lease_until < now() + interval '1 minute')
      limit 500`),
  );
  for (const r of stalled) {
    await ctx.jobs.enqueue(
      ctx.db,
      broadcastSendJob,
      { orgId: String(r.org_id), broadcastId: String(r.id) },
      { singletonKey: `broadcast:${String(r.id)}`, singletonSeconds: 30 },
    );
  }
  return stalled.length;
}
