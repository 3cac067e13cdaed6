import fastifyCookie from "@fastify/cookie";
import fastifyHelmet from "@fastify/helmet";
import fastifySwagger from "@fastify/swagger";
import fastifySwaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { Logger } from "pino";
import { type Authz, startAuthz } from "./authz/start.js";
import type { Config } from "./config.js";
import type { AppContext } from "./context.js";
import type { Database } from "./db/client.js";
import { access } from "./http/access.js";
import { devTool } from "./http/dev-tools.js";
import { installGuard, installWriteBarrier } from "./http/guard.js";
import { OPENAPI_TAGS, openapiTransform, openapiTransformObject, SECURITY_SCHEMES } from "./http/openapi.js";
import { installProblemHandlers } from "./http/problem.js";
import { installRouteRegistry } from "./http/route-registry.js";
import { JobQueue } from "./jobs/queue.js";
import { registerRetentionJob } from "./modules/activity/retention.js";
import { activityRoutes } from "./modules/activity/routes.js";
import { authRoutes } from "./modules/auth/routes.js";
import { sessionCookieName } from "./modules/auth/sessions.js";
import { healthRoutes } from "./modules/health/routes.js";
import { invitationsRoutes } from "./modules/invitations/routes.js";
import { Outbox } from "./modules/mail/outbox.js";
import { devMailboxPages } from "./modules/mail/pages.js";
import { devMailboxRoutes } from "./modules/mail/routes.js";
import { meRoutes } from "./modules/me/routes.js";
import { membersRoutes } from "./modules/members/routes.js";
import { orgsRoutes } from "./modules/orgs/routes.js";
import { rolesRoutes } from "./modules/roles/routes.js";
import { serveWebApp } from "./web.js";

export type App = FastifyInstance;

export interface BuildOptions {
  config: Config;
  database: Database;
  logger: Logger;
  /** A mail outbox of the test's own (SMTP settings), on the app's job queue. */
  outbox?: (jobs: JobQueue) => Outbox;
  /** The guard's cache (default: started here for the database and config). */
  authz?: Authz;
  /** Run job workers and schedules in this process (`npm start`); off, jobs are only enqueued. */
  workers?: boolean;
  /** Serve the built web app from dist/web (production and npm start). */
  serveWeb?: boolean;
  /** Sees every route as it is registered (tests list the routes and their access declarations). */
  onRoute?: (route: RouteOptions) => void;
}

export async function buildApp(opts: BuildOptions): Promise<FastifyInstance> {
  const { config, database, logger } = opts;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 500 },
  });
  if (opts.onRoute) app.addHook("onRoute", opts.onRoute);

  const jobs = new JobQueue(database, logger, {
    workers: opts.workers ?? false,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
  });
  const outbox = opts.outbox?.(jobs) ?? Outbox.fromConfig(database.db, logger, config, jobs);
  const authz = opts.authz ?? (await startAuthz(database, config, logger));
  const ctx: AppContext = { config, database, db: database.db, log: logger, outbox, authz, jobs };
  app.decorate("ctx", ctx);
  app.addHook("onClose", () => authz.bus.stop());
  registerRetentionJob(ctx);
  // Not awaited: an app whose database is down at start answers 503 until it is back, and the
  // queue starts then (enqueue, drain and counts wait for it).
  void jobs.start().catch(() => {});
  app.addHook("onClose", async () => {
    await jobs.stop();
    await outbox.stop();
  });

  // The API speaks JSON (and the CSV import, text/csv, in its own route). Fastify also parses
  // text/plain by default: a type a browser sends cross-site without a CORS preflight, so a
  // cross-site form could reach a handler. Without the parser it is 415 `unsupported_media_type`.
  app.removeContentTypeParser("text/plain");
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);

  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if (request.url.startsWith("/api/")) reply.header("cache-control", "no-store");
  });

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", "data:", "https:"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        // Over plain http (development) upgrading would break every request.
        upgradeInsecureRequests: config.appUrl.startsWith("https:") ? [] : null,
      },
    },
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: config.appUrl.startsWith("https:"),
  });
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Chorus API",
        version: "1.0.0",
        description:
          "Team management and role-based access control for WhatsApp Business API workspaces. Errors are RFC 9457 problem+json with a stable `code`.",
      },
      tags: [...OPENAPI_TAGS],
      components: {
        securitySchemes: {
          ...SECURITY_SCHEMES,
          session: { ...SECURITY_SCHEMES.session, name: sessionCookieName(config.appUrl) },
        },
      },
    },
    // Per operation: operationId, security and problem answers from the route's declarations
    // (src/server/http/openapi.ts); per document: the named Zod schemas as components.
    transform: openapiTransform,
    transformObject: openapiTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: "/docs", staticCSP: true });

  installGuard(app);
  installWriteBarrier(app);
  installRouteRegistry(app);

  app.get("/api/openapi.json", { schema: { hide: true }, config: { access: access.public() } }, async () =>
    app.swagger(),
  );

  await app.register(healthRoutes);
  await app.register(
    async (api) => {
      await api.register(authRoutes);
      await api.register(meRoutes);
      await api.register(orgsRoutes);
      await api.register(membersRoutes);
      await api.register(invitationsRoutes);
      await api.register(rolesRoutes);
      await api.register(activityRoutes);
      if (config.devMailbox) await api.register(devTool(devMailboxRoutes, config.devToolsPublic));
    },
    { prefix: "/api/v1" },
  );

  if (config.devMailbox) await app.register(devTool(devMailboxPages, config.devToolsPublic));
  if (opts.serveWeb) await serveWebApp(app, config);

  return app;
}
