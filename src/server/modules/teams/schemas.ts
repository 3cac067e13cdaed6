import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const teamParams = z.object({ orgId: uuidSchema, teamId: uuidSchema });

export const teamSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    memberIds: z.array(z.uuid()),
    memberCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Team" });
export type TeamDto = z.output<typeof teamSchema>;
export const teamListSchema = z.object({ items: z.array(teamSchema), nextCursor: z.null() });
