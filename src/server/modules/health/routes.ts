import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { authzState } from "../../authz/start.js";
import { access } from "../../http/access.js";
import { AppError, databaseUnavailable } from "../../http/problem.js";
import type { JobCounts } from "../../jobs/queue.js";

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
          "A degraded cache does not make the instance unready. `jobs`: per background job type, how many are " +
          "queued (due now), deferred (due later or waiting to retry), active and failed (kept for inspection; " +
          "`npm run jobs` lists them with their last error).",
        response: {
          200: z.object({
            status: z.literal("ready"),
            database: z.enum(["pglite", "postgres"]),
            authorizationCache: z.enum(["on", "degraded", "off"]),
            jobs: z.record(
              z.string(),
              z.object({ queued: z.number(), deferred: z.number(), active: z.number(), failed: z.number() }),
            ),
          }),
        },
      },
    },
    async (request) => {
      let counts: JobCounts[];
      const ms = app.ctx.config.readyzTimeoutMs;
      // Its own short timeout: a load balancer's probe must hear "not ready" before it gives up,
      // whatever the connect and statement timeouts of ordinary requests are.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(databaseUnavailable(`The database did not answer within ${ms} ms.`)), ms);
      });
      try {
        // race() also handles a ping that fails after the timeout answered.
        counts = await Promise.race([app.ctx.database.ping().then(() => app.ctx.jobs.counts()), timeout]);
      } catch (err) {
        if (err instanceof AppError) throw err;
        request.log.warn({ err }, "readiness: the database does not answer");
        throw databaseUnavailable("The database does not answer.");
      } finally {
        clearTimeout(timer);
      }
      return {
        status: "ready" as const,
        database: app.ctx.database.kind,
        authorizationCache: authzState(app.ctx.authz),
        jobs: Object.fromEntries(counts.map(({ name, ...n }) => [name, n])),
      };
    },
  );
};
