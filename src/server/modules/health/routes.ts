import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { authzState } from "../../authz/start.js";
import { access } from "../../http/access.js";
import { AppError } from "../../http/problem.js";

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/healthz",
    {
      config: { access: access.public() },
      schema: {
        tags: ["health"],
        summary: "Liveness: the process answers",
        response: { 200: z.object({ status: z.literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: { access: access.public() },
      schema: {
        tags: ["health"],
        summary: "Readiness: the database answers",
        description:
          "`authorizationCache`: `on` (answering from the cache), `degraded` (not listening for changes " +
          "right now: every request reads the database; still correct, slower) or `off` (AUTHZ_CACHE=off). " +
          "A degraded cache does not make the instance unready.",
        response: {
          200: z.object({
            status: z.literal("ready"),
            database: z.enum(["pglite", "postgres"]),
            authorizationCache: z.enum(["on", "degraded", "off"]),
          }),
        },
      },
    },
    async () => {
      try {
        await app.ctx.database.ping();
      } catch {
        throw new AppError(503, "database_unavailable", "The database does not answer.");
      }
      return {
        status: "ready" as const,
        database: app.ctx.database.kind,
        authorizationCache: authzState(app.ctx.authz),
      };
    },
  );
};
