import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { uuidSchema } from "../../../shared/schemas/common.js";
import { access } from "../../http/access.js";
import { notFound } from "../../http/problem.js";
import { requireUser } from "../../http/request-context.js";
import { clearSessionCookie } from "../auth/cookie.js";
import { revokeAllSessions, revokeSession } from "../auth/sessions.js";
import { meErrors, paginationQuery, sessionsPage } from "./schemas.js";
import { listSessions } from "./sessions.js";

export const sessionRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;
  const signedIn = { access: access.signedIn() };

  app.get(
    "/me/sessions",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Own signed-in sessions, newest first; `current` marks this one",
        querystring: paginationQuery,
        response: { 200: sessionsPage, ...meErrors },
      },
    },
    async (request) => {
      const { user, session } = requireUser(request);
      return listSessions(ctx.db, user.id, session.id, request.query);
    },
  );

  app.delete(
    "/me/sessions/:sessionId",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Sign one session out (this one too, like logging out)",
        params: z.object({ sessionId: uuidSchema }),
        response: { 204: z.null(), ...meErrors },
      },
    },
    async (request, reply) => {
      const { user, session } = requireUser(request);
      // Another user's session answers exactly like one that does not exist.
      if (!(await revokeSession(ctx.db, user.id, request.params.sessionId)))
        throw notFound("session", "session_not_found");
      if (request.params.sessionId === session.id) clearSessionCookie(reply, ctx.config);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    "/me/sessions",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Sign every other session out; this one stays",
        response: { 200: z.object({ revoked: z.number().int() }), ...meErrors },
      },
    },
    async (request) => {
      const { user, session } = requireUser(request);
      return { revoked: await revokeAllSessions(ctx.db, user.id, session.id) };
    },
  );
};
