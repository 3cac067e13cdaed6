import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { presenceSchema, putCapacityBody, putPresenceBody } from "../../../shared/schemas/presence.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { memberParams } from "../members/schemas.js";
import { getPresence, setCapacity, setPresence } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

export const presenceRoutes: FastifyPluginAsyncZod = async (app) => {
  const ctx = app.ctx;

  app.get(
    "/orgs/:orgId/me/presence",
    {
      config: { access: access.member() },
      schema: {
        tags: ["presence"],
        summary: "The caller's presence, capacity and open assigned conversations",
        params: orgParams,
        response: { 200: presenceSchema, ...readErrors },
      },
    },
    async (request) => {
      const member = requireMember(request);
      return getPresence(ctx.db, member.orgId, member.memberId);
    },
  );

  app.put(
    "/orgs/:orgId/me/presence",
    {
      config: { access: access.member(), noAuthzChange: true },
      schema: {
        tags: ["presence"],
        summary: "Set the caller's presence: online, busy or offline",
        description:
          "Only `online` members are given conversations by the assignment rules (DESIGN §7.4). Coming online hands " +
          "out queued conversations (in the background); going offline with `assignment.reassignOnOffline` returns " +
          "the caller's unanswered conversations to the queue (`returnedToQueue`).",
        params: orgParams,
        body: putPresenceBody,
        response: { 200: presenceSchema, ...readErrors },
      },
    },
    async (request) => setPresence(ctx, requireMember(request), actorOf(request), request.body.status),
  );

  app.put(
    "/orgs/:orgId/members/:memberId/capacity",
    {
      config: { access: access.member("members:update"), noAuthzChange: true },
      schema: {
        tags: ["presence"],
        summary: "Set a member's capacity for automatic assignment (null: the workspace default)",
        description:
          "The most open + pending conversations the assignment rules give this member; manual assignments are not " +
          "limited. Unknown member: 404 `member_not_found`.",
        params: memberParams,
        body: putCapacityBody,
        response: { 200: presenceSchema, ...readErrors },
      },
    },
    async (request) =>
      setCapacity(ctx, actorOf(request), request.params.orgId, request.params.memberId, request.body.capacity),
  );
};
