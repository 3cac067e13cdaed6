import type { DbOrTx } from "../../db/client.js";
import { notifyAssigned, notifyMentioned } from "../notifications/service.js";
import { publish } from "./publish.js";

/**
 * One call per change point of the inbox and the WhatsApp channel, inside the change's transaction
 * and after its write: the real-time events it causes and, where it applies, the notifications.
 * Kept here so the services they are called from change by one line each.
 */

type By = { memberId: string | null; name: string } | null;

/** Assigned, reassigned, unassigned or transferred (also by a reply taking an unassigned conversation). */
export async function conversationAssigned(
  tx: DbOrTx,
  e: { orgId: string; conversationId: string; from: string | null; to: string | null; by: By; teamChanged?: boolean },
): Promise<void> {
  await publish(tx, {
    orgId: e.orgId,
    kind: "conversation.assigned",
    conversationId: e.conversationId,
    previousAssigneeMemberId: e.from !== e.to ? e.from : null,
    payload: e.teamChanged ? { teamChanged: true } : {},
  });
  if (e.to && e.to !== e.from) {
    await notifyAssigned(tx, { orgId: e.orgId, conversationId: e.conversationId, assigneeMemberId: e.to, by: e.by });
  }
}

/** Status, snooze, tags or priority changed. */
export async function conversationUpdated(tx: DbOrTx, e: { orgId: string; conversationId: string }): Promise<void> {
  await publish(tx, { orgId: e.orgId, kind: "conversation.updated", conversationId: e.conversationId });
}

/** A private note; its `@mentions` notified (only those who may read the conversation). */
export async function noteAdded(
  tx: DbOrTx,
  e: {
    orgId: string;
    conversationId: string;
    assigneeMemberId: string | null;
    noteId: string;
    mentions: readonly string[];
    by: { memberId: string; name: string };
    text: string;
  },
): Promise<void> {
  await publish(tx, {
    orgId: e.orgId,
    kind: "message.created",
    conversationId: e.conversationId,
    payload: { messageId: e.noteId, messageKind: "note" },
  });
  if (e.mentions.length) {
    await notifyMentioned(tx, {
      orgId: e.orgId,
      conversationId: e.conversationId,
      assigneeMemberId: e.assigneeMemberId,
      mentionedMemberIds: e.mentions,
      by: e.by,
      text: e.text,
    });
  }
}

/** An outbound message queued (a reply, a template, a broadcast's recipient): the thread and the list change. */
export async function messageQueued(
  tx: DbOrTx,
  e: { orgId: string; conversationId: string; messageId: string },
): Promise<void> {
  await publish(tx, {
    orgId: e.orgId,
    kind: ["message.created", "conversation.updated"],
    conversationId: e.conversationId,
    payload: { messageId: e.messageId, direction: "out" },
  });
}

/** A customer's message stored by the webhook ingest: the conversation created or updated, the message. */
export async function inboundStored(
  tx: DbOrTx,
  e: { orgId: string; conversationId: string; messageId: string },
): Promise<void> {
  await publish(tx, {
    orgId: e.orgId,
    kind: ["conversation.upserted", "message.created"],
    conversationId: e.conversationId,
    payload: { messageId: e.messageId, direction: "in" },
  });
}

/** Delivery statuses applied (sent, delivered, read, failed), from Meta's webhooks or the send job. */
export async function messageStatuses(
  tx: DbOrTx,
  orgId: string,
  rows: readonly { id: string; conversationId: string; status: string }[],
): Promise<void> {
  for (const r of rows) {
    await publish(tx, {
      orgId,
      kind: "message.status",
      conversationId: r.conversationId,
      payload: { messageId: r.id, status: r.status },
    });
  }
}

/** A member's open conversations returned to the queue (removed, left, lost chat access). */
export async function returnedToQueue(
  tx: DbOrTx,
  e: { orgId: string; memberId: string; conversationIds: readonly string[] },
): Promise<void> {
  if (e.conversationIds.length === 0) return;
  await publish(tx, {
    orgId: e.orgId,
    kind: "conversation.assigned",
    conversationIds: e.conversationIds,
    previousAssigneeMemberId: e.memberId,
    payload: { returnedToQueue: true },
  });
}
