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
import { memberships, orgIdColumn } from "./orgs.js";
import { contacts, tags } from "./workspace.js";

/**
 * A WhatsApp Business number connected through the Cloud API (`cloud`) or the built-in fake
 * Graph API (`simulator`, never in production). The access token and app secret are stored
 * encrypted (src/server/modules/channels/secret-box.ts); `webhook_key` (128-bit random, hex)
 * routes Meta's webhooks to the channel without an organization in the URL.
 */
export const waChannels = pgTable(
  "wa_channels",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    name: text("name").notNull(),
    mode: text("mode").$type<"cloud" | "simulator">().notNull(),
    phoneNumberId: text("phone_number_id").notNull(),
    wabaId: text("waba_id").notNull(),
    displayPhoneNumber: text("display_phone_number").notNull(),
    accessTokenEnc: text("access_token_enc").notNull(),
    appSecretEnc: text("app_secret_enc").notNull(),
    verifyTokenEnc: text("verify_token_enc").notNull(),
    webhookKey: text("webhook_key").notNull(),
    /** Messages per second this number may send (Meta: 80, upgraded to 1,000). */
    mpsLimit: integer("mps_limit").notNull().default(80),
    /** Last "test connection" outcome. */
    verifiedName: text("verified_name"),
    qualityRating: text("quality_rating"),
    lastTestedAt: ts("last_tested_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("wa_channels_webhook_key_key").on(t.webhookKey),
    // One phone number id is one channel anywhere: Meta sends its webhooks to one URL per app,
    // and a number connected twice would receive every message twice.
    uniqueIndex("wa_channels_phone_number_id_key").on(t.phoneNumberId),
    index("wa_channels_org_created_idx").on(t.orgId, t.createdAt, t.id),
  ],
);

/**
 * Every signed webhook POST as it arrived (durable ingest): the raw bytes, deduplicated by
 * their SHA-256 (Meta redelivers the same body), processed by the `whatsapp.webhook` job.
 * `error` holds why a payload could not be applied (kept for inspection, never retried);
 * `outcome` notes what was applied or skipped.
 */
export const waWebhookEvents = pgTable(
  "wa_webhook_events",
  {
    orgId: uuid("org_id").notNull(),
    id: bigserial("id", { mode: "number" }).notNull(),
    channelId: uuid("channel_id").notNull(),
    bodySha256: text("body_sha256").notNull(),
    body: text("body").notNull(),
    receivedAt: ts("received_at").notNull().defaultNow(),
    processedAt: ts("processed_at"),
    attempts: integer("attempts").notNull().default(0),
    error: text("error"),
    outcome: text("outcome"),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.channelId], foreignColumns: [waChannels.orgId, waChannels.id] }).onDelete(
      "cascade",
    ),
    uniqueIndex("wa_webhook_events_body_key").on(t.orgId, t.channelId, t.bodySha256),
    index("wa_webhook_events_unprocessed_idx").on(t.orgId, t.receivedAt).where(sql`${t.processedAt} is null`),
  ],
);

export type ConversationStatus = "open" | "pending" | "snoozed" | "resolved";

/**
 * One thread with one contact on one number. At most one live (not resolved) conversation per
 * contact and channel (`conversations_live_key`), so parallel inbound messages never open two;
 * a message after `resolved` opens a new one. The shared inbox (issue 15) adds to it.
 */
export const conversations = pgTable(
  "conversations",
  {
    orgId: uuid("org_id").notNull(),
    id: uuid("id").notNull().defaultRandom(),
    channelId: uuid("channel_id").notNull(),
    contactId: uuid("contact_id").notNull(),
    status: text("status").$type<ConversationStatus>().notNull().default("open"),
    assigneeMemberId: uuid("assignee_member_id"),
    teamId: uuid("team_id"),
    priority: integer("priority").notNull().default(0),
    snoozedUntil: ts("snoozed_until"),
    /** The customer's last message: the 24-hour customer-service window runs from here. */
    lastInboundAt: ts("last_inbound_at"),
    lastMessageAt: ts("last_message_at").notNull().defaultNow(),
    preview: text("preview"),
    /** Bumped by every change, for compare-and-set updates (409 conversation_changed). */
    version: integer("version").notNull().default(0),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.channelId], foreignColumns: [waChannels.orgId, waChannels.id] }).onDelete(
      "cascade",
    ),
    foreignKey({ columns: [t.orgId, t.contactId], foreignColumns: [contacts.orgId, contacts.id] }).onDelete("cascade"),
    foreignKey({
      columns: [t.orgId, t.assigneeMemberId],
      foreignColumns: [memberships.orgId, memberships.id],
    }).onDelete("set null"),
    uniqueIndex("conversations_live_key").on(t.orgId, t.channelId, t.contactId).where(sql`${t.status} <> 'resolved'`),
    // The inbox's "all" list (no status filter), newest activity first.
    index("conversations_org_last_idx").on(t.orgId, t.lastMessageAt.desc(), t.id.desc()),
    index("conversations_org_status_last_idx").on(t.orgId, t.status, t.lastMessageAt.desc(), t.id.desc()),
    index("conversations_org_assignee_idx").on(
      t.orgId,
      t.assigneeMemberId,
      t.status,
      t.lastMessageAt.desc(),
      t.id.desc(),
    ),
    index("conversations_org_contact_idx").on(t.orgId, t.contactId),
    // The inbox's "mine" / "unassigned" / operator lists and "by team" without a status filter
    // (issue 15 bench): a page is an index range scan, not a sort of every matching row.
    index("conversations_org_assignee_last_idx").on(t.orgId, t.assigneeMemberId, t.lastMessageAt.desc(), t.id.desc()),
    index("conversations_org_team_last_idx").on(t.orgId, t.teamId, t.lastMessageAt.desc(), t.id.desc()),
    // The snooze job (conversations/snooze-job.ts) across all organizations: the due ones, few.
    index("conversations_snoozed_due_idx").on(t.snoozedUntil).where(sql`${t.status} = 'snoozed'`),
  ],
);

export type MessageStatus = "received" | "queued" | "sent" | "delivered" | "read" | "failed";

/**
 * Inbound (`in`) and outbound (`out`) WhatsApp messages. `wamid` is unique per organization
 * (Meta redelivers; parallel deliveries store one row); `client_msg_id` makes a send
 * idempotent. `payload` keeps the message as Meta sent it (inbound) or as we send it
 * (outbound). Statuses only move forward: queued < sent < delivered < read; failed keeps
 * Meta's code and title.
 */
export const messages = pgTable(
  "messages",
  {
    orgId: uuid("org_id").notNull(),
    id: uuid("id").notNull().defaultRandom(),
    conversationId: uuid("conversation_id").notNull(),
    channelId: uuid("channel_id").notNull(),
    contactId: uuid("contact_id").notNull(),
    direction: text("direction").$type<"in" | "out">().notNull(),
    /** `message` (WhatsApp), later `note` and `activity` lines of the inbox. */
    kind: text("kind").notNull().default("message"),
    wamid: text("wamid"),
    type: text("type").notNull(),
    /** Searchable text: the body, caption, reply title, location name… */
    body: text("body"),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status").$type<MessageStatus>().notNull(),
    errorCode: integer("error_code"),
    errorTitle: text("error_title"),
    errorDetails: text("error_details"),
    clientMsgId: text("client_msg_id"),
    /** Outbound: replies (0) go before bulk sends (1). */
    priority: integer("priority").notNull().default(0),
    senderMemberId: uuid("sender_member_id"),
    /** Inbound: Meta's timestamp; outbound: when queued. */
    createdAt: ts("created_at").notNull().defaultNow(),
    sentAt: ts("sent_at"),
    deliveredAt: ts("delivered_at"),
    readAt: ts("read_at"),
    failedAt: ts("failed_at"),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({
      columns: [t.orgId, t.conversationId],
      foreignColumns: [conversations.orgId, conversations.id],
    }).onDelete("cascade"),
    uniqueIndex("messages_org_wamid_key").on(t.orgId, t.wamid).where(sql`${t.wamid} is not null`),
    uniqueIndex("messages_org_client_msg_id_key").on(t.orgId, t.clientMsgId).where(sql`${t.clientMsgId} is not null`),
    index("messages_thread_idx").on(t.orgId, t.conversationId, t.createdAt.desc(), t.id.desc()),
    // Chat analytics over a period (modules/analytics).
    index("messages_org_created_idx").on(t.orgId, t.createdAt),
    // Message text search: a pg_trgm GIN index on the body, in the custom migration 0012.
  ],
);

/**
 * Tags on conversations (the shared inbox, issue 15): the organization's tags, team-specific
 * ones included. Deleting a tag or a conversation takes its rows with it.
 */
export const conversationTags = pgTable(
  "conversation_tags",
  {
    orgId: uuid("org_id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    tagId: uuid("tag_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.conversationId, t.tagId] }),
    foreignKey({
      columns: [t.orgId, t.conversationId],
      foreignColumns: [conversations.orgId, conversations.id],
    }).onDelete("cascade"),
    foreignKey({ columns: [t.orgId, t.tagId], foreignColumns: [tags.orgId, tags.id] }).onDelete("cascade"),
    index("conversation_tags_tag_idx").on(t.orgId, t.tagId, t.conversationId),
  ],
);

/**
 * A WhatsApp message template of a channel's WhatsApp Business Account, in Meta's shape
 * (`components` as submitted to `/{wabaId}/message_templates`). `status` follows Meta (the
 * create answer, `message_template_status_update` webhooks, `POST /templates/sync`); `meta_id`
 * is Meta's template id, which the webhooks name.
 */
export const messageTemplates = pgTable(
  "message_templates",
  {
    orgId: orgIdColumn(),
    id: uuid("id").notNull().defaultRandom(),
    channelId: uuid("channel_id").notNull(),
    wabaId: text("waba_id").notNull(),
    name: text("name").notNull(),
    language: text("language").notNull(),
    category: text("category").$type<"MARKETING" | "UTILITY" | "AUTHENTICATION">().notNull(),
    parameterFormat: text("parameter_format").$type<"POSITIONAL" | "NAMED">().notNull().default("POSITIONAL"),
    components: jsonb("components").$type<Record<string, unknown>[]>().notNull(),
    status: text("status").$type<"PENDING" | "APPROVED" | "REJECTED" | "PAUSED" | "DISABLED">().notNull(),
    rejectionReason: text("rejection_reason"),
    metaId: text("meta_id"),
    /** When Meta last accepted an edit (an approved template: once per 24 hours). */
    metaEditedAt: ts("meta_edited_at"),
    createdByMemberId: uuid("created_by_member_id"),
    updatedByMemberId: uuid("updated_by_member_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    uniqueIndex("message_templates_org_waba_name_lang_key").on(t.orgId, t.wabaId, t.name, t.language),
    index("message_templates_org_name_idx").on(t.orgId, t.name, t.id),
    index("message_templates_org_meta_id_idx").on(t.orgId, t.metaId),
    foreignKey({
      columns: [t.orgId, t.channelId],
      foreignColumns: [waChannels.orgId, waChannels.id],
      name: "message_templates_channel_fk",
    }).onDelete("cascade"),
  ],
);

/**
 * Per member read marker of a conversation (the inbox's unread counts): the member has seen the
 * thread up to `last_read_at`. Unread = the customer's messages after it (all of them without a
 * marker). Set when the member opens the thread (POST …/conversations/:id/read); only moves forward.
 */
export const conversationReads = pgTable(
  "conversation_reads",
  {
    orgId: uuid("org_id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    memberId: uuid("member_id").notNull(),
    lastReadAt: ts("last_read_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.conversationId, t.memberId] }),
    foreignKey({
      columns: [t.orgId, t.conversationId],
      foreignColumns: [conversations.orgId, conversations.id],
    }).onDelete("cascade"),
    foreignKey({ columns: [t.orgId, t.memberId], foreignColumns: [memberships.orgId, memberships.id] }).onDelete(
      "cascade",
    ),
  ],
);
