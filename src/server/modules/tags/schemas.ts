import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const tagParams = z.object({ orgId: uuidSchema, tagId: uuidSchema });

export const tagSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    color: z.string().meta({ description: "#rrggbb" }),
    teamId: z.uuid().nullable().meta({ description: "Set: a team-specific tag, listed under its team." }),
    contactCount: z.number().int().meta({ description: "Contacts with this tag." }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Tag" });
export type TagDto = z.output<typeof tagSchema>;
export const tagListSchema = z.object({ items: z.array(tagSchema), nextCursor: z.null() });
