import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { conversationReads, conversations } from "../../db/schema/index.js";
import { notFound } from "../../http/problem.js";
import type { OrgMember } from "../../http/request-context.js";
import { canReadConversation } from "../roles/object-rules.js";
import type { ConversationDto, ConversationViewDto } from "./schemas.js";
import { inboxSettings } from "./visibility.js";

/**
 * Unread counts (docs/decisions.md, "Inbox unread counts"): a read marker per member and
 * conversation (conversation_reads), set when the member opens the thread. Unread = the
 * customer's messages (inbound, kind `message`) created after the marker; all of them without
 * one. Counted for the page being shown only, each count stopping at UNREAD_CAP.
 */
export const UNREAD_CAP = 100;

/** The caller's unread count on each conversation of a page (one query, bounded per row). */
export async function withUnread(
  db: DbOrTx,
  member: Pick<OrgMember, "orgId" | "memberId">,
  items: ConversationDto[],
): Promise<ConversationViewDto[]> {
  if (items.length === 0) return [];
  const ids = sql.join(
    items.map((i) => sql`${i.id}::uuid`),
    sql`, `,
  );
  const res = await db.execute(sql`
    select c.id::text as id, u.n::int as n
    from conversations c
    left join conversation_reads r
      on r.org_id = c.org_id and r.conversation_id = c.id and r.member_id = ${member.memberId}::uuid
    cross join lateral (
      select count(*) as n from (
        select 1 from messages m
        where m.org_id = c.org_id and m.conversation_id = c.id
          and m.created_at > coalesce(r.last_read_at, '-infinity'::timestamptz)
          and m.direction = 'in' and m.kind = 'message'
        limit ${UNREAD_CAP}
      ) s
    ) u
    where c.org_id = ${member.orgId}::uuid and c.id in (${ids})`);
  const counts = new Map(rowsOf(res).map((r) => [String(r.id), Number(r.n)]));
  return items.map((i) => ({ ...i, unread: counts.get(i.id) ?? 0 }));
}

/**
 * The member opened the thread: their marker moves to `until` (the newest item they were shown;
 * never later than now) unless it already is later. 404 for a conversation they may not see.
 */
export async function markRead(
  db: DbOrTx,
  member: OrgMember,
  conversationId: string,
  until: string | undefined,
): Promise<void> {
  const [row] = await db
    .select({ assigneeMemberId: conversations.assigneeMemberId })
    .from(conversations)
    .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)));
  if (!row || !canReadConversation(member, row, await inboxSettings(db, member.orgId))) {
    throw notFound("conversation", "conversation_not_found");
  }
  const now = Date.now();
  // + 1 ms: items carry milliseconds, the database microseconds (the item shown is then read).
  const at = new Date(until ? Math.min(new Date(until).getTime() + 1, now) : now);
  await db
    .insert(conversationReads)
    .values({ orgId: member.orgId, conversationId, memberId: member.memberId, lastReadAt: at })
    .onConflictDoUpdate({
      target: [conversationReads.orgId, conversationReads.conversationId, conversationReads.memberId],
      set: { lastReadAt: sql`greatest(${conversationReads.lastReadAt}, excluded.last_read_at)` },
    });
}
