import { sql } from "drizzle-orm";
import { foreignKey, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import type { ImportErrorCode } from "../../../shared/schemas/contacts.js";
import { ts } from "./columns.js";
import { memberships, orgIdColumn } from "./orgs.js";

/**
 * The people the business talks to. `phone` is E.164 (`+15551234567`) and unique per
 * organization; `wa_id` is what WhatsApp calls the same person (digits, no `+`), set when
 * the contact writes in, and may differ from the phone (Brazil/Mexico legacy numbers).
 */
export const contacts = pgTable(
  "contacts",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    phone: text("phone").notNull(),
    waId: text("wa_id"),
    name: text("name"),
    attributes: jsonb("attributes").$type<Record<string, string>>().notNull().default({}),
    optedOutAt: ts("opted_out_at"),
    optOutSource: text("opt_out_source"),
    lastMessageAt: ts("last_message_at"),
    createdByMemberId: uuid("created_by_member_id"),
    updatedByMemberId: uuid("updated_by_member_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("contacts_org_phone_key").on(t.orgId, t.phone),
    uniqueIndex("contacts_org_wa_id_key").on(t.orgId, t.waId).where(sql`${t.waId} is not null`),
    // Keyset pages: by name, newest first, by last message. The name key is in collation "C" (byte
    // order, the same on every server whatever its locale), so the one index serves the A→Z
    // order and the name prefix search (`like 'abc%'` uses a "C" btree) together.
    index("contacts_org_name_idx").on(t.orgId, sql`lower(coalesce(${t.name}, '')) collate "C"`, t.id),
    // Ascending: read backwards it gives `created_at desc, id desc` (NULLS FIRST, the default of
    // DESC that an index declared DESC NULLS LAST would not match, leaving a sort of every row).
    index("contacts_org_created_idx").on(t.orgId, t.createdAt, t.id),
    index("contacts_org_last_message_idx").on(
      t.orgId,
      sql`coalesce(${t.lastMessageAt}, '-infinity'::timestamptz)`,
      t.id,
    ),
    // The search indexes (phone prefix in any collation, name prefix) carry INCLUDE columns so a
    // selective search is ranked by an index-only scan: they are in the custom migration 0006
    // (Drizzle cannot write INCLUDE). pg_trgm is not on PGlite.
  ],
);

/** Teams members work in; a member may be in several. */
export const teams = pgTable(
  "teams",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("teams_org_name_key").on(t.orgId, sql`lower(${t.name})`),
  ],
);

export const teamMembers = pgTable(
  "team_members",
  {
    orgId: uuid("org_id").notNull(),
    teamId: uuid("team_id").notNull(),
    memberId: uuid("member_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.teamId, t.memberId] }),
    foreignKey({ columns: [t.orgId, t.teamId], foreignColumns: [teams.orgId, teams.id] }).onDelete("cascade"),
    // Removing a member removes them from their teams.
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [memberships.orgId, memberships.id] }).onDelete(
      "cascade",
    ),
    index("team_members_member_idx").on(t.orgId, t.memberId),
  ],
);

/** Labels for contacts (and, later, conversations). A tag with a team is team-specific. */
export const tags = pgTable(
  "tags",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    name: text("name").notNull(),
    color: text("color").notNull().default("#64748b"),
    teamId: uuid("team_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("tags_org_name_key").on(t.orgId, sql`lower(${t.name})`),
    index("tags_org_team_idx").on(t.orgId, t.teamId),
    // The foreign key to teams (org_id, team_id) ON DELETE SET NULL (team_id) is in the custom
    // migration after this one: Drizzle cannot express a column list for SET NULL.
  ],
);

export const contactTags = pgTable(
  "contact_tags",
  {
    orgId: uuid("org_id").notNull(),
    contactId: uuid("contact_id").notNull(),
    tagId: uuid("tag_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.contactId, t.tagId] }),
    foreignKey({ columns: [t.orgId, t.contactId], foreignColumns: [contacts.orgId, contacts.id] }).onDelete("cascade"),
    foreignKey({ columns: [t.orgId, t.tagId], foreignColumns: [tags.orgId, tags.id] }).onDelete("cascade"),
    index("contact_tags_tag_idx").on(t.orgId, t.tagId, t.contactId),
  ],
);

/** Static named lists of contacts. */
export const contactLists = pgTable(
  "contact_lists",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("contact_lists_org_name_key").on(t.orgId, sql`lower(${t.name})`),
  ],
);

export const listContacts = pgTable(
  "list_contacts",
  {
    orgId: uuid("org_id").notNull(),
    listId: uuid("list_id").notNull(),
    contactId: uuid("contact_id").notNull(),
    addedAt: ts("added_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.listId, t.contactId] }),
    foreignKey({ columns: [t.orgId, t.listId], foreignColumns: [contactLists.orgId, contactLists.id] }).onDelete(
      "cascade",
    ),
    foreignKey({ columns: [t.orgId, t.contactId], foreignColumns: [contacts.orgId, contacts.id] }).onDelete("cascade"),
    index("list_contacts_contact_idx").on(t.orgId, t.contactId),
  ],
);

/** A CSV import: the file is kept until it is processed; progress is committed with each chunk. */
export const contactImports = pgTable(
  "contact_imports",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    state: text("state", { enum: ["queued", "running", "completed", "failed"] })
      .notNull()
      .default("queued"),
    total: integer("total").notNull().default(0),
    /** Data rows handled so far; a resumed job starts after them, so no row is imported twice. */
    processed: integer("processed").notNull().default(0),
    created: integer("created").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    errors: jsonb("errors")
      .$type<{ row: number; code?: ImportErrorCode; params?: Record<string, string | number>; message: string }[]>()
      .notNull()
      .default([]),
    /** The CSV text until the import finishes (then null). */
    csv: text("csv"),
    /** ISO 3166 country for numbers written without the international prefix (null: all must have one). */
    country: text("country"),
    createdByMemberId: uuid("created_by_member_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
    finishedAt: ts("finished_at"),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // One import at a time per organization: two would upsert the same phones in opposite orders.
    uniqueIndex("contact_imports_one_active_key").on(t.orgId).where(sql`${t.state} in ('queued', 'running')`),
    index("contact_imports_org_created_idx").on(t.orgId, t.createdAt, t.id),
  ],
);
