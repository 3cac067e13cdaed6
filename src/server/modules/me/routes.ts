import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { changePasswordBody, updateMeBody } from "../../../shared/schemas/me.js";
import { access } from "../../http/access.js";
import { requireUser } from "../../http/request-context.js";
import { listOwnLoginActivity } from "./login-activity.js";
import { changePassword } from "./password.js";
import { getMe, updateMe } from "./profile.js";
import { loginActivityPage, meErrors, meSchema, paginationQuery } from "./schemas.js";
import { sessionRoutes } from "./session-routes.js";
import { twoFactorRoutes } from "./two-factor-routes.js";

export const meRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;
  const signedIn = { access: access.signedIn() };

  app.get(
    "/me",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Own profile, preferences and memberships",
        response: { 200: meSchema, ...meErrors },
      },
    },
    async (request) => getMe(ctx.db, requireUser(request).user.id),
  );

  app.get(
    "/auth/session",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Who is signed in: the own profile, or null when signed out",
        description:
          "Public, and always 200: `{user: null}` without a valid session (the web app asks this at start, so a " +
          "signed-out page makes no request that fails; GET /me answers 401 instead).",
        response: { 200: z.object({ user: meSchema.nullable() }) },
      },
    },
    async (request, reply) => {
      reply.header("cache-control", "no-store");
      return { user: request.auth ? await getMe(ctx.db, request.auth.user.id) : null };
    },
  );

  app.patch(
    "/me",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Edit profile, interface language and notification preferences",
        description: "Every field is optional; notification preferences merge per event kind and channel.",
        body: updateMeBody,
        response: { 200: meSchema, ...meErrors },
      },
    },
    async (request) => {
      const { user } = requireUser(request);
      await updateMe(ctx.db, user.id, request.body);
      return getMe(ctx.db, user.id);
    },
  );

  app.post(
    "/me/password",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Change the password; signs out every other session",
        body: changePasswordBody,
        response: { 200: z.object({ otherSessionsRevoked: z.number().int() }), ...meErrors },
      },
    },
    async (request) => {
      const { user, session } = requireUser(request);
      return changePassword(ctx, { userId: user.id, sessionId: session.id }, request.body);
    },
  );

  app.get(
    "/me/login-activity",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Own sign-in attempts, successful and failed, newest first",
        querystring: paginationQuery,
        response: { 200: loginActivityPage, ...meErrors },
      },
    },
    async (request) => listOwnLoginActivity(ctx.db, requireUser(request).user.id, request.query),
  );

  await app.register(sessionRoutes);
  await app.register(twoFactorRoutes);
};
