import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";
import { BULK_ACTIONS, IMPORT_ERROR_CODES } from "../../../shared/schemas/contacts.js";

export const orgParams = z.object({ orgId: uuidSchema });
export const contactParams = z.object({ orgId: uuidSchema, contactId: uuidSchema });
export const importParams = z.object({ orgId: uuidSchema, importId: uuidSchema });

export const contactSchema = z
  .object({
    id: z.uuid(),
    phone: z.string().meta({ description: "E.164, e.g. +15551234567" }),
    waId: z.string().nullable(),
    name: z.string().nullable(),
    attributes: z.record(z.string(), z.string()),
    tagIds: z.array(z.uuid()),
    listIds: z.array(z.uuid()),
    optedOut: z.boolean().meta({ description: "Marketing opt-out: broadcasts skip this contact." }),
    optedOutAt: z.string().nullable(),
    optOutSource: z.string().nullable().meta({ description: "manual | import | whatsapp" }),
    lastMessageAt: z.string().nullable(),
    createdByMemberId: z.uuid().nullable(),
    updatedByMemberId: z.uuid().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Contact" });
export type ContactDto = z.output<typeof contactSchema>;

export const contactListSchema = z.object({ items: z.array(contactSchema), nextCursor: z.string().nullable() });

export const bulkResultSchema = z
  .object({
    action: z.enum(BULK_ACTIONS),
    matched: z.number().int().meta({ description: "Contacts of the selection or filter that exist." }),
    touched: z.number().int().meta({ description: "Contacts the action changed (already tagged ones are not)." }),
  })
  .meta({ id: "ContactBulkResult" });

export const importAcceptedSchema = z
  .object({ id: z.uuid(), state: z.enum(["queued", "running", "completed", "failed"]) })
  .meta({ id: "ContactImportAccepted" });

export const importSchema = z
  .object({
    id: z.uuid(),
    state: z.enum(["queued", "running", "completed", "failed"]),
    total: z.number().int().meta({ description: "Data rows of the file (0 until the job has counted them)." }),
    processed: z.number().int(),
    created: z.number().int(),
    updated: z.number().int(),
    failed: z.number().int(),
    errors: z
      .array(
        z.object({
          row: z.number().int(),
          code: z.enum(IMPORT_ERROR_CODES).meta({ description: "Why the row was not imported." }),
          params: z
            .record(z.string(), z.union([z.string(), z.number()]))
            .optional()
            .meta({ description: "The values the message names (the code's parameters)." }),
          message: z.string(),
        }),
      )
      .meta({
        description:
          "Per-row problems (the first 1,000); `row` is the data row number, 1 = the row after the header; row 0: the whole import.",
      }),
    createdByMemberId: z.uuid().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: "ContactImport" });
export type ImportDto = z.output<typeof importSchema>;
