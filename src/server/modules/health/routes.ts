import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
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
        response: { 200: z.object({ status: z.literal("ready"), database: z.enum(["pglite", "postgres"]) }) },
      },
    },
    async () => {
      try {
        await app.ctx.database.ping();
      } catch {
        throw new AppError(503, "database_unavailable", "The database does not answer.");
      }
      return { status: "ready" as const, database: app.ctx.database.kind };
    },
  );
};
