import { boolean, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { AssignmentSettings, BusinessHours } from "../../../shared/schemas/settings.js";
import { organizations } from "./orgs.js";

/**
 * Workspace settings, one row per organization, created on first save (an organization without
 * a row reads the defaults of src/shared/schemas/settings.ts). Columns rather than one JSON
 * blob for what queries filter on; the nested shapes validated by the shared Zod schema.
 */
export const workspaceSettings = pgTable("workspace_settings", {
  orgId: uuid("org_id")
    .primaryKey()
    .references(() => organizations.id, { onDelete: "cascade" }),
  timezone: text("timezone").notNull(),
  businessHours: jsonb("business_hours").$type<BusinessHours>().notNull(),
  operatorsSeeUnassigned: boolean("operators_see_unassigned").notNull(),
  assignment: jsonb("assignment").$type<AssignmentSettings>().notNull(),
  defaultLanguage: text("default_language").notNull(),
  /** Bumped on every save: a PATCH may carry `If-Match`-like `version` to refuse a lost update. */
  version: integer("version").notNull().default(1),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedBy: uuid("updated_by"),
});
