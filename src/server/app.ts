import fastifyCookie from "@fastify/cookie";
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
import { helmetOptions, installSecurityHeaders } from "./http/security-headers.js";
import { JobQueue } from "./jobs/queue.js";
import { RequestLogController } from "./logger.js";
import { registerRetentionJob } from "./modules/activity/retention.js";
import { activityRoutes } from "./modules/activity/routes.js";
import { analyticsRoutes } from "./modules/analytics/routes.js";
import { authRoutes } from "./modules/auth/routes.js";
import { sessionCookieName } from "./modules/auth/sessions.js";
import { automationsRoutes } from "./modules/automations/routes.js";
import { registerAutomationJobs } from "./modules/automations/run.js";
import { registerBroadcastJobs } from "./modules/broadcasts/register.js";
import { broadcastsRoutes } from "./modules/broadcasts/routes.js";
import { channelsRoutes } from "./modules/channels/routes.js";
import { registerContactImportJob } from "./modules/contacts/import.js";
import { contactsRoutes } from "./modules/contacts/routes.js";
import { registerAssignmentJobs } from "./modules/conversations/assignment.js";
import { conversationsRoutes } from "./modules/conversations/routes.js";
import { registerSnoozeJob } from "./modules/conversations/snooze-job.js";
import { startRealtime } from "./modules/events/register.js";
import { eventsRoutes } from "./modules/events/routes.js";
import { healthRoutes } from "./modules/health/routes.js";
import { invitationsRoutes } from "./modules/invitations/routes.js";
import { listsRoutes } from "./modules/lists/routes.js";
import { Outbox } from "./modules/mail/outbox.js";
import { devMailboxPages } from "./modules/mail/pages.js";
import { devMailboxRoutes } from "./modules/mail/routes.js";
import { meRoutes } from "./modules/me/routes.js";
import { membersRoutes } from "./modules/members/routes.js";
import { notificationsRoutes } from "./modules/notifications/routes.js";
import { orgsRoutes } from "./modules/orgs/routes.js";
import { presenceRoutes } from "./modules/presence/routes.js";
import { rolesRoutes } from "./modules/roles/routes.js";
import { settingsRoutes } from "./modules/settings/routes.js";
import { tagsRoutes } from "./modules/tags/routes.js";
import { teamsRoutes } from "./modules/teams/routes.js";
import { templatesRoutes } from "./modules/templates/routes.js";
import { devPhonePages } from "./modules/whatsapp/dev-phone.js";
import { embeddedSimulator, registerWhatsAppJobs } from "./modules/whatsapp/register.js";
import { whatsappWebhookRoutes } from "./modules/whatsapp/webhook-routes.js";
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
    // One line per request, on response (logger.ts).
    logController: new RequestLogController(),
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
  registerContactImportJob(ctx);
  registerWhatsAppJobs(ctx);
  registerAssignmentJobs(ctx);
  await startRealtime(app, ctx);
  registerSnoozeJob(ctx);
  registerAutomationJobs(ctx);
  registerBroadcastJobs(ctx, { workers: opts.workers ?? false });
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

  // Hooks on the request path are callback-style, not async: no promise per request (issue 12).
  app.addHook("onSend", (request, reply, payload, done) => {
    reply.header("x-request-id", request.id);
    if (request.url.startsWith("/api/")) reply.header("cache-control", "no-store");
    done(null, payload);
  });

  // helmet's headers, computed once at start (http/security-headers.ts), set on every response.
  installSecurityHeaders(app, helmetOptions(config));
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
      await api.register(contactsRoutes);
      await api.register(tagsRoutes);
      await api.register(listsRoutes);
      await api.register(teamsRoutes);
      await api.register(channelsRoutes);
      await api.register(settingsRoutes);
      await api.register(conversationsRoutes);
      await api.register(presenceRoutes);
      await api.register(analyticsRoutes);
      await api.register(templatesRoutes);
      await api.register(eventsRoutes);
      await api.register(notificationsRoutes);
      await api.register(automationsRoutes);
      await api.register(broadcastsRoutes);
      await api.register(whatsappWebhookRoutes);
      if (config.devMailbox) await api.register(devTool(devMailboxRoutes, config.devToolsPublic));
    },
    { prefix: "/api/v1" },
  );

  if (config.devMailbox) await app.register(devTool(devMailboxPages, config.devToolsPublic));
  if (config.nodeEnv !== "production") {
    // The fake Graph API of `simulator` channels and the phone to chat as their customers.
    await app.register(devTool(embeddedSimulator, config.devToolsPublic));
    await app.register(devTool(devPhonePages, config.devToolsPublic));
  }
  if (opts.serveWeb) await serveWebApp(app, config);

  return app;
}
