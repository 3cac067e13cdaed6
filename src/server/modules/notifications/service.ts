import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { type NotificationKey, resolveNotificationPreferences } from "../../../shared/notifications.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import {
  conversations,
  memberPresence,
  memberships,
  notifications,
  organizations,
  users,
} from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, uuidKeyset } from "../../http/cursor.js";
import type { OrgMember } from "../../http/request-context.js";
import { isoMicros } from "../activity/query.js";
import { inboxSettings, memberAccessOf } from "../conversations/visibility.js";
import { MAIL_PREFIX } from "../events/hub.js";
import { EVENTS_CHANNEL, publish } from "../events/publish.js";
import { toLocale } from "../mail/templates.js";
import { canReadConversation } from "../roles/object-rules.js";

/** The workspace notifications this module sends (a subset of the preferences catalogue). */
export type WorkspaceNotificationKind = Extract<
  NotificationKey,
  "conversation_assigned" | "mentioned" | "customer_replied" | "broadcast_finished"
>;

export interface NotificationData {
  /** Who caused it (null: the system, e.g. assignment rules). */
  by?: { memberId: string | null; name: string } | null;
  /** The conversation's contact name, or the broadcast's name, as it was. */
  subjectName?: string | null;
  /** A mention: the start of the note. */
  excerpt?: string | null;
  broadcastId?: string;
}

export interface NotifyInput {
  orgId: string;
  kind: WorkspaceNotificationKind;
  memberIds: readonly string[];
  conversationId?: string | null;
  data: NotificationData;
}

const EXCERPT_MAX = 200;

/**
 * Creates notifications in the caller's transaction, per each recipient's preferences for the
 * kind: a bell entry (`inApp`, with a `notification.created` event for their streams) and/or an
 * email, claimed after the commit by one instance (a NOTIFY) or by the sweep job, and put in the
 * mail outbox then. Recipients who are not members of the organization are skipped. Returns the
 * ids created.
 */
export async function notify(tx: DbOrTx, input: NotifyInput): Promise<string[]> {
  const ids = [...new Set(input.memberIds)];
  if (ids.length === 0) return [];
  const people = await tx
    .select({ memberId: memberships.id, prefs: users.notificationPrefs })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, input.orgId), inArray(memberships.id, ids)));
  const rows = people.flatMap((p) => {
    const channels = resolveNotificationPreferences(p.prefs)[input.kind];
    if (!channels.inApp && !channels.email) return [];
    return [
      {
        orgId: input.orgId,
        memberId: p.memberId,
        kind: input.kind,
        conversationId: input.conversationId ?? null,
        data: {
          ...input.data,
          ...(input.data.excerpt ? { excerpt: input.data.excerpt.slice(0, EXCERPT_MAX) } : {}),
        } as Record<string, unknown>,
        inApp: channels.inApp,
        emailState: channels.email ? ("pending" as const) : ("none" as const),
      },
    ];
  });
  if (rows.length === 0) return [];
  const created = await tx.insert(notifications).values(rows).returning({
    id: notifications.id,
    memberId: notifications.memberId,
    inApp: notifications.inApp,
    emailState: notifications.emailState,
  });
  for (const n of created) {
    if (!n.inApp) continue;
    await publish(tx, {
      orgId: input.orgId,
      kind: "notification.created",
      recipientMemberId: n.memberId,
      payload: { notificationId: n.id, notificationKind: input.kind, conversationId: input.conversationId ?? null },
    });
  }
  const mail = created.filter((n) => n.emailState === "pending").map((n) => n.id);
  if (mail.length) {
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${`${MAIL_PREFIX}${input.orgId}:${mail.join(",")}`})`);
  }
  return created.map((n) => n.id);
}

/**
 * "Assigned to you": the new assignee hears of it unless they assigned it to themselves
 * (`byMemberId`; null = the assignment rules).
 */
export async function notifyAssigned(
  tx: DbOrTx,
  input: {
    orgId: string;
    conversationId: string;
    assigneeMemberId: string | null;
    by: { memberId: string | null; name: string } | null;
    contactName?: string | null;
  },
): Promise<string[]> {
  if (!input.assigneeMemberId || input.assigneeMemberId === input.by?.memberId) return [];
  return notify(tx, {
    orgId: input.orgId,
    kind: "conversation_assigned",
    memberIds: [input.assigneeMemberId],
    conversationId: input.conversationId,
    data: {
      by: input.by,
      subjectName: input.contactName ?? (await contactNameOf(tx, input.orgId, input.conversationId)),
    },
  });
}

/**
 * "Mentioned in a note": only members who may read the conversation (DESIGN §7.3: notifications
 * follow the visibility rule), never the author.
 */
export async function notifyMentioned(
  tx: DbOrTx,
  input: {
    orgId: string;
    conversationId: string;
    assigneeMemberId: string | null;
    mentionedMemberIds: readonly string[];
    by: { memberId: string; name: string };
    text: string;
  },
): Promise<string[]> {
  const candidates = input.mentionedMemberIds.filter((m) => m !== input.by.memberId);
  if (candidates.length === 0) return [];
  const access = await memberAccessOf(tx, input.orgId, candidates);
  const settings = await inboxSettings(tx, input.orgId);
  const readers = candidates.filter((memberId) => {
    const a = access.get(memberId);
    return (
      a !== undefined &&
      canReadConversation(
        { memberId, isOwner: a.isOwner, permissions: a.permissions },
        { assigneeMemberId: input.assigneeMemberId },
        settings,
      )
    );
  });
  return notify(tx, {
    orgId: input.orgId,
    kind: "mentioned",
    memberIds: readers,
    conversationId: input.conversationId,
    data: {
      by: input.by,
      subjectName: await contactNameOf(tx, input.orgId, input.conversationId),
      excerpt: input.text,
    },
  });
}

/**
 * "A customer wrote while you were away": the conversation's assignee, when their presence is not
 * online (busy, offline, or never set). Once per conversation until they read that notification,
 * so a chatty customer does not fill the bell or the mailbox.
 */
export async function notifyAwayAssignee(
  tx: DbOrTx,
  input: { orgId: string; conversationId: string; text: string | null },
): Promise<string[]> {
  const [row] = await tx
    .select({ memberId: conversations.assigneeMemberId, status: memberPresence.status })
    .from(conversations)
    .leftJoin(
      memberPresence,
      and(eq(memberPresence.orgId, conversations.orgId), eq(memberPresence.memberId, conversations.assigneeMemberId)),
    )
    .where(and(eq(conversations.orgId, input.orgId), eq(conversations.id, input.conversationId)));
  if (!row?.memberId || row.status === "online") return [];
  const [pending] = await tx
    .select({ id: notifications.id })
    .from(notifications)
    .where(
      and(
        eq(notifications.orgId, input.orgId),
        eq(notifications.memberId, row.memberId),
        eq(notifications.kind, "customer_replied"),
        eq(notifications.conversationId, input.conversationId),
        isNull(notifications.readAt),
      ),
    )
    .limit(1);
  if (pending) return [];
  return notify(tx, {
    orgId: input.orgId,
    kind: "customer_replied",
    memberIds: [row.memberId],
    conversationId: input.conversationId,
    data: {
      by: null,
      subjectName: await contactNameOf(tx, input.orgId, input.conversationId),
      excerpt: input.text,
    },
  });
}

/** For the broadcasts module: the members to tell (e.g. who sent it) that a broadcast finished. */
export async function notifyBroadcastFinished(
  tx: DbOrTx,
  input: { orgId: string; broadcastId: string; name: string; memberIds: readonly string[] },
): Promise<string[]> {
  return notify(tx, {
    orgId: input.orgId,
    kind: "broadcast_finished",
    memberIds: input.memberIds,
    data: { broadcastId: input.broadcastId, subjectName: input.name, by: null },
  });
}

async function contactNameOf(db: DbOrTx, orgId: string, conversationId: string): Promise<string | null> {
  const res = (await db.execute(sql`
    select coalesce(ct.name, ct.phone) as name from conversations c
    join contacts ct on ct.org_id = c.org_id and ct.id = c.contact_id
    where c.org_id = ${orgId} and c.id = ${conversationId}`)) as unknown;
  return rowsOf<{ name: string | null }>(res)[0]?.name ?? null;
}

// ---------------------------------------------------------------- the bell

export interface NotificationDto {
  id: string;
  kind: string;
  conversationId: string | null;
  broadcastId: string | null;
  by: { memberId: string | null; name: string } | null;
  subjectName: string | null;
  excerpt: string | null;
  read: boolean;
  createdAt: string;
}

function toDto(r: typeof notifications.$inferSelect): NotificationDto {
  const d = r.data as NotificationData;
  return {
    id: r.id,
    kind: r.kind,
    conversationId: r.conversationId,
    broadcastId: d.broadcastId ?? null,
    by: d.by ?? null,
    subjectName: d.subjectName ?? null,
    excerpt: d.excerpt ?? null,
    read: r.readAt !== null,
    createdAt: r.createdAt.toISOString(),
  };
}

/** The caller's own notifications, newest first, keyset pages on (created_at, id); with the unread count. */
export async function listNotifications(
  db: DbOrTx,
  member: OrgMember,
  q: { limit: number; cursor?: string | undefined; unread?: boolean | undefined },
): Promise<{ items: NotificationDto[]; nextCursor: string | null; unreadCount: number }> {
  const after = decodeCursor(q.cursor, uuidKeyset);
  const mine = and(
    eq(notifications.orgId, member.orgId),
    eq(notifications.memberId, member.memberId),
    eq(notifications.inApp, true),
  );
  const [rows, [count]] = await Promise.all([
    db
      .select({ row: notifications, atIso: isoMicros(notifications.createdAt) })
      .from(notifications)
      .where(
        and(
          mine,
          q.unread ? isNull(notifications.readAt) : undefined,
          after
            ? sql`(${notifications.createdAt}, ${notifications.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
            : undefined,
        ),
      )
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(q.limit + 1),
    db
      .select({ n: sql<number>`count(*)::int` })
      .from(notifications)
      .where(and(mine, isNull(notifications.readAt))),
  ]);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => toDto(r.row)),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.atIso, id: last.row.id }) : null,
    unreadCount: Number(count?.n ?? 0),
  };
}

/** Marks the caller's own notifications read (ids of others are ignored); returns the unread count left. */
export async function markRead(
  db: DbOrTx,
  member: OrgMember,
  input: { ids: string[] } | { all: true },
): Promise<{ updated: number; unreadCount: number }> {
  const mine = and(eq(notifications.orgId, member.orgId), eq(notifications.memberId, member.memberId));
  const updated = await db
    .update(notifications)
    .set({ readAt: new Date() })
    .where(and(mine, isNull(notifications.readAt), "ids" in input ? inArray(notifications.id, input.ids) : undefined))
    .returning({ id: notifications.id });
  const [count] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(notifications)
    .where(and(mine, eq(notifications.inApp, true), isNull(notifications.readAt)));
  return { updated: updated.length, unreadCount: Number(count?.n ?? 0) };
}

// ---------------------------------------------------------------- email

const SWEEP_BATCH = 100;

/**
 * Claims pending notification emails (all of the organization's, or the ids named) and puts each
 * in the mail outbox, in one transaction: whichever instance claims a row mails it, once. The
 * recipient's current email, language and name are read now.
 */
export async function mailPendingNotifications(
  ctx: Pick<AppContext, "db" | "outbox" | "config">,
  filter: { orgId?: string; ids?: readonly string[] } = {},
): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const res = (await tx.execute(sql`
      with c as (
        select org_id, id from notifications
        where email_state = 'pending'
          ${filter.orgId ? sql`and org_id = ${filter.orgId}` : sql``}
          ${
            filter.ids?.length
              ? sql`and id in (${sql.join(
                  filter.ids.map((i) => sql`${i}::uuid`),
                  sql`, `,
                )})`
              : sql``
          }
        order by created_at limit ${SWEEP_BATCH}
        for update skip locked)
      update notifications n set email_state = 'queued' from c
      where n.org_id = c.org_id and n.id = c.id
      returning n.org_id, n.id, n.member_id, n.kind, n.conversation_id, n.data`)) as unknown;
    const claimed = rowsOf<{
      org_id: string;
      id: string;
      member_id: string;
      kind: WorkspaceNotificationKind;
      conversation_id: string | null;
      data: NotificationData;
    }>(res);
    if (claimed.length === 0) return 0;
    const people = await tx
      .select({
        orgId: memberships.orgId,
        memberId: memberships.id,
        email: users.email,
        language: users.language,
        firstName: users.firstName,
        orgName: organizations.name,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .innerJoin(organizations, eq(organizations.id, memberships.orgId))
      .where(
        sql`(${memberships.orgId}, ${memberships.id}) in (${sql.join(
          claimed.map((c) => sql`(${c.org_id}::uuid, ${c.member_id}::uuid)`),
          sql`, `,
        )})`,
      );
    const byMember = new Map(people.map((p) => [`${p.orgId}:${p.memberId}`, p]));
    for (const n of claimed) {
      const p = byMember.get(`${n.org_id}:${n.member_id}`);
      if (!p) continue;
      const data = typeof n.data === "string" ? (JSON.parse(n.data) as NotificationData) : n.data;
      const path =
        n.kind === "broadcast_finished"
          ? `/orgs/${n.org_id}/broadcasts/${data.broadcastId ?? ""}`
          : `/orgs/${n.org_id}/inbox?conversation=${n.conversation_id ?? ""}`;
      await ctx.outbox.enqueue(tx, {
        to: p.email,
        template: "workspaceNotification",
        locale: toLocale(p.language),
        orgId: n.org_id,
        data: {
          firstName: p.firstName,
          kind: n.kind,
          orgName: p.orgName,
          byName: data.by?.name ?? null,
          subjectName: data.subjectName ?? null,
          excerpt: data.excerpt ?? null,
          url: `${ctx.config.appUrl}${path}`,
        },
      });
    }
    return claimed.length;
  });
}
