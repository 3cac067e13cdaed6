import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const listParams = z.object({ orgId: uuidSchema, listId: uuidSchema });

export const contactListSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    contactCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "ContactList" });
export type ContactListDto = z.output<typeof contactListSchema>;
export const contactListsSchema = z.object({ items: z.array(contactListSchema), nextCursor: z.null() });
export const membershipResultSchema = z.object({
  listId: z.uuid(),
  touched: z
    .number()
    .int()
    .meta({ description: "Contacts added (or removed); ones already in (or not in) it are not counted." }),
  contactCount: z.number().int(),
});
