import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { listMembersQuery, updateMemberBody } from "../../../shared/schemas/members.js";
import { access } from "../../http/access.js";
import { notFound, problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { orgParams } from "../orgs/schemas.js";
import { memberCsvStream } from "./export.js";
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
          "`q` matches name or email (substring, case-insensitive); `roleId` keeps holders of that role; `teamId` members of that team; `status` " +
          "is `active` (seen in the last 90 days) or `inactive`; `twoFactor` is `on` or `off` (the account's 2FA). `sort`: `name` (A→Z, default), `joined` (newest " +
          "first), `lastActive` (most recent first, never-seen last).",
        params: orgParams,
        querystring: listMembersQuery,
        response: { 200: memberListSchema, ...readErrors },
      },
    },
    async (request) => listMembers(ctx.db, request.params.orgId, request.query),
  );

  app.get(
    "/orgs/:orgId/members/export",
    {
      // A copy of people's names and emails leaves the product: reading the list is not enough, the
      // caller also holds audit:read (whose catalogue entry covers exports), and the export is recorded.
      config: { access: access.member("members:read", "audit:read") },
      schema: {
        tags: ["members"],
        summary: "Export the member list as CSV",
        description:
          "The list's filters (`q`, `roleId`, `teamId`, `status`, `twoFactor`) and `sort`. Columns: name, email, " +
          "roles (by name, `; `-separated), owner, two_factor (on|off), joined_at, last_active_at. RFC 4180; cells " +
          "a spreadsheet would run as a formula are prefixed with `'`. Needs members:read and audit:read; recorded " +
          "as `member.list_exported`.",
        params: orgParams,
        querystring: listMembersQuery.omit({ limit: true, cursor: true }),
        response: { 200: z.string().meta({ description: "text/csv, streamed" }), ...readErrors },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const given = Object.fromEntries(Object.entries(request.query).filter(([, v]) => v !== undefined));
      await recordActivity(ctx.db, actorOf(request), {
        orgId,
        action: "member.list_exported",
        target: { type: "member", id: null, label: "csv export" },
        changes: { filters: { after: given } },
      });
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
      reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="members-${stamp}.csv"`)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-store");
      // A stream is sent as is (no serializer); the 200 schema only documents it.
      return reply.send(memberCsvStream(ctx.db, orgId, request.query) as unknown as string);
    },
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
