import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const memberParams = z.object({ orgId: uuidSchema, memberId: uuidSchema });

export const memberSchema = z
  .object({
    memberId: z.uuid(),
    userId: z.uuid(),
    firstName: z.string(),
    lastName: z.string(),
    name: z.string(),
    email: z.string(),
    pictureUrl: z.string().nullable(),
    roleIds: z.array(z.string()),
    isOwner: z.boolean(),
    twoFactorEnabled: z.boolean(),
    joinedAt: z.string(),
    lastActiveAt: z.string().nullable(),
  })
  .meta({ id: "Member" });
export type MemberDto = z.output<typeof memberSchema>;

export const memberListSchema = z.object({ items: z.array(memberSchema), nextCursor: z.string().nullable() });
