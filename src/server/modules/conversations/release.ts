import { and, eq, inArray, isNotNull, ne, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { conversations, memberships, messages } from "../../db/schema/index.js";
import type { Actor } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { returnedToQueue } from "../events/changes.js";
import { holdsChatRead } from "../roles/object-rules.js";
import { memberAccessOf } from "./visibility.js";

export type ReleaseReason = "removed" | "left" | "lost_chat_access";

const REASON_TEXT: Record<ReleaseReason, string> = {
  removed: "was removed from the organization",
  left: "left the organization",
  lost_chat_access: "can no longer read conversations",
};

/**
 * Returns a member's open (not resolved) conversations to the unassigned queue, in the caller's
 * transaction (DESIGN §7.3): a system line in each thread and one activity record
 * (`conversations.returned_to_queue`, with the count) per member. Call it BEFORE deleting the
 * membership (the name is read from it). Resolved conversations keep their assignee (who handled
 * them) until the membership row goes (then the foreign key nulls it).
 */
export async function returnConversationsToQueue(
  tx: DbOrTx,
  by: Actor,
  orgId: string,
  memberId: string,
  reason: ReleaseReason,
): Promise<number> {
  const released = rowsOf<ReleasedConversation>(await tx.execute(releaseStatement(orgId, memberId)));
  return conversationsReleased(tx, by, orgId, memberId, reason, released);
}

export interface ReleasedConversation {
  id: string;
  channelId: string;
  contactId: string;
}

/**
 * The statement that unassigns the member's open conversations, returning them: alone, or as a
 * CTE of a larger statement (the member update runs it with the role change, one round trip).
 * Its rows then go to `conversationsReleased`.
 */
export function releaseStatement(orgId: string, memberId: string): SQL {
  return sql`update ${conversations} set assignee_member_id = null, version = version + 1, updated_at = now()
    where org_id = ${orgId} and assignee_member_id = ${memberId} and status <> 'resolved'
    returning id, channel_id as "channelId", contact_id as "contactId"`;
}

/** What follows conversations released by `releaseStatement` (nothing when none were). */
export async function conversationsReleased(
  tx: DbOrTx,
  by: Actor,
  orgId: string,
  memberId: string,
  reason: ReleaseReason,
  released: readonly ReleasedConversation[],
): Promise<number> {
  if (released.length === 0) return 0;
  await returnedToQueue(tx, { orgId, memberId, conversationIds: released.map((c) => c.id) });
  const [m] = await tx
    .select({ firstName: memberships.firstName, lastName: memberships.lastName })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
  const name = m ? `${m.firstName} ${m.lastName}`.trim() : "A member";
  const text = `returned to the queue: ${name} ${REASON_TEXT[reason]}`;
  for (let i = 0; i < released.length; i += 500) {
    await tx.insert(messages).values(
      released.slice(i, i + 500).map((c) => ({
        orgId,
        conversationId: c.id,
        channelId: c.channelId,
        contactId: c.contactId,
        direction: "out" as const,
        kind: "system",
        type: "system",
        body: text,
        payload: { event: { type: "returned_to_queue", from: { memberId, name }, reason } },
        status: "sent" as const,
        senderMemberId: null,
      })),
    );
  }
  await recordActivity(tx, by, {
    orgId,
    action: "conversations.returned_to_queue",
    target: { type: "member", id: memberId, label: name },
    changes: { conversations: { before: released.length, after: 0 }, reason: { after: reason } },
  });
  return released.length;
}

/**
 * After a change of roles: each of `memberIds` who no longer holds a chat-read permission gets
 * their open conversations returned to the queue (same transaction). One call from the member
 * update (and any other path that changes what members hold).
 */
export async function returnConversationsOfMembersWithoutChatAccess(
  tx: DbOrTx,
  by: Actor,
  orgId: string,
  /** The members whose roles changed; `"all"`: every assignee (a role's permissions changed). */
  memberIds: readonly string[] | "all",
): Promise<number> {
  if (memberIds !== "all" && memberIds.length === 0) return 0;
  const assigned = await tx
    .selectDistinct({ memberId: conversations.assigneeMemberId })
    .from(conversations)
    .where(
      and(
        eq(conversations.orgId, orgId),
        memberIds === "all"
          ? isNotNull(conversations.assigneeMemberId)
          : inArray(conversations.assigneeMemberId, [...memberIds]),
        ne(conversations.status, "resolved"),
      ),
    );
  const ids = assigned.map((a) => a.memberId).filter((m): m is string => m !== null);
  if (ids.length === 0) return 0;
  const access = await memberAccessOf(tx, orgId, ids);
  let n = 0;
  for (const id of ids) {
    const a = access.get(id);
    if (a && holdsChatRead(a)) continue;
    n += await returnConversationsToQueue(tx, by, orgId, id, "lost_chat_access");
  }
  return n;
}
