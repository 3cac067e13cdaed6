import { sql } from "drizzle-orm";
import { boolean, foreignKey, index, integer, pgTable, primaryKey, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { ts } from "./columns.js";
import { users } from "./users.js";

export const organizations = pgTable("organizations", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull(),
  logoUrl: text("logo_url"),
  defaultLanguage: text("default_language").notNull().default("en"),
  timezone: text("timezone").notNull().default("UTC"),
  requireTwoFactor: boolean("require_two_factor").notNull().default(false),
  /** Seats; null = unlimited. Pending invitations count against it. */
  memberLimit: integer("member_limit"),
  activityRetentionDays: integer("activity_retention_days").notNull().default(365),
  createdAt: ts("created_at").notNull().defaultNow(),
  updatedAt: ts("updated_at").notNull().defaultNow(),
});

/** The `org_id` that leads a table's key: its organization's rows go when the organization does. */
export const orgIdColumn = () =>
  uuid("org_id")
    .notNull()
    .references(() => organizations.id, { onDelete: "cascade" });

export const memberships = pgTable(
  "memberships",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    isOwner: boolean("is_owner").notNull().default(false),
    /** How the organization names this member; starts as the user's profile name. */
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    joinedAt: ts("joined_at").notNull().defaultNow(),
    lastActiveAt: ts("last_active_at"),
    invitedByUserId: uuid("invited_by_user_id").references(() => users.id, { onDelete: "set null" }),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("memberships_org_user_key").on(t.orgId, t.userId),
    // Exactly one owner per organization, enforced by the database.
    uniqueIndex("memberships_one_owner_key").on(t.orgId).where(sql`${t.isOwner}`),
    index("memberships_user_idx").on(t.userId),
    // Member list pages (keyset on sort key + id): by name, by join date, by last activity.
    index("memberships_org_name_idx").on(t.orgId, sql`lower(${t.firstName} || ' ' || ${t.lastName})`, t.id),
    index("memberships_org_joined_idx").on(t.orgId, t.joinedAt.desc(), t.id.desc()),
    // Read backwards for "most recently active first"; never-active members sort last.
    index("memberships_org_last_active_idx").on(
      t.orgId,
      sql`coalesce(${t.lastActiveAt}, '-infinity'::timestamptz)`,
      t.id,
    ),
  ],
);

/**
 * Roles of an organization: the seven system roles (rows with is_system, their
 * permissions resolved from the shared catalogue in code) and custom roles.
 * System rows exist so that member_roles can reference every role by foreign key.
 */
export const roles = pgTable(
  "roles",
  {
    orgId: orgIdColumn(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    isSystem: boolean("is_system").notNull().default(false),
    /** Custom roles only; empty for system roles. */
    permissions: text("permissions").array().notNull().default(sql`'{}'::text[]`),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("roles_org_name_key").on(t.orgId, sql`lower(${t.name})`),
  ],
);

export const memberRoles = pgTable(
  "member_roles",
  {
    orgId: uuid("org_id").notNull(),
    memberId: uuid("member_id").notNull(),
    roleId: text("role_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.memberId, t.roleId] }),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [memberships.orgId, memberships.id] }).onDelete(
      "cascade",
    ),
    // Restrict: a role that members hold cannot disappear under them.
    foreignKey({ columns: [t.orgId, t.roleId], foreignColumns: [roles.orgId, roles.id] }).onDelete("restrict"),
    index("member_roles_role_idx").on(t.orgId, t.roleId),
  ],
);

export const invitations = pgTable(
  "invitations",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    email: text("email").notNull(),
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    roleIds: text("role_ids").array().notNull().default(sql`'{}'::text[]`),
    /** SHA-256 of the current link's token; resend replaces it, so the old link dies. */
    tokenHash: text("token_hash").notNull(),
    /** `expired` is written only when a new invitation replaces an expired pending one; otherwise expiry is read from expires_at. */
    status: text("status", { enum: ["pending", "accepted", "declined", "revoked", "expired"] })
      .notNull()
      .default("pending"),
    expiresAt: ts("expires_at").notNull(),
    invitedByUserId: uuid("invited_by_user_id").references(() => users.id, { onDelete: "set null" }),
    invitedByName: text("invited_by_name").notNull(),
    sendCount: integer("send_count").notNull().default(1),
    lastSentAt: ts("last_sent_at").notNull().defaultNow(),
    acceptedByUserId: uuid("accepted_by_user_id").references(() => users.id, { onDelete: "set null" }),
    respondedAt: ts("responded_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("invitations_token_hash_key").on(t.tokenHash),
    uniqueIndex("invitations_one_pending_key").on(t.orgId, t.email).where(sql`${t.status} = 'pending'`),
    index("invitations_org_created_idx").on(t.orgId, t.createdAt),
    // Invitation list pages, newest first, optionally by status.
    index("invitations_org_list_idx").on(t.orgId, t.createdAt.desc(), t.id.desc()),
    index("invitations_org_status_list_idx").on(t.orgId, t.status, t.createdAt.desc(), t.id.desc()),
  ],
);
