import { asc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { memberships, tags } from "../../db/schema/index.js";
import type { OrgMember } from "../../http/request-context.js";
import { holdsChatRead } from "../roles/object-rules.js";
import { memberAccessOf } from "./visibility.js";

/**
 * Members a conversation may be assigned or transferred to (they can read chats), by name: the
 * assign and transfer pickers. Only for members who read chats (others get an empty list) (an operator transferring has
 * no `members:read`); names only, no emails.
 */
export async function assignableMembers(
  db: DbOrTx,
  member: OrgMember,
): Promise<{ memberId: string; name: string; readsAll: boolean }[]> {
  // Like the conversation list: without a chat-read permission, nothing (the route admits any member).
  if (!holdsChatRead(member)) return [];
  const rows = await db
    .select({ id: memberships.id })
    .from(memberships)
    .where(eq(memberships.orgId, member.orgId))
    .orderBy(asc(memberships.firstName), asc(memberships.lastName), asc(memberships.id))
    .limit(2000);
  const access = await memberAccessOf(
    db,
    member.orgId,
    rows.map((r) => r.id),
  );
  return rows.flatMap((r) => {
    const a = access.get(r.id);
    return a && holdsChatRead(a)
      ? [{ memberId: r.id, name: a.name, readsAll: a.isOwner || a.permissions.has("chats:read_all") }]
      : [];
  });
}

/**
 * The tags a chat reader may put on a conversation: names, colours and teams only (no contact
 * counts), for members who read chats (others: an empty list). A Chat Manager has no
 * contacts:read, which GET /tags needs, and must still be able to tag a conversation.
 */
export async function conversationTagOptions(
  db: DbOrTx,
  member: OrgMember,
): Promise<{ id: string; name: string; color: string; teamId: string | null }[]> {
  if (!holdsChatRead(member)) return [];
  return db
    .select({ id: tags.id, name: tags.name, color: tags.color, teamId: tags.teamId })
    .from(tags)
    .where(eq(tags.orgId, member.orgId))
    .orderBy(asc(sql`lower(${tags.name})`), asc(tags.id));
}
