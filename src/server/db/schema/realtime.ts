import { sql } from "drizzle-orm";
import { bigserial, boolean, foreignKey, index, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { ts } from "./columns.js";
import { memberships, orgIdColumn } from "./orgs.js";

/**
 * The durable real-time event log (DESIGN §7.6): one row per change, written in the change's
 * transaction (src/server/modules/events/publish.ts), read by every instance after the commit's
 * NOTIFY and by reconnecting streams (`Last-Event-ID`). The id (a sequence shared by all
 * organizations) is the SSE id. The conversation's assignee and team as they were after the
 * change are copied in, so each stream filters an event without a query. Pruned after 24 hours.
 */
export const events = pgTable(
  "events",
  {
    orgId: orgIdColumn(),
    id: bigserial("id", { mode: "number" }).notNull(),
    kind: text("kind").notNull(),
    conversationId: uuid("conversation_id"),
    assigneeMemberId: uuid("assignee_member_id"),
    teamId: uuid("team_id"),
    /** `conversation.assigned` away from a member: that member hears of it (ids only). */
    previousAssigneeMemberId: uuid("previous_assignee_member_id"),
    /** `notification.created`: the one member it is for. */
    recipientMemberId: uuid("recipient_member_id"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.id] }), index("events_org_created_idx").on(t.orgId, t.createdAt)],
);

export type NotificationEmailState = "none" | "pending" | "queued";

/**
 * A member's in-app notification (the bell) and, per their preferences, its email: `pending`
 * until one instance claims it and puts the mail in the outbox (`queued`), in one transaction.
 */
export const notifications = pgTable(
  "notifications",
  {
    orgId: uuid("org_id").notNull(),
    id: uuid("id").notNull().defaultRandom(),
    memberId: uuid("member_id").notNull(),
    kind: text("kind").notNull(),
    conversationId: uuid("conversation_id"),
    /** What the bell shows: names as they were (actor, contact, broadcast), ids. */
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    /** Shown in the bell (the member's in-app preference for the kind). */
    inApp: boolean("in_app").notNull().default(true),
    emailState: text("email_state").$type<NotificationEmailState>().notNull().default("none"),
    readAt: ts("read_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [memberships.orgId, memberships.id] }).onDelete(
      "cascade",
    ),
    index("notifications_member_idx").on(t.orgId, t.memberId, t.createdAt, t.id),
    index("notifications_unread_idx").on(t.orgId, t.memberId).where(sql`${t.readAt} is null and ${t.inApp}`),
    index("notifications_email_pending_idx").on(t.orgId, t.createdAt).where(sql`${t.emailState} = 'pending'`),
  ],
);
