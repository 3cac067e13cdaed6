import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { paginationQuery } from "../../../shared/schemas/common.js";
import { createOrgBody, deleteOrgBody, transferOwnershipBody, updateOrgBody } from "../../../shared/schemas/orgs.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember, requireUser } from "../../http/request-context.js";
import {
  orgDetailSchema,
  orgListItemSchema,
  orgListSchema,
  orgMeSchema,
  orgParams,
  orgSchema,
  transferResultSchema,
} from "./schemas.js";
import {
  createOrg,
  deleteOrg,
  getOrgDetail,
  leaveOrg,
  listMyOrgs,
  orgMe,
  transferOwnership,
  updateOrg,
} from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema, 429: problemSchema };

export const orgsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;

  app.post(
    "/orgs",
    {
      config: { access: access.signedIn() },
      schema: {
        tags: ["organizations"],
        summary: "Create an organization; the caller becomes its owner",
        body: createOrgBody,
        response: { 201: orgListItemSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const { user } = requireUser(request);
      const created = await createOrg(ctx, user, actorOf(request), request.body);
      return reply.code(201).send(created);
    },
  );

  app.get(
    "/orgs",
    {
      config: { access: access.signedIn() },
      schema: {
        tags: ["organizations"],
        summary: "The caller's organizations, by name, with their membership in each",
        querystring: paginationQuery,
        response: { 200: orgListSchema, ...readErrors },
      },
    },
    async (request) => listMyOrgs(ctx, requireUser(request).user.id, request.query.limit, request.query.cursor),
  );

  app.get(
    "/orgs/:orgId",
    {
      config: { access: access.member() },
      schema: {
        tags: ["organizations"],
        summary: "The organization, with its member and pending-invitation counts",
        params: orgParams,
        response: { 200: orgDetailSchema, ...readErrors },
      },
    },
    async (request) => getOrgDetail(ctx, request.params.orgId),
  );

  app.patch(
    "/orgs/:orgId",
    {
      config: { access: access.member("org:update") },
      schema: {
        tags: ["organizations"],
        summary: "Edit the organization profile and security policy",
        description:
          "Requiring two-factor authentication for every member needs the author's own 2FA on (409 " +
          "`enable_two_factor_first`). `memberLimit` (null = unlimited) may be set below the seats in use: it " +
          "then only stops new invitations; changing it also needs `billing:manage` (403 `permission_denied`).",
        params: orgParams,
        body: updateOrgBody,
        response: { 200: orgSchema, ...writeErrors },
      },
    },
    async (request) => updateOrg(ctx, requireMember(request), requireUser(request), actorOf(request), request.body),
  );

  app.delete(
    "/orgs/:orgId",
    {
      config: { access: access.owner() },
      schema: {
        tags: ["organizations"],
        summary: "Delete the organization and everything in it (owner, re-authenticated)",
        description:
          "Needs the owner's password, and a 2FA code when the owner has 2FA (403 `invalid_password`, " +
          "`two_factor_code_required`, `invalid_two_factor_code`; 429 after too many failures).",
        params: orgParams,
        body: deleteOrgBody,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteOrg(ctx, requireMember(request), request.body);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/orgs/:orgId/me",
    {
      config: { access: access.member() },
      schema: {
        tags: ["organizations"],
        summary: "The caller's membership: roles and effective permissions",
        description:
          "Reachable even when the organization's 2FA policy blocks the caller (`twoFactorBlocked`), so the web " +
          "app can explain what to do.",
        params: orgParams,
        response: { 200: orgMeSchema, ...readErrors },
      },
    },
    async (request) => orgMe(ctx, requireMember(request), requireUser(request)),
  );

  app.post(
    "/orgs/:orgId/leave",
    {
      config: { access: access.member() },
      schema: {
        tags: ["organizations"],
        summary: "Leave the organization (not the owner: 403 `owner_cannot_leave`)",
        params: orgParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await leaveOrg(ctx, requireMember(request), actorOf(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/orgs/:orgId/transfer-ownership",
    {
      config: { access: access.owner() },
      schema: {
        tags: ["organizations"],
        summary: "Hand the organization to another member; the old owner becomes an Administrator",
        description:
          "Re-authenticated like deletion. Both people are emailed. Concurrent transfers, or a transfer racing the " +
          "removal of its target, leave exactly one owner.",
        params: orgParams,
        body: transferOwnershipBody,
        response: { 200: transferResultSchema, ...writeErrors },
      },
    },
    async (request) => transferOwnership(ctx, requireMember(request), actorOf(request), request.body),
  );
};
