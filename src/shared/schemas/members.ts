import { z } from "zod";
import { hasNul, nameSchema } from "./common.js";

export const roleIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "Expected a role id.");

export const roleIdsSchema = z.array(roleIdSchema).max(50);

export const MEMBER_SORTS = ["name", "joined", "lastActive"] as const;
export const MEMBER_STATUSES = ["active", "inactive"] as const;
/** Members by whether their account has two-factor authentication on. */
export const TWO_FACTOR_FILTERS = ["on", "off"] as const;
/** A member not seen for this many days counts as inactive (the access review uses the same default). */
export const INACTIVE_AFTER_DAYS = 90;

export const listMembersQuery = z.object({
  // PostgreSQL text cannot hold NUL: refused here rather than failing the query.
  q: z
    .string()
    .trim()
    .max(200)
    .refine((s) => !hasNul(s), "The search contains a character that is not allowed.")
    .optional(),
  roleId: roleIdSchema.optional(),
  teamId: z.uuid({ message: "Expected a UUID." }).optional(),
  status: z.enum(MEMBER_STATUSES).optional(),
  twoFactor: z.enum(TWO_FACTOR_FILTERS).optional(),
  sort: z.enum(MEMBER_SORTS).default("name"),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});
export type ListMembersQuery = z.output<typeof listMembersQuery>;

export const updateMemberBody = z
  .object({ firstName: nameSchema, lastName: nameSchema, roleIds: roleIdsSchema })
  .partial()
  .strict()
  .refine((b) => b.firstName !== undefined || b.lastName !== undefined || b.roleIds !== undefined, {
    message: "Give at least one of firstName, lastName, roleIds.",
  });
export type UpdateMemberInput = z.output<typeof updateMemberBody>;
