import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  CATALOGUE,
  groupedCatalogue,
  OWNER_ONLY_CATALOGUE,
  SYSTEM_ROLES,
  systemRolePermissions,
} from "../../../shared/permissions.js";
import { access } from "../../http/access.js";
import { notFound, problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { getRole, listRoles, memberCounts } from "./repo.js";
import {
  catalogueSchema,
  createRoleBody,
  deleteRoleQuery,
  deleteRoleResponse,
  orgParams,
  roleListSchema,
  roleParams,
  roleSchema,
  updateRoleBody,
} from "./schemas.js";
import { createRole, deleteRole, roleDto, updateRole } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

/** The catalogue never changes while the process runs: built once. */
const CATALOGUE_BODY = {
  groups: groupedCatalogue(),
  permissions: CATALOGUE.map((p) => ({ ...p })),
  // Permissions in catalogue order, as every other answer lists them.
  systemRoles: SYSTEM_ROLES.map((r) => ({
    ...r,
    permissions: systemRolePermissions(r.id)?.toArray() ?? [],
  })),
  ownerOnlyPermissions: OWNER_ONLY_CATALOGUE.map((p) => ({ ...p })),
};

export const rolesRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/permissions",
    {
      config: { access: access.signedIn() },
      schema: {
        tags: ["roles"],
        summary: "The permission catalogue, the system roles and the owner-only permissions",
        description:
          "Permissions grouped for display, the seven read-only system roles with their permissions, and the " +
          "permissions only the organization owner holds (never grantable through a role).",
        response: { 200: catalogueSchema, 401: problemSchema },
      },
    },
    async () => CATALOGUE_BODY,
  );

  app.get(
    "/orgs/:orgId/roles",
    {
      config: { access: access.member("roles:read") },
      schema: {
        tags: ["roles"],
        summary: "System and custom roles of the organization, with permissions and member counts",
        description:
          "System roles first, in catalogue order, then custom roles by name. Not paginated (`nextCursor` is null).",
        params: orgParams,
        response: { 200: roleListSchema, ...readErrors },
      },
    },
    async (request) => {
      const { orgId } = request.params;
      const [rows, counts] = await Promise.all([listRoles(db, orgId), memberCounts(db, orgId)]);
      return { items: rows.map((r) => roleDto(r, counts.get(r.id) ?? 0)), nextCursor: null };
    },
  );

  app.get(
    "/orgs/:orgId/roles/:roleId",
    {
      config: { access: access.member("roles:read") },
      schema: {
        tags: ["roles"],
        summary: "One role",
        params: roleParams,
        response: { 200: roleSchema, ...readErrors },
      },
    },
    async (request) => {
      const { orgId, roleId } = request.params;
      const role = await getRole(db, orgId, roleId);
      if (!role) throw notFound("role", "role_not_found");
      const counts = await memberCounts(db, orgId, roleId);
      return roleDto(role, counts.get(roleId) ?? 0);
    },
  );

  app.post(
    "/orgs/:orgId/roles",
    {
      config: { access: access.member("roles:manage") },
      schema: {
        tags: ["roles"],
        summary: "Create a custom role",
        description:
          "Names are unique per organization, case-insensitively (409 `role_name_taken`). Permissions come from the " +
          "catalogue (400 `unknown_permission`; owner-only ones: 400 `owner_only_permission`), and the caller must " +
          "hold every one of them (403 `permission_escalation`).",
        params: orgParams,
        body: createRoleBody,
        response: { 201: roleSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const role = await createRole(db, requireMember(request), actorOf(request), request.body);
      return reply.code(201).send(role);
    },
  );

  app.patch(
    "/orgs/:orgId/roles/:roleId",
    {
      config: { access: access.member("roles:manage") },
      schema: {
        tags: ["roles"],
        summary: "Edit a custom role",
        description:
          "System roles are read-only (403 `system_role_read_only`). Permissions added must be held by the caller " +
          "(403 `permission_escalation`); an edit that would take `roles:manage` away from the caller answers 409 " +
          "`self_lockout`. The change is in force on the next request of every member holding the role.",
        params: roleParams,
        body: updateRoleBody,
        response: { 200: roleSchema, ...writeErrors },
      },
    },
    async (request) => updateRole(db, requireMember(request), actorOf(request), request.params.roleId, request.body),
  );

  app.delete(
    "/orgs/:orgId/roles/:roleId",
    {
      config: { access: access.member("roles:manage") },
      schema: {
        tags: ["roles"],
        summary: "Delete a custom role",
        description:
          "A role that members hold answers 409 `role_in_use` unless `replaceWith` names another role of the " +
          "organization: its holders then get that role instead (the caller must hold its permissions), and pending " +
          "invitations offering the deleted role offer the replacement (without one, they simply lose the role). " +
          "A deletion that would take `roles:manage` away from the caller answers 409 `self_lockout`.",
        params: roleParams,
        querystring: deleteRoleQuery,
        response: { 200: deleteRoleResponse, ...writeErrors },
      },
    },
    async (request) =>
      deleteRole(db, requireMember(request), actorOf(request), request.params.roleId, request.query.replaceWith),
  );
};
