import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";
import { TEMPLATE_CATEGORIES, TEMPLATE_STATUSES, templateComponentSchema } from "../../../shared/schemas/templates.js";

export const templateParams = z.object({ orgId: uuidSchema, templateId: uuidSchema });

export const templateSchema = z.object({
  id: z.uuid(),
  channelId: z.uuid(),
  wabaId: z.string(),
  name: z.string(),
  language: z.string(),
  category: z.enum(TEMPLATE_CATEGORIES),
  parameterFormat: z.enum(["POSITIONAL", "NAMED"]),
  components: z.array(templateComponentSchema),
  status: z.enum(TEMPLATE_STATUSES),
  rejectionReason: z.string().nullable(),
  metaId: z.string().nullable(),
  createdByMemberId: z.uuid().nullable(),
  updatedByMemberId: z.uuid().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const templateListSchema = z.object({ items: z.array(templateSchema), nextCursor: z.string().nullable() });

export const syncResultSchema = z.object({
  created: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  skipped: z.number().int(),
});

export const previewSchema = z.object({
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
  /** The Cloud API `template` object these values would send (null while a value is missing). */
  message: z.record(z.string(), z.unknown()).nullable(),
});
