import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";
import type { organizations } from "../../db/schema/index.js";

export const orgParams = z.object({ orgId: uuidSchema });

export const orgSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    logoUrl: z.string().nullable(),
    defaultLanguage: z.string(),
    timezone: z.string(),
    requireTwoFactor: z.boolean(),
    memberLimit: z.number().int().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Organization" });
export type OrgDto = z.output<typeof orgSchema>;

export const orgDetailSchema = orgSchema
  .extend({
    memberCount: z.number().int(),
    pendingInvitationCount: z.number().int(),
  })
  .meta({ id: "OrganizationDetail" });

export const myMembershipSchema = z.object({
  memberId: z.uuid(),
  isOwner: z.boolean(),
  roleIds: z.array(z.string()),
});

export const orgListItemSchema = orgSchema.extend({ membership: myMembershipSchema }).meta({ id: "MyOrganization" });
export const orgListSchema = z.object({ items: z.array(orgListItemSchema), nextCursor: z.string().nullable() });

export const orgMeSchema = z
  .object({
    organization: orgSchema,
    memberId: z.uuid(),
    userId: z.uuid(),
    firstName: z.string(),
    lastName: z.string(),
    isOwner: z.boolean(),
    roleIds: z.array(z.string()),
    roles: z.array(z.object({ id: z.string(), name: z.string(), isSystem: z.boolean() })),
    /**
     * The roles whose every permission the caller holds: the ones they may grant (invite with, assign)
     * and whose holders they outrank (so may edit or remove, given members:update / members:remove).
     * A member can be edited or removed by the caller when all of the member's roles are in this list;
     * the web app asks this before it offers an action the server would refuse.
     */
    grantableRoles: z.array(z.object({ id: z.string(), name: z.string(), isSystem: z.boolean() })),
    /** Effective permissions (owner: every catalogue permission plus the owner-only ones). */
    permissions: z.array(z.string()),
    joinedAt: z.string(),
    /** The teams the caller is in, A→Z. */
    teams: z.array(z.object({ id: z.uuid(), name: z.string() })),
    /** True when the organization requires 2FA and this member has not turned it on. */
    twoFactorBlocked: z.boolean(),
  })
  .meta({ id: "OrganizationMembership" });

export const transferResultSchema = z.object({
  previousOwnerMemberId: z.uuid(),
  newOwnerMemberId: z.uuid(),
});

export function orgDto(o: typeof organizations.$inferSelect): OrgDto {
  return {
    id: o.id,
    name: o.name,
    logoUrl: o.logoUrl,
    defaultLanguage: o.defaultLanguage,
    timezone: o.timezone,
    requireTwoFactor: o.requireTwoFactor,
    memberLimit: o.memberLimit,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}
