import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const listNotificationsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
  /** Only unread ones. */
  unread: z
    .enum(["true", "false"])
    .optional()
    .transform((v) => v === "true"),
});

export const markReadBody = z.union([
  z.object({ ids: z.array(uuidSchema).min(1).max(500) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);

const person = z.object({ memberId: z.string().nullable(), name: z.string() });

export const notificationSchema = z
  .object({
    id: z.string(),
    kind: z.string().meta({ description: "`conversation_assigned`, `mentioned` or `broadcast_finished`" }),
    conversationId: z.string().nullable(),
    broadcastId: z.string().nullable(),
    by: person.nullable().meta({ description: "Who caused it; null for the system (assignment rules)" }),
    subjectName: z.string().nullable().meta({ description: "The conversation's contact, or the broadcast's name" }),
    excerpt: z.string().nullable().meta({ description: "A mention: the start of the note" }),
    read: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ id: "Notification" });

export const notificationListSchema = z.object({
  items: z.array(notificationSchema),
  nextCursor: z.string().nullable(),
  unreadCount: z.number().int(),
});

export const markReadResultSchema = z.object({ updated: z.number().int(), unreadCount: z.number().int() });
