import { z } from "zod";
import { multiLineSchema, singleLineSchema, uuidSchema } from "../../../shared/schemas/common.js";

/** System role keys (`operator`) and custom role ids (`role_…`); anything else is simply not found. */
export const roleIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "Expected a role id.");

export const orgParams = z.object({ orgId: uuidSchema });
export const roleParams = z.object({ orgId: uuidSchema, roleId: roleIdSchema });

const roleName = singleLineSchema(60);
const roleDescription = multiLineSchema(500);
/** Keys are checked against the catalogue by the service, to answer `unknown_permission` / `owner_only_permission`. */
const permissionKeys = z.array(z.string().min(1).max(100)).max(200);

export const createRoleBody = z.object({
  name: roleName,
  description: roleDescription.optional(),
  permissions: permissionKeys,
});
export type CreateRoleInput = z.output<typeof createRoleBody>;

export const updateRoleBody = z
  .object({
    name: roleName.optional(),
    description: roleDescription.optional(),
    permissions: permissionKeys.optional(),
  })
  .refine((b) => b.name !== undefined || b.description !== undefined || b.permissions !== undefined, {
    message: "Give at least one of name, description, permissions.",
  });
export type UpdateRoleInput = z.output<typeof updateRoleBody>;

export const deleteRoleQuery = z.object({
  replaceWith: roleIdSchema.optional().meta({
    description: "A role of the organization that the deleted role's members (and pending invitations) get instead.",
  }),
});

export const roleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    isSystem: z.boolean(),
    permissions: z.array(z.string()),
    memberCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Role" });
export type RoleDto = z.output<typeof roleSchema>;

export const roleListSchema = z.object({ items: z.array(roleSchema), nextCursor: z.string().nullable() });

export const deleteRoleResponse = z.object({
  deleted: z.string(),
  replacedWith: z.string().nullable(),
  membersMoved: z.number().int(),
  invitationsUpdated: z.number().int(),
});

const permissionDefSchema = z.object({
  key: z.string(),
  group: z.string(),
  label: z.string(),
  description: z.string(),
});

export const catalogueSchema = z
  .object({
    groups: z.array(z.object({ key: z.string(), label: z.string(), permissions: z.array(permissionDefSchema) })),
    permissions: z.array(permissionDefSchema),
    systemRoles: z.array(
      z.object({ id: z.string(), name: z.string(), description: z.string(), permissions: z.array(z.string()) }),
    ),
    ownerOnlyPermissions: z.array(z.object({ key: z.string(), label: z.string(), description: z.string() })),
  })
  .meta({ id: "PermissionCatalogue" });
