import { and, eq, inArray, isNull, ne, type SQL, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { pgCode } from "../../db/pg-errors.js";
import {
  contacts,
  conversations,
  conversationTags,
  memberships,
  messages,
  tags,
  teams,
} from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, uuidKeyset } from "../../http/cursor.js";
import { AppError, badRequest, conflict, forbidden, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { isoMicros } from "../activity/query.js";
import { diff, recordActivity } from "../activity/record.js";
import * as realtime from "../events/changes.js";
import {
  canAssignConversation,
  canReadConversation,
  canReplyConversation,
  holdsChatRead,
  type InboxRuleSettings,
} from "../roles/object-rules.js";
import { assertTeam } from "../tags/service.js";
import { queueOutbound } from "../whatsapp/send.js";
import type {
  AssignInput,
  ConversationDto,
  ListConversationsQuery,
  PatchConversationInput,
  ReplyInput,
  ThreadItemDto,
  TransferInput,
} from "./schemas.js";
import { inboxSearch } from "./search.js";
import { templateContent } from "./templates.js";
import { inboxSettings, memberAccessOf, visibleWhere } from "./visibility.js";

/** The customer-service window: free-form text only within 24 hours of the customer's last message. */
export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;

export type ConversationRow = typeof conversations.$inferSelect;
type MessageRow = typeof messages.$inferSelect;

const conversationNotFound = () => notFound("conversation", "conversation_not_found");
const changed = (current: ConversationRow) =>
  conflict("conversation_changed", "The conversation was assigned differently in the meantime; reload it.", {
    assigneeMemberId: current.assigneeMemberId,
    version: current.version,
  });

const nameOf = (r: { firstName: string; lastName: string }) => `${r.firstName} ${r.lastName}`.trim();
const iso = (d: Date | null) => (d ? d.toISOString() : null);

// ---------------------------------------------------------------- reading

export async function toDtos(db: DbOrTx, orgId: string, rows: ConversationRow[]): Promise<ConversationDto[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const contactIds = [...new Set(rows.map((r) => r.contactId))];
  const memberIds = [...new Set(rows.map((r) => r.assigneeMemberId).filter((m): m is string => m !== null))];
  const teamIds = [...new Set(rows.map((r) => r.teamId).filter((m): m is string => m !== null))];
  const [cs, ms, ts, tg] = await Promise.all([
    db
      .select({
        id: contacts.id,
        name: contacts.name,
        phone: contacts.phone,
        waId: contacts.waId,
        optedOutAt: contacts.optedOutAt,
      })
      .from(contacts)
      .where(and(eq(contacts.orgId, orgId), inArray(contacts.id, contactIds))),
    memberIds.length
      ? db
          .select({ id: memberships.id, firstName: memberships.firstName, lastName: memberships.lastName })
          .from(memberships)
          .where(and(eq(memberships.orgId, orgId), inArray(memberships.id, memberIds)))
      : [],
    teamIds.length
      ? db
          .select({ id: teams.id, name: teams.name })
          .from(teams)
          .where(and(eq(teams.orgId, orgId), inArray(teams.id, teamIds)))
      : [],
    db
      .select({
        conversationId: conversationTags.conversationId,
        tagId: conversationTags.tagId,
        name: tags.name,
        color: tags.color,
      })
      .from(conversationTags)
      .innerJoin(tags, and(eq(tags.orgId, conversationTags.orgId), eq(tags.id, conversationTags.tagId)))
      .where(and(eq(conversationTags.orgId, orgId), inArray(conversationTags.conversationId, ids))),
  ]);
  const contactById = new Map(cs.map((c) => [c.id, c]));
  const memberById = new Map(ms.map((m) => [m.id, nameOf(m)]));
  const teamById = new Map(ts.map((t) => [t.id, t.name]));
  return rows.map((r) => {
    const c = contactById.get(r.contactId);
    const own = tg.filter((t) => t.conversationId === r.id).sort((a, b) => (a.tagId < b.tagId ? -1 : 1));
    return {
      id: r.id,
      channelId: r.channelId,
      contact: {
        id: r.contactId,
        name: c?.name ?? null,
        phone: c?.phone ?? "",
        waId: c?.waId ?? null,
        optedOut: Boolean(c?.optedOutAt),
      },
      status: r.status,
      snoozedUntil: iso(r.snoozedUntil),
      priority: r.priority,
      assignee: r.assigneeMemberId
        ? { memberId: r.assigneeMemberId, name: memberById.get(r.assigneeMemberId) ?? "" }
        : null,
      team: r.teamId ? { id: r.teamId, name: teamById.get(r.teamId) ?? "" } : null,
      tagIds: own.map((t) => t.tagId),
      tags: own.map((t) => ({ id: t.tagId, name: t.name, color: t.color })),
      preview: r.preview,
      lastMessageAt: r.lastMessageAt.toISOString(),
      lastInboundAt: iso(r.lastInboundAt),
      windowClosesAt: r.lastInboundAt ? new Date(r.lastInboundAt.getTime() + SERVICE_WINDOW_MS).toISOString() : null,
      version: r.version,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  });
}

/**
 * Conversations the caller may see, newest activity first, keyset pages on
 * (last_message_at, id). Unread counts are not computed yet (no per-member read marker).
 */
export async function listConversations(
  db: DbOrTx,
  member: OrgMember,
  q: ListConversationsQuery,
): Promise<{ items: ConversationDto[]; nextCursor: string | null }> {
  const visible = visibleWhere(member, await inboxSettings(db, member.orgId));
  // Without a chat-read permission nothing is visible: an empty list (the route admits any member).
  if (!visible) return { items: [], nextCursor: null };
  const after = decodeCursor(q.cursor, uuidKeyset);
  const conds: (SQL | undefined)[] = [visible];
  if (q.view === "mine") conds.push(eq(conversations.assigneeMemberId, member.memberId));
  if (q.view === "unassigned") conds.push(isNull(conversations.assigneeMemberId));
  if (q.status) conds.push(eq(conversations.status, q.status));
  if (q.teamId) conds.push(eq(conversations.teamId, q.teamId));
  if (q.channelId) conds.push(eq(conversations.channelId, q.channelId));
  if (q.tagId) {
    conds.push(
      sql`exists (select 1 from ${conversationTags} where ${conversationTags.orgId} = ${conversations.orgId}
        and ${conversationTags.conversationId} = ${conversations.id} and ${conversationTags.tagId} = ${q.tagId})`,
    );
  }
  // Contact name / phone prefix or message text (search.ts), ANDed with the visibility above.
  const search = q.q ? await inboxSearch(db, member.orgId, q.q) : null;
  if (search) conds.push(search.where);
  if (after) {
    conds.push(
      sql`(${conversations.lastMessageAt}, ${conversations.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`,
    );
  }
  const rows = await db
    .select({ row: conversations, atIso: isoMicros(conversations.lastMessageAt) })
    .from(conversations)
    .where(and(...conds))
    // NULLS LAST as the indexes are declared (`desc()` in the schema): plain DESC means NULLS
    // FIRST, which no index matches, and every visible row was sorted (issue 15 bench: 750 ms).
    // A sparse search: few candidates, sorted (an expression no index has), not the index walked.
    .orderBy(
      search?.sparse
        ? sql`${conversations.lastMessageAt} + interval '0' desc nulls last`
        : sql`${conversations.lastMessageAt} desc nulls last`,
      sql`${conversations.id} desc nulls last`,
    )
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: await toDtos(
      db,
      member.orgId,
      page.map((r) => r.row),
    ),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.atIso, id: last.row.id }) : null,
  };
}

/** The conversation if the caller may see it, else 404 (never 403: its existence is not revealed). */
export async function loadVisible(db: DbOrTx, member: OrgMember, conversationId: string, lock = false) {
  const settings = await inboxSettings(db, member.orgId);
  const q = db
    .select()
    .from(conversations)
    .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)));
  const [row] = lock ? await q.for("update") : await q;
  if (!row || !canReadConversation(member, row, settings)) throw conversationNotFound();
  return { row, settings };
}

export async function getConversation(db: DbOrTx, member: OrgMember, conversationId: string) {
  const { row } = await loadVisible(db, member, conversationId);
  return (await toDtos(db, member.orgId, [row]))[0]!;
}

interface LinePayload {
  authorName?: string;
  mentions?: string[];
  event?: Record<string, unknown>;
}

export function threadItem(m: MessageRow, authorName: string | null): ThreadItemDto {
  const kind = m.kind === "note" || m.kind === "system" ? m.kind : "message";
  const p = (m.payload ?? {}) as LinePayload;
  const isMessage = kind === "message";
  return {
    id: m.id,
    kind,
    direction: isMessage ? m.direction : null,
    type: m.type,
    text: m.body,
    status: isMessage ? m.status : null,
    error:
      isMessage && m.status === "failed" ? { code: m.errorCode, title: m.errorTitle, details: m.errorDetails } : null,
    clientMsgId: m.clientMsgId,
    author: m.senderMemberId ? { memberId: m.senderMemberId, name: authorName ?? p.authorName ?? "" } : null,
    mentions: kind === "note" ? (p.mentions ?? []) : [],
    event: kind === "system" ? (p.event ?? null) : null,
    createdAt: m.createdAt.toISOString(),
    sentAt: iso(m.sentAt),
    deliveredAt: iso(m.deliveredAt),
    readAt: iso(m.readAt),
    failedAt: iso(m.failedAt),
  };
}

/** The thread, newest first, keyset pages on (created_at, id) going back in time (`before`). */
export async function listThread(
  db: DbOrTx,
  member: OrgMember,
  conversationId: string,
  q: { limit: number; before?: string | undefined },
): Promise<{ items: ThreadItemDto[]; nextCursor: string | null }> {
  await loadVisible(db, member, conversationId);
  const before = decodeCursor(q.before, uuidKeyset);
  const rows = await db
    .select({
      m: messages,
      atIso: isoMicros(messages.createdAt),
      firstName: memberships.firstName,
      lastName: memberships.lastName,
    })
    .from(messages)
    .leftJoin(memberships, and(eq(memberships.orgId, messages.orgId), eq(memberships.id, messages.senderMemberId)))
    .where(
      and(
        eq(messages.orgId, member.orgId),
        eq(messages.conversationId, conversationId),
        before
          ? sql`(${messages.createdAt}, ${messages.id}) < (${before.at}::timestamptz, ${before.id}::uuid)`
          : undefined,
      ),
    )
    // NULLS LAST: the order of messages_thread_idx (see listConversations).
    .orderBy(sql`${messages.createdAt} desc nulls last`, sql`${messages.id} desc nulls last`)
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) =>
      threadItem(
        r.m,
        r.firstName !== null && r.lastName !== null ? nameOf({ firstName: r.firstName, lastName: r.lastName }) : null,
      ),
    ),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.atIso, id: last.m.id }) : null,
  };
}

// ---------------------------------------------------------------- thread lines

/** A system line in the thread (assigned, transferred, status…): never sent, not in the preview. */
/** A system line in the thread (assignment, status…); exported for automations. */
export async function systemLine(
  tx: DbOrTx,
  conv: ConversationRow,
  byMemberId: string | null,
  text: string,
  event: Record<string, unknown>,
  /** Before a message of the same transaction (which gets `now()`, the transaction's start). */
  beforeMessage = false,
): Promise<void> {
  await tx.insert(messages).values({
    ...(beforeMessage ? { createdAt: sql`now() - interval '1 microsecond'` } : {}),
    orgId: conv.orgId,
    conversationId: conv.id,
    channelId: conv.channelId,
    contactId: conv.contactId,
    direction: "out",
    kind: "system",
    type: "system",
    body: text,
    payload: { event },
    status: "sent",
    senderMemberId: byMemberId,
  });
}

const actingName = (member: OrgMember) => nameOf(member);

// ---------------------------------------------------------------- reply

function windowOpen(conv: ConversationRow, now = Date.now()): boolean {
  return conv.lastInboundAt !== null && now - conv.lastInboundAt.getTime() < SERVICE_WINDOW_MS;
}

/**
 * A reply, text or template: `chats:reply` (route) + §7.3 here. Queued with its `whatsapp.send`
 * job in one transaction; the conversation row is locked first, so parallel requests with one
 * clientMsgId queue behind each other and the later one finds the message the first stored.
 */
export async function reply(
  ctx: AppContext,
  member: OrgMember,
  by: Actor,
  conversationId: string,
  input: ReplyInput,
): Promise<{ message: ThreadItemDto; created: boolean }> {
  return ctx.db.transaction(async (tx) => {
    const { row: conv, settings } = await loadVisible(tx, member, conversationId, true);
    return replyIn(ctx, tx, member, by, conv, settings, input);
  });
}

/** The reply's rules and effects on a conversation already loaded (and locked) in `tx`. */
export async function replyIn(
  ctx: AppContext,
  tx: DbOrTx,
  member: OrgMember,
  by: Actor,
  conv: ConversationRow,
  settings: InboxRuleSettings,
  input: ReplyInput,
): Promise<{ message: ThreadItemDto; created: boolean }> {
  const conversationId = conv.id;
  {
    if (input.clientMsgId) {
      const [existing] = await tx
        .select()
        .from(messages)
        .where(and(eq(messages.orgId, member.orgId), eq(messages.clientMsgId, input.clientMsgId)));
      if (existing) {
        if (existing.conversationId !== conversationId || existing.senderMemberId !== member.memberId) {
          throw conflict("client_msg_id_used", "This clientMsgId was already used for another message.");
        }
        return { message: threadItem(existing, actingName(member)), created: false };
      }
    }
    if (!canReplyConversation(member, conv, settings)) {
      throw forbidden(
        "assigned_to_someone_else",
        "This conversation is assigned to somebody else; replying needs the chats:assign permission.",
        { assigneeMemberId: conv.assigneeMemberId },
      );
    }
    if (conv.status === "resolved") {
      throw conflict("conversation_resolved", "The conversation is resolved; reopen it to reply.");
    }
    // Templates may be sent at any time; text only inside the customer-service window.
    const template = input.template ? await templateContent(tx, member.orgId, conv.channelId, input.template) : null;
    if (!template && !windowOpen(conv)) {
      throw conflict(
        "window_closed",
        "The 24-hour customer-service window is closed: the customer has not written in the last 24 hours. Only a template can be sent.",
        { lastInboundAt: iso(conv.lastInboundAt) },
      );
    }
    if (conv.assigneeMemberId === null) {
      // Replying to an unassigned conversation takes it (DESIGN §7.3).
      await tx
        .update(conversations)
        .set({ assigneeMemberId: member.memberId, version: sql`${conversations.version} + 1`, updatedAt: new Date() })
        .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)));
      const who = actingName(member);
      await systemLine(
        tx,
        conv,
        member.memberId,
        `${who} took the conversation by replying`,
        {
          type: "assigned",
          to: { memberId: member.memberId, name: who },
          by: { memberId: member.memberId, name: who },
          via: "reply",
        },
        true,
      );
      await recordActivity(tx, by, {
        orgId: member.orgId,
        action: "conversation.assigned",
        target: { type: "conversation", id: conversationId },
        changes: { assigneeMemberId: { before: null, after: member.memberId }, via: { after: "reply" } },
      });
      await realtime.conversationAssigned(tx, {
        orgId: member.orgId,
        conversationId,
        from: null,
        to: member.memberId,
        by: { memberId: member.memberId, name: who },
      });
    }
    let message = await queueOutbound(ctx, tx, {
      orgId: member.orgId,
      conversationId,
      content: template ? template.content : { type: "text", text: input.text ?? "" },
      clientMsgId: input.clientMsgId ?? null,
      senderMemberId: member.memberId,
    });
    if (template) {
      // The thread and the list show the template as the customer reads it, not its name.
      [message] = (await tx
        .update(messages)
        .set({ body: template.text })
        .where(and(eq(messages.orgId, member.orgId), eq(messages.id, message.id)))
        .returning()) as [MessageRow];
      await tx
        .update(conversations)
        .set({ preview: template.text.slice(0, 200) })
        .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)));
    }
    return { message: threadItem(message, actingName(member)), created: true };
  }
}

// ---------------------------------------------------------------- notes

const MENTION = /@([\p{L}\p{N}._'-]+(?: [\p{L}\p{N}._'-]+)?)/gu;

/**
 * `@First Last` or `@First` (case-insensitive) names a member; the longest name wins, and
 * a first name shared by two members mentions neither (ambiguous). Unknown names stay text.
 */
export function resolveMentions(
  text: string,
  members: { id: string; firstName: string; lastName: string }[],
): string[] {
  const full = new Map<string, string[]>();
  const first = new Map<string, string[]>();
  for (const m of members) {
    const f = nameOf(m).toLowerCase();
    full.set(f, [...(full.get(f) ?? []), m.id]);
    const fn = m.firstName.trim().toLowerCase();
    if (fn) first.set(fn, [...(first.get(fn) ?? []), m.id]);
  }
  const out = new Set<string>();
  for (const match of text.matchAll(MENTION)) {
    const words = match[1]!.toLowerCase();
    const byFull = full.get(words);
    if (byFull?.length === 1) {
      out.add(byFull[0]!);
      continue;
    }
    const firstWord = words.split(" ")[0]!;
    const byFirst = first.get(firstWord);
    if (byFirst?.length === 1) out.add(byFirst[0]!);
  }
  return [...out].sort();
}

/** A private note (never sent to WhatsApp); `@mentions` resolved to member ids stored with it. */
export async function addNote(
  db: Db,
  member: OrgMember,
  by: Actor,
  conversationId: string,
  text: string,
): Promise<ThreadItemDto> {
  return db.transaction(async (tx) => {
    const { row: conv } = await loadVisible(tx, member, conversationId);
    const people = text.includes("@")
      ? await tx
          .select({ id: memberships.id, firstName: memberships.firstName, lastName: memberships.lastName })
          .from(memberships)
          .where(eq(memberships.orgId, member.orgId))
      : [];
    const mentions = resolveMentions(text, people);
    const [row] = await tx
      .insert(messages)
      .values({
        orgId: member.orgId,
        conversationId,
        channelId: conv.channelId,
        contactId: conv.contactId,
        direction: "out",
        kind: "note",
        type: "note",
        body: text,
        payload: { mentions, authorName: actingName(member) },
        status: "sent",
        senderMemberId: member.memberId,
      })
      .returning();
    // The activity record names the note, never its text (personal data stays in the thread).
    await recordActivity(tx, by, {
      orgId: member.orgId,
      action: "conversation.note_added",
      target: { type: "conversation", id: conversationId },
      changes: { noteId: { after: row!.id }, mentions: { after: mentions } },
    });
    await realtime.noteAdded(tx, {
      orgId: member.orgId,
      conversationId,
      assigneeMemberId: conv.assigneeMemberId,
      noteId: row!.id,
      mentions,
      by: { memberId: member.memberId, name: actingName(member) },
      text,
    });
    return threadItem(row!, actingName(member));
  });
}

// ---------------------------------------------------------------- status, tags, priority

const STATUS_WORDS: Record<string, string> = {
  open: "reopened",
  pending: "marked pending",
  snoozed: "snoozed",
  resolved: "resolved",
};

export async function updateConversation(
  db: Db,
  member: OrgMember,
  by: Actor,
  conversationId: string,
  input: PatchConversationInput,
): Promise<ConversationDto> {
  try {
    return await db.transaction(async (tx) => {
      const { row: conv } = await loadVisible(tx, member, conversationId, true);
      const status = input.status ?? conv.status;
      let snoozedUntil: Date | null = conv.snoozedUntil;
      if (status === "snoozed") {
        const until =
          input.snoozedUntil !== undefined ? input.snoozedUntil : (conv.snoozedUntil?.toISOString() ?? null);
        if (!until || new Date(until).getTime() <= Date.now()) {
          throw badRequest("snooze_needs_future_time", "Snoozing needs snoozedUntil, a time in the future.", [
            { path: "snoozedUntil", message: "A future time is required.", in: "body" },
          ]);
        }
        snoozedUntil = new Date(until);
      } else {
        if (input.snoozedUntil) {
          throw badRequest("snooze_needs_snoozed_status", "snoozedUntil goes with status snoozed.", [
            { path: "snoozedUntil", message: "Only with status snoozed.", in: "body" },
          ]);
        }
        snoozedUntil = null;
      }
      if (conv.status === "resolved" && status !== "resolved") {
        const [live] = await tx
          .select({ id: conversations.id })
          .from(conversations)
          .where(
            and(
              eq(conversations.orgId, member.orgId),
              eq(conversations.channelId, conv.channelId),
              eq(conversations.contactId, conv.contactId),
              ne(conversations.status, "resolved"),
            ),
          );
        if (live) throw liveExists(live.id);
      }
      let tagChange: { before: string[]; after: string[] } | null = null;
      if (input.tagIds) {
        const wanted = [...new Set(input.tagIds)].sort();
        if (wanted.length) {
          const found = await tx
            .select({ id: tags.id })
            .from(tags)
            .where(and(eq(tags.orgId, member.orgId), inArray(tags.id, wanted)));
          const missing = wanted.filter((id) => !found.some((f) => f.id === id));
          if (missing.length) {
            throw badRequest("unknown_tag", `No such tag in this organization: ${missing[0]}.`, [
              { path: "tagIds", message: "Unknown tag.", in: "body" },
            ]);
          }
        }
        const before = (
          await tx
            .select({ id: conversationTags.tagId })
            .from(conversationTags)
            .where(and(eq(conversationTags.orgId, member.orgId), eq(conversationTags.conversationId, conversationId)))
        )
          .map((r) => r.id)
          .sort();
        if (JSON.stringify(before) !== JSON.stringify(wanted)) {
          tagChange = { before, after: wanted };
          await tx
            .delete(conversationTags)
            .where(and(eq(conversationTags.orgId, member.orgId), eq(conversationTags.conversationId, conversationId)));
          if (wanted.length) {
            await tx
              .insert(conversationTags)
              .values(wanted.map((tagId) => ({ orgId: member.orgId, conversationId, tagId })));
          }
        }
      }
      const fieldChanges = diff(
        { status: conv.status, snoozedUntil: iso(conv.snoozedUntil), priority: conv.priority },
        {
          status,
          snoozedUntil: iso(snoozedUntil),
          ...(input.priority !== undefined ? { priority: input.priority } : {}),
        },
      );
      if (!fieldChanges && !tagChange) return (await toDtos(tx, member.orgId, [conv]))[0]!;
      const [updated] = await tx
        .update(conversations)
        .set({
          status,
          snoozedUntil,
          ...(input.priority !== undefined ? { priority: input.priority } : {}),
          version: sql`${conversations.version} + 1`,
          updatedAt: new Date(),
        })
        .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)))
        .returning();
      const who = actingName(member);
      if (status !== conv.status || (status === "snoozed" && fieldChanges?.snoozedUntil)) {
        const until = status === "snoozed" && snoozedUntil ? ` until ${snoozedUntil.toISOString()}` : "";
        await systemLine(tx, conv, member.memberId, `${STATUS_WORDS[status]}${until} by ${who}`, {
          type: "status_changed",
          from: conv.status,
          to: status,
          snoozedUntil: iso(snoozedUntil),
          by: { memberId: member.memberId, name: who },
        });
      }
      const changes = { ...(fieldChanges ?? {}), ...(tagChange ? { tagIds: tagChange } : {}) };
      await recordActivity(tx, by, {
        orgId: member.orgId,
        action: fieldChanges?.status ? "conversation.status_changed" : "conversation.updated",
        target: { type: "conversation", id: conversationId },
        changes,
      });
      await realtime.conversationUpdated(tx, { orgId: member.orgId, conversationId });
      return (await toDtos(tx, member.orgId, [updated!]))[0]!;
    });
  } catch (err) {
    if (!(err instanceof AppError) && pgCode(err) === "23505") throw liveExists(null);
    throw err;
  }
}

const liveExists = (id: string | null) =>
  conflict(
    "live_conversation_exists",
    "This contact already has an open conversation on this number; continue there.",
    id ? { conversationId: id } : {},
  );

// ---------------------------------------------------------------- assign and transfer

async function assertAssignable(tx: DbOrTx, orgId: string, memberId: string): Promise<string> {
  const target = (await memberAccessOf(tx, orgId, [memberId])).get(memberId);
  if (!target) {
    throw badRequest("unknown_member", `No such member in this organization: ${memberId}.`, [
      { path: "memberId", message: "Unknown member.", in: "body" },
    ]);
  }
  if (!holdsChatRead(target)) {
    throw conflict(
      "assignee_cannot_read_chats",
      "This member cannot read conversations (needs chats:read_assigned or chats:read_all).",
      { memberId },
    );
  }
  return target.name;
}

/**
 * Assign, reassign or unassign (§7.3: `chats:assign`, or taking an unassigned one for oneself
 * with chats:read_all + chats:reply). Compare-and-set on the assignee under the row lock: the
 * later of two concurrent assignments finds another assignee than it expected and answers
 * 409 `conversation_changed`.
 */
export async function assignConversation(
  db: Db,
  member: OrgMember,
  by: Actor,
  conversationId: string,
  input: AssignInput,
): Promise<ConversationDto> {
  // What the caller is deciding on: the assignee given, or as read before the transaction.
  const expected =
    input.expectedAssigneeMemberId !== undefined
      ? input.expectedAssigneeMemberId
      : (await loadVisible(db, member, conversationId)).row.assigneeMemberId;
  return db.transaction(async (tx) => {
    const { row: conv } = await loadVisible(tx, member, conversationId, true);
    if (conv.assigneeMemberId !== expected) throw changed(conv);
    if (!canAssignConversation(member, conv, input.memberId)) {
      throw forbidden(
        "assign_not_allowed",
        "Assigning conversations needs chats:assign; without it one may only take an unassigned conversation for oneself.",
      );
    }
    const hasAssign = member.isOwner || member.permissions.has("chats:assign");
    if (input.teamId !== undefined && !hasAssign) {
      throw forbidden("assign_not_allowed", "Setting a conversation's team needs chats:assign.");
    }
    const toName = input.memberId ? await assertAssignable(tx, member.orgId, input.memberId) : null;
    let teamName: string | null = null;
    if (input.teamId) teamName = (await assertTeam(tx, member.orgId, input.teamId)).name;
    const teamId = input.teamId !== undefined ? input.teamId : conv.teamId;
    if (conv.assigneeMemberId === input.memberId && conv.teamId === teamId) {
      return (await toDtos(tx, member.orgId, [conv]))[0]!;
    }
    const [updated] = await tx
      .update(conversations)
      .set({
        assigneeMemberId: input.memberId,
        teamId,
        version: sql`${conversations.version} + 1`,
        updatedAt: new Date(),
      })
      .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)))
      .returning();
    const who = actingName(member);
    const byRef = { memberId: member.memberId, name: who };
    if (conv.assigneeMemberId !== input.memberId) {
      const note = input.note ? `: ${input.note}` : "";
      const text = input.memberId ? `assigned to ${toName} by ${who}${note}` : `unassigned by ${who}${note}`;
      await systemLine(tx, conv, member.memberId, text, {
        type: input.memberId ? "assigned" : "unassigned",
        from: conv.assigneeMemberId,
        to: input.memberId ? { memberId: input.memberId, name: toName } : null,
        by: byRef,
        ...(input.note ? { note: input.note } : {}),
      });
    }
    if (teamId !== conv.teamId) {
      await systemLine(
        tx,
        conv,
        member.memberId,
        teamId ? `moved to team ${teamName} by ${who}` : `team removed by ${who}`,
        {
          type: "team_changed",
          from: conv.teamId,
          to: teamId ? { id: teamId, name: teamName } : null,
          by: byRef,
        },
      );
    }
    await recordActivity(tx, by, {
      orgId: member.orgId,
      action: "conversation.assigned",
      target: { type: "conversation", id: conversationId },
      changes: diff(
        { assigneeMemberId: conv.assigneeMemberId, teamId: conv.teamId },
        { assigneeMemberId: input.memberId, teamId },
      ),
    });
    await realtime.conversationAssigned(tx, {
      orgId: member.orgId,
      conversationId,
      from: conv.assigneeMemberId,
      to: input.memberId,
      by: byRef,
      teamChanged: teamId !== conv.teamId,
    });
    return (await toDtos(tx, member.orgId, [updated!]))[0]!;
  });
}

/** The assignee hands the conversation to a member who can read chats, with a note in the thread. */
export async function transferConversation(
  db: Db,
  member: OrgMember,
  by: Actor,
  conversationId: string,
  input: TransferInput,
): Promise<ConversationDto> {
  return db.transaction(async (tx) => {
    const { row: conv } = await loadVisible(tx, member, conversationId, true);
    if (conv.assigneeMemberId !== member.memberId) {
      throw forbidden("not_assignee", "Only the conversation's assignee can transfer it.");
    }
    if (input.memberId === member.memberId) {
      throw badRequest("transfer_to_self", "The conversation is already yours.", [
        { path: "memberId", message: "Choose another member.", in: "body" },
      ]);
    }
    const toName = await assertAssignable(tx, member.orgId, input.memberId);
    const [updated] = await tx
      .update(conversations)
      .set({ assigneeMemberId: input.memberId, version: sql`${conversations.version} + 1`, updatedAt: new Date() })
      .where(and(eq(conversations.orgId, member.orgId), eq(conversations.id, conversationId)))
      .returning();
    const who = actingName(member);
    await systemLine(
      tx,
      conv,
      member.memberId,
      `transferred to ${toName} by ${who}${input.note ? `: ${input.note}` : ""}`,
      {
        type: "transferred",
        from: member.memberId,
        to: { memberId: input.memberId, name: toName },
        by: { memberId: member.memberId, name: who },
        ...(input.note ? { note: input.note } : {}),
      },
    );
    await recordActivity(tx, by, {
      orgId: member.orgId,
      action: "conversation.transferred",
      target: { type: "conversation", id: conversationId },
      changes: { assigneeMemberId: { before: member.memberId, after: input.memberId } },
    });
    await realtime.conversationAssigned(tx, {
      orgId: member.orgId,
      conversationId,
      from: member.memberId,
      to: input.memberId,
      by: { memberId: member.memberId, name: who },
    });
    return (await toDtos(tx, member.orgId, [updated!]))[0]!;
  });
}
