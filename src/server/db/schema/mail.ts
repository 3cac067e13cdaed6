import { index, integer, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { ts } from "./columns.js";

/**
 * Durable outbox: a message is committed with the change that caused it, together with the
 * `mail.send` job that delivers it (the job queue holds the schedule, retries and lease; this
 * row holds the message and its fate). In development (no SMTP_URL) these rows are the mailbox.
 */
export const mailOutbox = pgTable(
  "mail_outbox",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orgId: uuid("org_id"),
    toEmail: text("to_email").notNull(),
    template: text("template").notNull(),
    locale: text("locale").notNull().default("en"),
    subject: text("subject").notNull(),
    textBody: text("text_body").notNull(),
    htmlBody: text("html_body").notNull(),
    status: text("status", { enum: ["pending", "sent", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    messageId: text("message_id"),
    createdAt: ts("created_at").notNull().defaultNow(),
    sentAt: ts("sent_at"),
  },
  (t) => [index("mail_outbox_created_idx").on(t.createdAt)],
);
