import { sql } from "drizzle-orm";
import {
  bigserial,
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
import { ts } from "./columns.js";
import { orgIdColumn } from "./orgs.js";
import { waChannels } from "./whatsapp.js";

export type BroadcastStatus = "draft" | "scheduled" | "sending" | "paused" | "completed" | "cancelled" | "failed";

/** One variable of a broadcast's template: a contact field, a contact attribute, or a fixed text. */
export type VariableSource =
  | { field: "name" | "first_name" | "phone"; fallback?: string }
  | { attribute: string; fallback?: string }
  | { text: string };

export interface BroadcastAudience {
  listIds?: string[];
  tagIds?: string[];
  contactIds?: string[];
}

/**
 * A broadcast (campaign): a template of one channel sent to an audience of contacts.
 * `status` moves by compare-and-set (`version`); `lease_owner` / `lease_until` say which worker
 * sends it now (one at a time; a lapsed lease is taken over after a crash). `status_reason` says
 * why a broadcast paused or failed (Meta paused the template, …).
 */
export const broadcasts = pgTable(
  "broadcasts",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    name: text("name").notNull(),
    channelId: uuid("channel_id").notNull(),
    templateId: uuid("template_id"),
    variables: jsonb("variables").$type<Record<string, VariableSource>>().notNull().default({}),
    audience: jsonb("audience").$type<BroadcastAudience>().notNull().default({}),
    scheduledAt: ts("scheduled_at"),
    status: text("status").$type<BroadcastStatus>().notNull().default("draft"),
    statusReason: text("status_reason"),
    version: integer("version").notNull().default(0),
    /** At freeze: contacts left out because they opted out, and references to a contact already in. */
    excludedOptedOut: integer("excluded_opted_out").notNull().default(0),
    excludedDuplicates: integer("excluded_duplicates").notNull().default(0),
    leaseOwner: text("lease_owner"),
    leaseUntil: ts("lease_until"),
    createdByMemberId: uuid("created_by_member_id"),
    updatedByMemberId: uuid("updated_by_member_id"),
    sentByMemberId: uuid("sent_by_member_id"),
    startedAt: ts("started_at"),
    finishedAt: ts("finished_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index("broadcasts_org_created_idx").on(t.orgId, t.createdAt, t.id),
    index("broadcasts_org_template_idx").on(t.orgId, t.templateId),
    foreignKey({
      columns: [t.orgId, t.channelId],
      foreignColumns: [waChannels.orgId, waChannels.id],
      name: "broadcasts_channel_fk",
    }).onDelete("cascade"),
    // No foreign key to the template: deleting a template must not be refused (or null the org id
    // of a composite key); a broadcast whose template is gone cannot be sent (checked on send).
  ],
);

export type RecipientStatus = "queued" | "sending" | "sent" | "delivered" | "read" | "failed" | "cancelled";

/**
 * The frozen audience of a broadcast: one row per contact with its rendered variables, claimed
 * in batches (`FOR UPDATE SKIP LOCKED`) by the sender. `id` travels as `biz_opaque_callback_data`,
 * so status webhooks find the row even when the send's answer (the wamid) was lost.
 * `sending` = claimed, the request may be in flight; statuses only move forward.
 */
export const broadcastRecipients = pgTable(
  "broadcast_recipients",
  {
    orgId: uuid("org_id").notNull(),
    id: uuid("id").notNull().defaultRandom(),
    broadcastId: uuid("broadcast_id").notNull(),
    /** Claim order. */
    seq: bigserial("seq", { mode: "number" }).notNull(),
    channelId: uuid("channel_id").notNull(),
    contactId: uuid("contact_id").notNull(),
    /** wa_id or the phone's digits, as frozen. */
    recipient: text("recipient").notNull(),
    contactName: text("contact_name"),
    variables: jsonb("variables").$type<Record<string, string>>().notNull().default({}),
    status: text("status").$type<RecipientStatus>().notNull().default("queued"),
    claimOwner: text("claim_owner"),
    attempts: integer("attempts").notNull().default(0),
    wamid: text("wamid"),
    errorCode: integer("error_code"),
    errorTitle: text("error_title"),
    sentAt: ts("sent_at"),
    deliveredAt: ts("delivered_at"),
    readAt: ts("read_at"),
    failedAt: ts("failed_at"),
    repliedAt: ts("replied_at"),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("broadcast_recipients_contact_key").on(t.orgId, t.broadcastId, t.contactId),
    index("broadcast_recipients_page_idx").on(t.orgId, t.broadcastId, t.seq),
    index("broadcast_recipients_queued_idx")
      .on(t.orgId, t.broadcastId, t.seq)
      .where(sql`${t.status} in ('queued', 'sending')`),
    index("broadcast_recipients_wamid_idx").on(t.orgId, t.wamid).where(sql`${t.wamid} is not null`),
    index("broadcast_recipients_contact_idx").on(t.orgId, t.contactId),
    foreignKey({
      columns: [t.orgId, t.broadcastId],
      foreignColumns: [broadcasts.orgId, broadcasts.id],
      name: "broadcast_recipients_broadcast_fk",
    }).onDelete("cascade"),
  ],
);
