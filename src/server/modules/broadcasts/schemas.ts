import { z } from "zod";
import { BROADCAST_STATUSES, RECIPIENT_STATUSES } from "../../../shared/schemas/broadcasts.js";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const broadcastParams = z.object({ orgId: uuidSchema, broadcastId: uuidSchema });

const counts = z.object({
  total: z.number().int(),
  queued: z.number().int(),
  sent: z.number().int(),
  delivered: z.number().int(),
  read: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  replied: z.number().int(),
});

const variableSource = z.union([
  z.object({ field: z.string(), fallback: z.string().optional() }),
  z.object({ attribute: z.string(), fallback: z.string().optional() }),
  z.object({ text: z.string() }),
]);

export const audienceSizeSchema = z.object({
  size: z.number().int(),
  optedOut: z.number().int(),
  duplicates: z.number().int(),
});

export const broadcastSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  channelId: z.uuid(),
  templateId: z.uuid().nullable(),
  template: z.object({ id: z.uuid(), name: z.string(), language: z.string(), status: z.string() }).nullable(),
  variables: z.record(z.string(), variableSource),
  audience: z.object({
    listIds: z.array(z.uuid()).optional(),
    tagIds: z.array(z.uuid()).optional(),
    contactIds: z.array(z.uuid()).optional(),
  }),
  scheduledAt: z.string().nullable(),
  timezone: z.string(),
  status: z.enum(BROADCAST_STATUSES),
  statusReason: z.string().nullable(),
  version: z.number().int(),
  counts,
  excluded: z.object({ optedOut: z.number().int(), duplicates: z.number().int() }),
  createdByMemberId: z.uuid().nullable(),
  updatedByMemberId: z.uuid().nullable(),
  sentByMemberId: z.uuid().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const broadcastDetailSchema = broadcastSchema.extend({
  failureReasons: z.array(z.object({ code: z.number().int().nullable(), title: z.string(), count: z.number().int() })),
  /** Drafts: the audience as it would be frozen now. */
  audienceSize: audienceSizeSchema.nullable(),
});

export const broadcastListSchema = z.object({ items: z.array(broadcastSchema), nextCursor: z.string().nullable() });

export const recipientSchema = z.object({
  id: z.uuid(),
  contactId: z.uuid(),
  recipient: z.string(),
  contactName: z.string().nullable(),
  variables: z.record(z.string(), z.string()),
  status: z.enum(RECIPIENT_STATUSES),
  wamid: z.string().nullable(),
  errorCode: z.number().int().nullable(),
  errorTitle: z.string().nullable(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  readAt: z.string().nullable(),
  failedAt: z.string().nullable(),
  repliedAt: z.string().nullable(),
});

export const recipientListSchema = z.object({ items: z.array(recipientSchema), nextCursor: z.string().nullable() });

export const timelineSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      action: z.string(),
      actorType: z.string(),
      actorId: z.string().nullable(),
      actorName: z.string(),
      changes: z
        .record(z.string(), z.object({ before: z.unknown().optional(), after: z.unknown().optional() }))
        .nullable(),
      at: z.string(),
    }),
  ),
});

export const broadcastPreviewSchema = z.object({
  header: z
    .object({
      format: z.enum(["TEXT", "IMAGE", "VIDEO", "DOCUMENT"]),
      text: z.string().nullable(),
      mediaUrl: z.string().nullable(),
    })
    .nullable(),
  body: z.string(),
  footer: z.string().nullable(),
  buttons: z.array(
    z.object({
      type: z.string(),
      text: z.string(),
      url: z.string().optional(),
      phoneNumber: z.string().optional(),
      code: z.string().optional(),
    }),
  ),
  values: z.record(z.string(), z.string()),
  missing: z.array(z.string()),
  optedOut: z.boolean(),
});
