import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { waChannels, waWebhookEvents } from "../../db/schema/index.js";
import { SYSTEM_ACTOR } from "../../http/request-context.js";
import { defineJob } from "../../jobs/define.js";
import { isUuidShaped } from "../../lib/uuid.js";
import { automationRunJob, hasEnabledAutomations } from "../automations/job.js";
import { applyBroadcastStatus, markBroadcastReply, pauseBroadcastsForTemplate } from "../broadcasts/sender.js";
import { assignArrivals } from "../conversations/assignment.js";
import { inboundStored, messageStatuses } from "../events/changes.js";
import { notifyAwayAssignee } from "../notifications/service.js";
import { applyTemplateStatus } from "../templates/service.js";
import {
  envelopeSchema,
  type InboundMessage,
  inboundMessageSchema,
  mediaOf,
  messagesValueSchema,
  type StatusUpdate,
  statusSchema,
  templateStatusValueSchema,
  textOf,
} from "./payload.js";
import { reached } from "./status-steps.js";

/**
 * Durable ingest of Meta's webhooks: the route stores the signed body and enqueues this job in
 * one transaction; the job applies it. Safe to run twice (the event row says whether it was
 * applied; messages are unique per wamid; statuses only move forward). A payload that cannot
 * be applied is kept with its error and never retried; a database failure is retried.
 */
export const webhookJob = defineJob<{ orgId: string; eventIds: number[] }>({
  name: "whatsapp.webhook",
  queue: { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 300 },
  work: { batchSize: 10, localConcurrency: 4, pollingIntervalSeconds: 1 },
});

export function bodyDigest(raw: Buffer): string {
  return createHash("sha256").update(raw).digest("hex");
}

export interface AcceptedWebhook {
  orgId: string;
  channelId: string;
  raw: Buffer;
}

/**
 * Stores accepted (signature-verified) bodies and their jobs in one transaction: one row per
 * body (a byte-identical redelivery stores nothing) and one job per organization naming its new
 * events. The route calls it through the WebhookBatcher, so a burst of webhooks shares one commit.
 */
export async function storeWebhooks(ctx: AppContext, items: readonly AcceptedWebhook[]): Promise<number> {
  if (items.length === 0) return 0;
  return ctx.db.transaction(async (tx) => {
    const rows = await tx
      .insert(waWebhookEvents)
      .values(
        items.map((i) => ({
          orgId: i.orgId,
          channelId: i.channelId,
          bodySha256: bodyDigest(i.raw),
          body: i.raw.toString("utf8"),
        })),
      )
      .onConflictDoNothing()
      .returning({ id: waWebhookEvents.id, orgId: waWebhookEvents.orgId });
    const byOrg = new Map<string, number[]>();
    for (const r of rows) byOrg.set(r.orgId, [...(byOrg.get(r.orgId) ?? []), r.id]);
    for (const [orgId, eventIds] of byOrg) await ctx.jobs.enqueue(tx, webhookJob, { orgId, eventIds });
    return rows.length;
  });
}

/**
 * Group commit for the webhook route: bodies arriving within `maxWaitMs` (or until `maxBatch`)
 * are stored in one transaction; each request is answered once its batch has committed, so a
 * 200 still means "stored durably". At most `maxInFlight` transactions at once; more requests
 * wait for the next batch. One commit costs a disk flush on PostgreSQL (≈ 5 ms here): without
 * this, ingest is bound to a few hundred requests/s.
 */
export class WebhookBatcher {
  private pending: { item: AcceptedWebhook; done: (err?: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;

  constructor(
    private readonly ctx: AppContext,
    private readonly opts = { maxBatch: 200, maxWaitMs: 2, maxInFlight: 8 },
  ) {}

  store(item: AcceptedWebhook): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, done: (err) => (err ? reject(err) : resolve()) });
      if (this.pending.length >= this.opts.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.maxWaitMs);
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0 || this.inFlight >= this.opts.maxInFlight) return;
    const batch = this.pending.splice(0, this.opts.maxBatch);
    this.inFlight++;
    storeWebhooks(
      this.ctx,
      batch.map((b) => b.item),
    )
      .then(
        () => {
          for (const b of batch) b.done();
        },
        (err) => {
          for (const b of batch) b.done(err);
        },
      )
      .finally(() => {
        this.inFlight--;
        if (this.pending.length) this.flush();
      });
  }
}

const STATUS_RANK_SQL = (col: string) =>
  sql.raw(
    `(case ${col} when 'queued' then 0 when 'sent' then 1 when 'failed' then 1.5 when 'delivered' then 2 when 'read' then 3 else 4 end)`,
  );

export interface ApplyOutcome {
  messagesNew: number;
  messagesDuplicate: number;
  statusesApplied: number;
  statusesUnknown: number;
  templateUpdates: number;
  /** Status updates of templates Chorus does not have (made in Meta's manager: `POST /templates/sync` brings them). */
  templateUnknown: number;
  problems: string[];
  /** Conversations that got a new inbound message (for the assignment rules). */
  arrivals: string[];
}

class Refused extends Error {}

/** The job: applies one stored event (no-op when already applied). */
export async function processWebhookEvent(
  ctx: AppContext,
  orgId: string,
  eventId: number,
  lastAttempt = true,
  /** A batch's collector: new arrivals are added here and assigned by the caller at the batch's end. */
  arrivals?: string[],
): Promise<boolean> {
  const [event] = await ctx.db
    .select()
    .from(waWebhookEvents)
    .where(and(eq(waWebhookEvents.orgId, orgId), eq(waWebhookEvents.id, eventId)));
  if (!event || event.processedAt) return false;
  const [channel] = await ctx.db
    .select({ id: waChannels.id, phoneNumberId: waChannels.phoneNumberId, wabaId: waChannels.wabaId })
    .from(waChannels)
    .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, event.channelId)));
  if (!channel) return false; // deleted with its events (cascade)

  const finish = (db: DbOrTx, fields: { error?: string | null; outcome?: string | null }) =>
    db
      .update(waWebhookEvents)
      .set({ processedAt: new Date(), attempts: sql`${waWebhookEvents.attempts} + 1`, ...fields })
      .where(and(eq(waWebhookEvents.orgId, orgId), eq(waWebhookEvents.id, eventId), sql`processed_at is null`));

  let envelope: ReturnType<typeof envelopeSchema.parse>;
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(event.body));
    if (!parsed.success) throw new Refused(`malformed payload: ${summarize(parsed.error.issues)}`);
    envelope = parsed.data;
    // Refuse the whole payload when any change names another number: no cross-channel injection.
    for (const entry of envelope.entry) {
      for (const change of entry.changes) {
        if (change.field !== "messages") continue;
        const value = messagesValueSchema.safeParse(change.value);
        if (!value.success) throw new Refused(`malformed messages change: ${summarize(value.error.issues)}`);
        if (value.data.metadata.phone_number_id !== channel.phoneNumberId) {
          throw new Refused(
            `phone_number_id ${value.data.metadata.phone_number_id.slice(0, 40)} is not this channel's number`,
          );
        }
      }
    }
  } catch (err) {
    const message = err instanceof SyntaxError ? "malformed payload: not JSON" : (err as Error).message;
    if (!(err instanceof Refused) && !(err instanceof SyntaxError)) throw err;
    await finish(ctx.db, { error: message.slice(0, 1000) });
    ctx.log.warn({ orgId, eventId, error: message }, "whatsapp webhook refused");
    return true;
  }

  // Automations: one job per new inbound message, in this transaction (none when none is enabled).
  const automate = (await hasEnabledAutomations(ctx.db, orgId))
    ? (tx: DbOrTx, s: StoredInbound) =>
        ctx.jobs.enqueue(tx, automationRunJob, { orgId, messageId: s.messageId, opened: s.opened })
    : null;
  try {
    await ctx.db.transaction(async (tx) => {
      const outcome: ApplyOutcome = {
        messagesNew: 0,
        messagesDuplicate: 0,
        statusesApplied: 0,
        statusesUnknown: 0,
        templateUpdates: 0,
        templateUnknown: 0,
        problems: [],
        arrivals: [],
      };
      for (const entry of envelope.entry) {
        for (const change of entry.changes) {
          if (change.field === "messages") {
            await applyMessagesChange(
              tx,
              orgId,
              channel.id,
              messagesValueSchema.parse(change.value),
              outcome,
              automate,
            );
          } else if (change.field === "message_template_status_update") {
            const v = templateStatusValueSchema.safeParse(change.value);
            if (!v.success) outcome.problems.push(`template status: ${summarize(v.error.issues)}`);
            else {
              const r = await applyTemplateStatus(tx, orgId, channel, v.data, SYSTEM_ACTOR);
              await pauseBroadcastsForTemplate(tx, orgId, channel, v.data);
              if (r === "applied" || r === "unchanged") outcome.templateUpdates++;
              else if (r === "unknown") outcome.templateUnknown++;
              else outcome.problems.push(`template status event ${v.data.event.slice(0, 40)} ignored`);
            }
          } else {
            outcome.problems.push(`field ${change.field.slice(0, 60)} ignored`);
          }
        }
      }
      // Assignment rules (DESIGN §7.4): the caller's batch assigns at its end; alone, here. With
      // enabled automations their job assigns after them (an assign_team action routes first).
      const toAssign = automate ? [] : outcome.arrivals;
      if (arrivals) arrivals.push(...toAssign);
      else await assignArrivals(tx, orgId, toAssign);
      await finish(tx, {
        outcome: describe(outcome),
        error: outcome.problems.length ? outcome.problems.join("; ").slice(0, 1000) : null,
      });
    });
    return true;
  } catch (err) {
    if (!lastAttempt) throw err;
    await finish(ctx.db, { error: `not applied: ${(err as Error).message}`.slice(0, 1000) });
    ctx.log.error({ orgId, eventId, err }, "whatsapp webhook could not be applied");
    return true;
  }
}

function summarize(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

function describe(o: ApplyOutcome): string {
  const parts = [
    o.messagesNew && `${o.messagesNew} new message(s)`,
    o.messagesDuplicate && `${o.messagesDuplicate} duplicate(s)`,
    o.statusesApplied && `${o.statusesApplied} status(es)`,
    o.statusesUnknown && `${o.statusesUnknown} status(es) for unknown messages`,
    o.templateUpdates && `${o.templateUpdates} template status update(s)`,
    o.templateUnknown && `${o.templateUnknown} template status update(s) for templates not in Chorus`,
  ].filter(Boolean);
  return parts.join(", ") || "nothing to apply";
}

async function applyMessagesChange(
  tx: DbOrTx,
  orgId: string,
  channelId: string,
  value: ReturnType<typeof messagesValueSchema.parse>,
  outcome: ApplyOutcome,
  onStored: ((tx: DbOrTx, stored: StoredInbound) => Promise<unknown>) | null = null,
): Promise<void> {
  const names = new Map((value.contacts ?? []).map((c) => [c.wa_id, c.profile?.name ?? null]));
  for (const raw of value.messages ?? []) {
    const m = inboundMessageSchema.safeParse(raw);
    if (!m.success) {
      outcome.problems.push(`message skipped: ${summarize(m.error.issues)}`);
      continue;
    }
    const stored = await storeInbound(tx, orgId, channelId, m.data, names.get(m.data.from) ?? null);
    if (stored) {
      outcome.messagesNew++;
      outcome.arrivals.push(stored.conversationId);
      if (onStored) await onStored(tx, stored);
    } else outcome.messagesDuplicate++;
  }
  for (const raw of value.statuses ?? []) {
    const s = statusSchema.safeParse(raw);
    if (!s.success) {
      outcome.problems.push(`status skipped: ${summarize(s.error.issues)}`);
      continue;
    }
    if ((await applyStatus(tx, orgId, channelId, s.data)) || (await applyBroadcastStatus(tx, orgId, channelId, s.data)))
      outcome.statusesApplied++;
    else outcome.statusesUnknown++;
  }
  for (const e of value.errors ?? []) outcome.problems.push(`Meta reported: ${JSON.stringify(e).slice(0, 200)}`);
}

function rows(res: unknown): Record<string, unknown>[] {
  return (res as { rows: Record<string, unknown>[] }).rows;
}

/**
 * The contact with this wa_id: found by wa_id, else a contact with the same phone gets the
 * wa_id, else a new one (phone `+<wa_id>`). Parallel first messages create one contact (the
 * unique indexes on phone and wa_id; the loser reads the winner's row).
 */
export async function upsertContactByWaId(
  tx: DbOrTx,
  orgId: string,
  waId: string,
  profileName: string | null,
  at: Date,
): Promise<string> {
  for (let i = 0; i < 3; i++) {
    const found = rows(
      await tx.execute(sql`
        update contacts set name = coalesce(name, ${profileName}),
          last_message_at = greatest(coalesce(last_message_at, '-infinity'::timestamptz), ${at.toISOString()}::timestamptz)
        where org_id = ${orgId} and wa_id = ${waId}
        returning id`),
    );
    if (found[0]) return String(found[0].id);
    const byPhone = rows(
      await tx.execute(sql`
        update contacts set wa_id = ${waId}, name = coalesce(name, ${profileName}),
          last_message_at = greatest(coalesce(last_message_at, '-infinity'::timestamptz), ${at.toISOString()}::timestamptz),
          updated_at = now()
        where org_id = ${orgId} and phone = ${`+${waId}`} and wa_id is null
        returning id`),
    );
    if (byPhone[0]) return String(byPhone[0].id);
    const created = rows(
      await tx.execute(sql`
        insert into contacts (org_id, phone, wa_id, name, last_message_at)
        values (${orgId}, ${`+${waId}`}, ${waId}, ${profileName}, ${at.toISOString()}::timestamptz)
        on conflict do nothing
        returning id`),
    );
    if (created[0]) return String(created[0].id);
  }
  throw new Error("contact upsert did not settle");
}

/** One live conversation per contact and channel: created, or touched (reopened if snoozed). */
export async function upsertLiveConversation(
  tx: DbOrTx,
  orgId: string,
  channelId: string,
  contactId: string,
  at: Date,
  preview: string | null,
  inbound: boolean,
): Promise<string> {
  return (await upsertLiveConversationOpened(tx, orgId, channelId, contactId, at, preview, inbound)).id;
}

/** The same, saying whether this call created the conversation (`xmax = 0`: inserted, not updated). */
async function upsertLiveConversationOpened(
  tx: DbOrTx,
  orgId: string,
  channelId: string,
  contactId: string,
  at: Date,
  preview: string | null,
  inbound: boolean,
): Promise<{ id: string; opened: boolean }> {
  const iso = at.toISOString();
  const res = rows(
    await tx.execute(sql`
      insert into conversations (org_id, channel_id, contact_id, status, last_inbound_at, last_message_at, preview)
      values (${orgId}, ${channelId}, ${contactId}, 'open', ${inbound ? iso : null}::timestamptz, ${iso}::timestamptz, ${preview})
      on conflict (org_id, channel_id, contact_id) where status <> 'resolved' do update set
        last_inbound_at = case when ${inbound} then greatest(coalesce(conversations.last_inbound_at, '-infinity'::timestamptz), excluded.last_message_at) else conversations.last_inbound_at end,
        last_message_at = greatest(conversations.last_message_at, excluded.last_message_at),
        preview = case when excluded.last_message_at >= conversations.last_message_at then excluded.preview else conversations.preview end,
        status = case when ${inbound} and conversations.status = 'snoozed' then 'open' else conversations.status end,
        snoozed_until = case when ${inbound} and conversations.status = 'snoozed' then null else conversations.snoozed_until end,
        version = conversations.version + 1,
        updated_at = now()
      returning id, (xmax = 0) as opened`),
  );
  return { id: String(res[0]!.id), opened: res[0]!.opened === true };
}

interface StoredInbound {
  messageId: string;
  conversationId: string;
  /** The message created its conversation: a new contact, or one whose last one was resolved. */
  opened: boolean;
}

/** Stores an inbound message once per wamid; null when it was already stored. */
async function storeInbound(
  tx: DbOrTx,
  orgId: string,
  channelId: string,
  m: InboundMessage,
  profileName: string | null,
): Promise<StoredInbound | null> {
  const seen = rows(await tx.execute(sql`select 1 from messages where org_id = ${orgId} and wamid = ${m.id}`));
  if (seen.length) return null;
  const contactId = await upsertContactByWaId(tx, orgId, m.from, profileName, m.timestamp);
  const body = textOf(m);
  const preview = body ? body.slice(0, 200) : `[${m.type}]`;
  const conv = await upsertLiveConversationOpened(tx, orgId, channelId, contactId, m.timestamp, preview, true);
  const conversationId = conv.id;
  const media = mediaOf(m);
  const payload = media
    ? { ...m, timestamp: Math.floor(m.timestamp.getTime() / 1000), media }
    : { ...m, timestamp: Math.floor(m.timestamp.getTime() / 1000) };
  const inserted = rows(
    await tx.execute(sql`
      insert into messages (org_id, conversation_id, channel_id, contact_id, direction, wamid, type, body, payload, status, created_at)
      values (${orgId}, ${conversationId}, ${channelId}, ${contactId}, 'in', ${m.id}, ${m.type}, ${body},
        ${JSON.stringify(payload)}::jsonb, 'received', ${m.timestamp.toISOString()}::timestamptz)
      on conflict (org_id, wamid) where wamid is not null do nothing
      returning id`),
  );
  if (!inserted[0]) return null;
  await inboundStored(tx, { orgId, conversationId, messageId: String(inserted[0].id) });
  await notifyAwayAssignee(tx, { orgId, conversationId, text: body });
  await markBroadcastReply(tx, orgId, channelId, contactId, m.timestamp);
  return { messageId: String(inserted[0].id), conversationId, opened: conv.opened };
}

/**
 * Forward-only: sent < delivered < read; failed only over queued/sent, keeping Meta's error.
 * Webhooks arrive out of order, so a status stamps every step it implies (read means delivered and
 * sent) and each stamp keeps the earliest evidence (`least` skips nulls).
 */
async function applyStatus(tx: DbOrTx, orgId: string, channelId: string, s: StatusUpdate): Promise<boolean> {
  const at = s.timestamp.toISOString();
  const err = s.status === "failed" ? s.errors?.[0] : undefined;
  const byCallback = s.biz_opaque_callback_data && isUuidShaped(s.biz_opaque_callback_data);
  const match = byCallback
    ? sql`(wamid = ${s.id} or (id = ${s.biz_opaque_callback_data}::uuid and wamid is null))`
    : sql`wamid = ${s.id}`;
  const newRank = STATUS_RANK_SQL(`'${s.status}'`);
  const res = rows(
    await tx.execute(sql`
      update messages set
        wamid = coalesce(wamid, ${s.id}),
        status = case when ${newRank} > ${STATUS_RANK_SQL("status")} then ${s.status} else status end,
        sent_at = ${reached(s.status, "sent") ? sql`least(sent_at, ${at}::timestamptz)` : sql`sent_at`},
        delivered_at = ${reached(s.status, "delivered") ? sql`least(delivered_at, ${at}::timestamptz)` : sql`delivered_at`},
        read_at = ${s.status === "read" ? sql`least(read_at, ${at}::timestamptz)` : sql`read_at`},
        failed_at = ${s.status === "failed" ? sql`coalesce(failed_at, ${at}::timestamptz)` : sql`failed_at`},
        error_code = ${err ? sql`case when ${newRank} > ${STATUS_RANK_SQL("status")} then ${err.code}::int else error_code end` : sql`error_code`},
        error_title = ${err ? sql`case when ${newRank} > ${STATUS_RANK_SQL("status")} then ${(err.title ?? err.message ?? "").slice(0, 300)} else error_title end` : sql`error_title`},
        error_details = ${err ? sql`case when ${newRank} > ${STATUS_RANK_SQL("status")} then ${(err.error_data?.details ?? err.message ?? "").slice(0, 1000)} else error_details end` : sql`error_details`}
      where org_id = ${orgId} and channel_id = ${channelId} and direction = 'out' and ${match}
      returning id, conversation_id as "conversationId", status`),
  );
  await messageStatuses(tx, orgId, res as { id: string; conversationId: string; status: string }[]);
  return res.length > 0;
}
