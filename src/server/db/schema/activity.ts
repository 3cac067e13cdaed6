import { sql } from "drizzle-orm";
import { bigint, index, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { ts } from "./columns.js";
import { orgIdColumn } from "./orgs.js";

export type ActivityChanges = Record<string, { before?: unknown; after?: unknown }>;

/**
 * Append-only activity log. Written in the same transaction as the change it
 * describes; no API updates or deletes it (only the retention job deletes).
 * Pages are read newest first by (at, id) within one organization.
 */
export const activity = pgTable(
  "activity",
  {
    orgId: orgIdColumn(),
    id: bigint("id", { mode: "number" }).generatedAlwaysAsIdentity(),
    at: ts("at").notNull().defaultNow(),
    actorType: text("actor_type", { enum: ["user", "system", "api_key"] }).notNull(),
    actorId: uuid("actor_id"),
    actorName: text("actor_name").notNull(),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id"),
    targetLabel: text("target_label"),
    changes: jsonb("changes").$type<ActivityChanges>(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index("activity_org_at_idx").on(t.orgId, t.at.desc(), t.id.desc()),
    index("activity_org_actor_idx").on(t.orgId, t.actorId, t.at.desc(), t.id.desc()),
    index("activity_org_action_idx").on(t.orgId, t.action, t.at.desc(), t.id.desc()),
    // Prefix filters (`member.`, `member.*`) match on the part before the first dot, so
    // "every member.* action, newest first" is an ordered index range, not a sort.
    index("activity_org_action_group_idx").on(t.orgId, sql`split_part(${t.action}, '.', 1)`, t.at.desc(), t.id.desc()),
    index("activity_org_target_idx").on(t.orgId, t.targetType, t.targetId, t.at.desc(), t.id.desc()),
  ],
);
