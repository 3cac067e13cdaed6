import {
  boolean,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { AutomationAction, AutomationConditions, AutomationTrigger } from "../../../shared/schemas/automations.js";
import { ts } from "./columns.js";
import { orgIdColumn } from "./orgs.js";
import { conversations, messages } from "./whatsapp.js";

/**
 * Automations (DESIGN §7.5): a trigger, conditions and actions as validated JSON
 * (src/shared/schemas/automations.ts). Enabled ones run by `priority` (lower first), then age.
 */
export const automations = pgTable(
  "automations",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    name: text("name").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    priority: integer("priority").notNull().default(100),
    trigger: jsonb("trigger").$type<AutomationTrigger>().notNull(),
    conditions: jsonb("conditions").$type<AutomationConditions>().notNull(),
    actions: jsonb("actions").$type<AutomationAction[]>().notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index("automations_org_order_idx").on(t.orgId, t.priority, t.createdAt),
  ],
);

export interface AutomationActionResult {
  type: AutomationAction["type"];
  ok: boolean;
  /** What was done ("queued message …", "already tagged") or why not. */
  detail?: string;
  /** A problem code when it failed (window_closed, template_not_approved, …). */
  error?: string;
  messageId?: string;
}

/**
 * One run of an automation for one triggering inbound message: unique on (automation, message),
 * so a retried job or a redelivered webhook never runs it twice.
 */
export const automationRuns = pgTable(
  "automation_runs",
  {
    orgId: uuid("org_id").notNull(),
    id: uuid("id").notNull().defaultRandom(),
    automationId: uuid("automation_id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    messageId: uuid("message_id").notNull(),
    /** ok: every action done; error: at least one action failed. */
    status: text("status").$type<"ok" | "error">().notNull(),
    results: jsonb("results").$type<AutomationActionResult[]>().notNull(),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.automationId], foreignColumns: [automations.orgId, automations.id] }).onDelete(
      "cascade",
    ),
    foreignKey({
      columns: [t.orgId, t.conversationId],
      foreignColumns: [conversations.orgId, conversations.id],
    }).onDelete("cascade"),
    foreignKey({ columns: [t.orgId, t.messageId], foreignColumns: [messages.orgId, messages.id] }).onDelete("cascade"),
    uniqueIndex("automation_runs_once_key").on(t.orgId, t.automationId, t.messageId),
    index("automation_runs_list_idx").on(t.orgId, t.automationId, t.createdAt.desc(), t.id.desc()),
  ],
);
