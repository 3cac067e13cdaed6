import type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { acceptInvitationBody, inviteRequestBody, listInvitationsQuery } from "../../../shared/schemas/invitations.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { setSessionCookie } from "../auth/cookie.js";
import { clientOf } from "../auth/routes.js";
import { orgParams } from "../orgs/schemas.js";
import { acceptInvitation, declineInvitation, previewInvitation } from "./accept.js";
import { listInvitations } from "./repo.js";
import {
  acceptResultSchema,
  bulkResultSchema,
  invitationListSchema,
  invitationParams,
  invitationSchema,
  previewSchema,
  tokenBody,
} from "./schemas.js";
import { inviteBulk, inviteCsv, inviteOne, resendInvitation, revokeInvitation } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema, 410: problemSchema, 429: problemSchema };

export const invitationsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;

  // The one route that takes a CSV document (the web app's import posts the file as is) gets the
  // text/csv parser in a context of its own: every other route stays JSON only. Not text/plain, a
  // type browsers send cross-site without a preflight (app.ts removes Fastify's parser for it).
  await app.register(async (csv) => {
    csv.addContentTypeParser("text/csv", { parseAs: "string" }, (_req, body, done) => done(null, body));
    csv.withTypeProvider<ZodTypeProvider>().post(
      "/orgs/:orgId/invitations",
      {
        config: { access: access.member("members:invite") },
        schema: {
          tags: ["invitations"],
          summary: "Invite one person (201), a list (200, per-row results) or a CSV import (200, per-row results)",
          description:
            "Sends the invitation email with the accept link. 409 `already_member`, `invitation_pending` (resend it), " +
            "`member_limit_reached` (members + pending invitations against the seat limit); 403 " +
            "`permission_escalation` for roles beyond the caller's permissions; 400 `unknown_role`. In bulk, each " +
            "row carries its own status and error; rows are independent. 403 `email_not_verified` until the inviter's " +
            "email is verified; 429 `rate_limited` past 100 invitation emails an hour per inviter or 300 per organization.",
          params: orgParams,
          body: inviteRequestBody,
          response: { 200: bulkResultSchema, 201: invitationSchema, ...writeErrors },
        },
      },
      async (request, reply) => {
        const actor = requireMember(request);
        const by = actorOf(request);
        const body = request.body;
        if (typeof body === "string") return reply.code(200).send(await inviteCsv(ctx, actor, by, body));
        if ("invitations" in body) return reply.code(200).send(await inviteBulk(ctx, actor, by, body));
        return reply.code(201).send(await inviteOne(ctx, actor, by, body));
      },
    );
  });

  app.get(
    "/orgs/:orgId/invitations",
    {
      config: { access: access.member("members:read") },
      schema: {
        tags: ["invitations"],
        summary: "Invitations of the organization, newest first",
        params: orgParams,
        querystring: listInvitationsQuery,
        response: { 200: invitationListSchema, ...readErrors },
      },
    },
    async (request) => listInvitations(ctx.db, request.params.orgId, request.query),
  );

  app.post(
    "/orgs/:orgId/invitations/:id/resend",
    {
      config: { access: access.member("members:invite") },
      schema: {
        tags: ["invitations"],
        summary: "Send the invitation again with a new link and a new expiry (the old link stops working)",
        description:
          "Pending (or expired) invitations only: 409 `invitation_not_pending`. At most 3 resends an hour per " +
          "invitation (429 `rate_limited`).",
        params: invitationParams,
        response: { 200: invitationSchema, ...writeErrors },
      },
    },
    async (request) => resendInvitation(ctx, requireMember(request), actorOf(request), request.params.id),
  );

  app.delete(
    "/orgs/:orgId/invitations/:id",
    {
      config: { access: access.member("members:invite") },
      schema: {
        tags: ["invitations"],
        summary: "Revoke an invitation: its link stops working",
        params: invitationParams,
        response: { 200: invitationSchema, ...writeErrors },
      },
    },
    async (request) => revokeInvitation(ctx, requireMember(request), actorOf(request), request.params.id),
  );

  // The token of the emailed link goes in the body, not the path: a URL lands in access logs,
  // proxies, browser history and Referer headers (docs/decisions.md, "OpenAPI document").
  app.post(
    "/invitations/preview",
    {
      config: { access: access.public() },
      schema: {
        tags: ["invitations"],
        summary: "Preview an invitation from its link's token (no sign-in needed)",
        description:
          "A pending invitation: organization, inviter, invited email and names, roles, expiry. A closed one: 410 " +
          "`invitation_expired` / `_revoked` / `_accepted` / `_declined` with `state` and nothing else. An unknown " +
          "token, or one replaced by a resend: 404 `invitation_not_found`. Changes nothing.",
        body: tokenBody,
        response: { 200: previewSchema, 400: problemSchema, 404: problemSchema, 410: problemSchema },
      },
    },
    async (request) => previewInvitation(ctx, request.body.token),
  );

  app.post(
    "/invitations/accept",
    {
      config: { access: access.public() },
      schema: {
        tags: ["invitations"],
        summary: "Accept: join with the invited roles (signed in, or creating the account on the spot)",
        description:
          "Signed in with the invited email: send `{token}`. No account for that email: send `{token, password, " +
          "firstName?, lastName?}`; the account is created with its email verified and signed in (session cookie). " +
          "403 `invitation_email_mismatch`, 401 `sign_in_required` (an account exists), 400 `password_required`, " +
          "410 `invitation_expired` / `_revoked` / `_accepted` / `_declined` with `state`.",
        body: acceptInvitationBody.extend(tokenBody.shape),
        response: { 200: acceptResultSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const { token, ...body } = request.body;
      const result = await acceptInvitation(ctx, token, request.auth, body, clientOf(request), actorOf(request));
      if (result.session) setSessionCookie(reply, ctx.config, result.session.token);
      const { session: _session, ...dto } = result;
      return dto;
    },
  );

  app.post(
    "/invitations/decline",
    {
      config: { access: access.public() },
      schema: {
        tags: ["invitations"],
        summary: "Decline an invitation",
        body: tokenBody,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await declineInvitation(ctx, request.body.token, actorOf(request));
      return reply.code(204).send(null);
    },
  );
};
