import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { listMembersQuery, updateMemberBody } from "../../../shared/schemas/members.js";
import { access } from "../../http/access.js";
import { notFound, problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../orgs/schemas.js";
import { getMember, listMembers } from "./list.js";
import { memberListSchema, memberParams, memberSchema } from "./schemas.js";
import { removeMember, updateMember } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

export const membersRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;

  app.get(
    "/orgs/:orgId/members",
    {
      config: { access: access.member("members:read") },
      schema: {
        tags: ["members"],
        summary: "List and search members",
        description:
          "`q` matches name or email (substring, case-insensitive); `roleId` keeps holders of that role; `status` " +
          "is `active` (seen in the last 90 days) or `inactive`. `sort`: `name` (A→Z, default), `joined` (newest " +
          "first), `lastActive` (most recent first, never-seen last).",
        params: orgParams,
        querystring: listMembersQuery,
        response: { 200: memberListSchema, ...readErrors },
      },
    },
    async (request) => listMembers(ctx.db, request.params.orgId, request.query),
  );

  app.get(
    "/orgs/:orgId/members/:memberId",
    {
      config: { access: access.member("members:read") },
      schema: {
        tags: ["members"],
        summary: "One member",
        params: memberParams,
        response: { 200: memberSchema, ...readErrors },
      },
    },
    async (request) => {
      const member = await getMember(ctx.db, request.params.orgId, request.params.memberId);
      if (!member) throw notFound("member", "member_not_found");
      return member;
    },
  );

  app.patch(
    "/orgs/:orgId/members/:memberId",
    {
      config: { access: access.member("members:update") },
      schema: {
        tags: ["members"],
        summary: "Edit a member's names in the organization and replace their roles",
        description:
          "`roleIds` replaces the whole set. The owner cannot be edited (403 `owner_protected`); nobody changes " +
          "their own roles (403 `cannot_change_own_roles`); roles granted must be within the caller's permissions, " +
          "and so must the permissions of the member being edited, names included (403 `permission_escalation`); unknown roles: " +
          "400 `unknown_role`. In force on the member's next request.",
        params: memberParams,
        body: updateMemberBody,
        response: { 200: memberSchema, ...writeErrors },
      },
    },
    async (request) =>
      updateMember(ctx, requireMember(request), actorOf(request), request.params.memberId, request.body),
  );

  app.delete(
    "/orgs/:orgId/members/:memberId",
    {
      config: { access: access.member("members:remove") },
      schema: {
        tags: ["members"],
        summary: "Remove a member: their access ends at once",
        description:
          "The owner cannot be removed (403 `owner_protected`); removing oneself is leaving (403 " +
          "`cannot_remove_self`); the member's permissions must be within the caller's (403 `permission_escalation`).",
        params: memberParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await removeMember(ctx, requireMember(request), actorOf(request), request.params.memberId);
      return reply.code(204).send(null);
    },
  );
};
