import { sql } from "drizzle-orm";
import { foreignKey, index, integer, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import type { PresenceStatusValue as PresenceStatus } from "../../../shared/schemas/presence.js";
import { ts } from "./columns.js";
import { memberships, organizations } from "./orgs.js";

/**
 * A member's availability for assignment (DESIGN §7.1 `/me/presence`, §7.4): set by the member
 * (`online` / `busy` / `offline`); no row reads as offline. `capacity` overrides the workspace's
 * `assignment.defaultCapacity` for this member (null: the default); set with `members:update`.
 */
export const memberPresence = pgTable(
  "member_presence",
  {
    orgId: uuid("org_id").notNull(),
    memberId: uuid("member_id").notNull(),
    status: text("status").$type<PresenceStatus>().notNull().default("offline"),
    capacity: integer("capacity"),
    /** When the status last changed. */
    statusChangedAt: ts("status_changed_at").notNull().defaultNow(),
    /**
     * When an event stream of the member was last known open on some instance: set when one opens,
     * refreshed while any is open, set when the instance's last one closes (automatic offline).
     */
    streamSeenAt: ts("stream_seen_at"),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.memberId] }),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [memberships.orgId, memberships.id] }).onDelete(
      "cascade",
    ),
    // The candidates of an assignment: the organization's online members.
    index("member_presence_online_idx").on(t.orgId).where(sql`${t.status} = 'online'`),
    // The stale-stream sweep (presence/auto-offline.ts): available members by when a stream was last seen.
    index("member_presence_stream_seen_idx")
      .on(t.streamSeenAt)
      .where(sql`${t.status} in ('online', 'busy') and ${t.streamSeenAt} is not null`),
  ],
);

/**
 * Per organization: the lock every automatic assignment takes (a row lock on this row, so two
 * instances assign one after another) and the round-robin position (the member assigned last).
 */
export const assignmentState = pgTable("assignment_state", {
  orgId: uuid("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  lastMemberId: uuid("last_member_id"),
  assignedCount: integer("assigned_count").notNull().default(0),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});
