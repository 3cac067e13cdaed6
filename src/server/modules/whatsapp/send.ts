import { and, eq, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { contacts, conversations, messages, waChannels } from "../../db/schema/index.js";
import { defineJob } from "../../jobs/define.js";
import { graphTargetOf } from "../channels/repo.js";
import { messageQueued, messageStatuses } from "../events/changes.js";
import { GraphError, type OutboundContent, type OutboundMessage } from "./graph-client.js";
import { upsertLiveConversation } from "./ingest.js";
import { whatsappOf } from "./runtime.js";
import { PRIORITY_REPLY } from "./throughput.js";

/**
 * Outbound messages: a `queued` row and this job commit together; the job waits for the
 * channel's throughput, calls the Graph API, and records the wamid (`sent`) or Meta's reason
 * (`failed`). Transient failures are retried by the client (backoff) and then by the queue;
 * a job re-run after a crash between the call and the record sends again (Meta has no
 * idempotency key; the status webhooks' `biz_opaque_callback_data` = our message id).
 */
export const sendJob = defineJob<{ orgId: string; messageId: string }>({
  name: "whatsapp.send",
  queue: { retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 120 },
  work: { batchSize: 50, localConcurrency: 4, pollingIntervalSeconds: 1 },
});

export interface QueueOutboundInput {
  orgId: string;
  conversationId: string;
  content: OutboundContent;
  /** Same id → same message (idempotent). */
  clientMsgId?: string | null;
  /** 0 = reply (default), 1 = bulk (broadcast). */
  priority?: number;
  senderMemberId?: string | null;
  replyToWamid?: string | null;
}

export type MessageRow = typeof messages.$inferSelect;

function bodyText(c: OutboundContent): string | null {
  switch (c.type) {
    case "text":
      return c.text;
    case "interactive":
      return c.interactive.body;
    case "template":
      return `[template ${c.name}]`;
    default:
      return c.caption ?? c.filename ?? null;
  }
}

/**
 * Queues one outbound message in `tx` (the caller's transaction: the inbox's reply, a
 * broadcast's recipient): the row and its job commit together. Returns the row (the existing
 * one for a repeated clientMsgId).
 */
export async function queueOutbound(ctx: AppContext, tx: DbOrTx, input: QueueOutboundInput): Promise<MessageRow> {
  const [conv] = await tx
    .select({ channelId: conversations.channelId, contactId: conversations.contactId })
    .from(conversations)
    .where(and(eq(conversations.orgId, input.orgId), eq(conversations.id, input.conversationId)));
  if (!conv) throw new Error("conversation not found");
  const [inserted] = await tx
    .insert(messages)
    .values({
      orgId: input.orgId,
      conversationId: input.conversationId,
      channelId: conv.channelId,
      contactId: conv.contactId,
      direction: "out",
      type: input.content.type,
      body: bodyText(input.content),
      payload: { content: input.content, ...(input.replyToWamid ? { replyTo: input.replyToWamid } : {}) },
      status: "queued",
      clientMsgId: input.clientMsgId ?? null,
      priority: input.priority ?? PRIORITY_REPLY,
      senderMemberId: input.senderMemberId ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (!inserted) {
    const [existing] = await tx
      .select()
      .from(messages)
      .where(and(eq(messages.orgId, input.orgId), eq(messages.clientMsgId, input.clientMsgId ?? "")));
    if (!existing) throw new Error("message insert conflicted without a clientMsgId");
    return existing;
  }
  await tx
    .update(conversations)
    .set({
      lastMessageAt: sql`greatest(${conversations.lastMessageAt}, ${inserted.createdAt.toISOString()}::timestamptz)`,
      preview: (inserted.body ?? `[${inserted.type}]`).slice(0, 200),
      version: sql`${conversations.version} + 1`,
      updatedAt: new Date(),
    })
    .where(and(eq(conversations.orgId, input.orgId), eq(conversations.id, input.conversationId)));
  await messageQueued(tx, { orgId: input.orgId, conversationId: input.conversationId, messageId: inserted.id });
  await ctx.jobs.enqueue(
    tx,
    sendJob,
    { orgId: input.orgId, messageId: inserted.id },
    { priority: input.priority ? 0 : 10 },
  );
  return inserted;
}

/** For a contact and channel: its live conversation (created when none), then queueOutbound. */
export async function queueToContact(
  ctx: AppContext,
  tx: DbOrTx,
  input: Omit<QueueOutboundInput, "conversationId"> & { channelId: string; contactId: string },
): Promise<MessageRow> {
  const conversationId = await upsertLiveConversation(
    tx,
    input.orgId,
    input.channelId,
    input.contactId,
    new Date(),
    bodyText(input.content)?.slice(0, 200) ?? null,
    false,
  );
  return queueOutbound(ctx, tx, { ...input, conversationId });
}

/** The job: sends one queued message. */
export async function runSend(
  ctx: AppContext,
  data: { orgId: string; messageId: string },
  run: { lastAttempt: boolean; signal?: AbortSignal },
): Promise<boolean> {
  const { orgId, messageId } = data;
  const [row] = await ctx.db
    .select({ message: messages, channel: waChannels, contact: { phone: contacts.phone, waId: contacts.waId } })
    .from(messages)
    .innerJoin(waChannels, and(eq(waChannels.orgId, messages.orgId), eq(waChannels.id, messages.channelId)))
    .innerJoin(contacts, and(eq(contacts.orgId, messages.orgId), eq(contacts.id, messages.contactId)))
    .where(and(eq(messages.orgId, orgId), eq(messages.id, messageId)));
  if (row?.message.status !== "queued" || row.message.direction !== "out") return false;
  const { message, channel, contact } = row;
  const rt = whatsappOf(ctx);
  const payload = message.payload as { content: OutboundContent; replyTo?: string };
  const outbound: OutboundMessage = {
    to: contact.waId ?? contact.phone.replace(/^\+/, ""),
    content: payload.content,
    bizOpaqueCallbackData: message.id,
    ...(payload.replyTo ? { replyTo: payload.replyTo } : {}),
  };
  await rt.limiter.acquire(channel.id, channel.mpsLimit, message.priority);
  try {
    const res = await rt.graph.sendMessage(graphTargetOf(ctx.config, channel), outbound, run.signal);
    await ctx.db.transaction(async (tx) => {
      const done = await tx
        .update(messages)
        .set({
          wamid: sql`coalesce(${messages.wamid}, ${res.wamid})`,
          status: sql`case when ${messages.status} = 'queued' then 'sent' else ${messages.status} end`,
          sentAt: sql`coalesce(${messages.sentAt}, now())`,
        })
        .where(and(eq(messages.orgId, orgId), eq(messages.id, messageId)))
        .returning({ id: messages.id, conversationId: messages.conversationId, status: messages.status });
      await messageStatuses(tx, orgId, done);
    });
    return true;
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
    if (err.retryable && !run.lastAttempt) throw err;
    await ctx.db.transaction(async (tx) => {
      const failed = await tx
        .update(messages)
        .set({
          status: "failed",
          failedAt: new Date(),
          errorCode: err.code,
          errorTitle: err.title.slice(0, 300),
          errorDetails: err.details?.slice(0, 1000) ?? null,
        })
        .where(and(eq(messages.orgId, orgId), eq(messages.id, messageId), eq(messages.status, "queued")))
        .returning({ id: messages.id, conversationId: messages.conversationId, status: messages.status });
      await messageStatuses(tx, orgId, failed);
    });
    ctx.log.warn({ orgId, messageId, code: err.code, title: err.title }, "whatsapp send failed");
    return true;
  }
}
