import { z } from "zod";
import { hasNul, singleLineSchema, uuidSchema } from "./common.js";

/**
 * Broadcasts (DESIGN §7.1): request bodies shared by the server and the web editor.
 * `variables` maps each template variable (`1`, `first_name`, `header.1`, `button.0`, …, as the
 * template preview names them) to where its value comes from for each recipient.
 */
export const BROADCAST_STATUSES = [
  "draft",
  "scheduled",
  "sending",
  "paused",
  "completed",
  "cancelled",
  "failed",
] as const;
export type BroadcastStatusName = (typeof BROADCAST_STATUSES)[number];
export const RECIPIENT_STATUSES = ["queued", "sending", "sent", "delivered", "read", "failed", "cancelled"] as const;

export const CONTACT_FIELDS = ["name", "first_name", "phone"] as const;

export const BROADCAST_LIMITS = { listIds: 50, tagIds: 50, contactIds: 1000, value: 1024 } as const;

const value = z
  .string()
  .max(BROADCAST_LIMITS.value)
  .refine((s) => !hasNul(s), "Remove the NUL characters.");
const fallback = value.optional();

export const variableSourceSchema = z.union([
  z.object({ field: z.enum(CONTACT_FIELDS), fallback }).strict(),
  z
    .object({
      attribute: z
        .string()
        .trim()
        .min(1, "Name the attribute.")
        .max(60)
        .refine((s) => !hasNul(s), "Remove the NUL characters."),
      fallback,
    })
    .strict(),
  z.object({ text: value.refine((s) => s.trim().length > 0, "Enter the text.") }).strict(),
]);
export type VariableSourceInput = z.infer<typeof variableSourceSchema>;

export const broadcastVariablesSchema = z.record(z.string().min(1).max(60), variableSourceSchema);

export const audienceSchema = z
  .object({
    listIds: z.array(uuidSchema).max(BROADCAST_LIMITS.listIds).optional(),
    tagIds: z.array(uuidSchema).max(BROADCAST_LIMITS.tagIds).optional(),
    contactIds: z.array(uuidSchema).max(BROADCAST_LIMITS.contactIds).optional(),
  })
  .strict();
export type AudienceInput = z.infer<typeof audienceSchema>;

/**
 * `scheduledAt`: an instant with its offset (`2026-12-01T09:00:00Z`) or a wall-clock time
 * (`2026-12-01T09:00`) read in the organization's timezone.
 */
export const scheduledAtSchema = z
  .string()
  .max(35)
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/, {
    message: "Use a date and time such as 2026-12-01T09:00.",
  });

export const createBroadcastBody = z.object({
  name: singleLineSchema(120),
  channelId: uuidSchema,
  templateId: uuidSchema,
  variables: broadcastVariablesSchema.default({}),
  audience: audienceSchema.default({}),
  scheduledAt: scheduledAtSchema.nullable().optional(),
});
export type CreateBroadcastInput = z.infer<typeof createBroadcastBody>;

export const updateBroadcastBody = z
  .object({
    name: singleLineSchema(120).optional(),
    channelId: uuidSchema.optional(),
    templateId: uuidSchema.optional(),
    variables: broadcastVariablesSchema.optional(),
    audience: audienceSchema.optional(),
    scheduledAt: scheduledAtSchema.nullable().optional(),
    /** The version read: a stale one answers 409 `broadcast_changed`. */
    version: z.number().int().min(0).optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== "version"), { message: "Change at least one field." });
export type UpdateBroadcastInput = z.infer<typeof updateBroadcastBody>;

export const sendBroadcastBody = z
  .object({
    /** Omitted or null: now. */
    scheduledAt: scheduledAtSchema.nullable().optional(),
  })
  .default({});

export const audienceQueryBody = z.object({ channelId: uuidSchema.optional(), audience: audienceSchema });

export const previewBroadcastBody = z.object({
  templateId: uuidSchema,
  variables: broadcastVariablesSchema.default({}),
  contactId: uuidSchema,
});

export const listBroadcastsQuery = z.object({
  status: z.enum(BROADCAST_STATUSES).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});

export const recipientsQuery = z.object({
  status: z.enum(RECIPIENT_STATUSES).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
