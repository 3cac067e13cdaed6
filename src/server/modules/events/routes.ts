import ssePlugin from "@fastify/sse";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { access } from "../../http/access.js";
import { AppError, problemSchema } from "../../http/problem.js";
import { requireUser } from "../../http/request-context.js";
import { sessionCookieName } from "../auth/sessions.js";
import { orgParams } from "../contacts/schemas.js";
import type { LoadedMember } from "../members/load-member.js";
import { eventHub } from "./hub.js";
import { EventStream } from "./stream.js";

/**
 * The package's default export is its plugin wrapped by fastify-plugin (so `sse` route options of
 * this scope are seen); its type declarations name only the bare function.
 */
const fastifySse = ssePlugin as unknown as typeof import("@fastify/sse").fastifySSE;

/** Comment lines that keep proxies and the client from timing the stream out. */
export const HEARTBEAT_MS = 20_000;

export const eventsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { config } = app.ctx;
  const hub = eventHub(app.ctx);
  const cookieName = sessionCookieName(config.appUrl);
  await app.register(fastifySse, { heartbeatInterval: HEARTBEAT_MS });

  app.get(
    "/orgs/:orgId/events",
    {
      // 'dual': only an explicit `Accept: text/event-stream` (what EventSource sends) opens a stream;
      // anything else is a problem+json 406 (the plugin's own 406 is not one).
      sse: "dual",
      config: { access: access.member() },
      schema: {
        tags: ["events"],
        summary: "Real-time events (Server-Sent Events)",
        description:
          "`text/event-stream` of `conversation.created|updated|assigned`, `message.created|status` and " +
          "`notification.created`, each `{id, kind, at, conversationId, …ids}`, filtered by what the caller may " +
          "see (DESIGN §7.3; notifications only to their recipient). The SSE `id` is the event's; a reconnect with " +
          "`Last-Event-ID` replays what it missed (kept 24 hours), or gets a `resync` event when that is not " +
          "possible (then reload). Comment lines every 20 s. The stream closes when the member is removed, loses " +
          "chat access or signs out.",
        params: orgParams,
        response: { 401: problemSchema, 403: problemSchema, 404: problemSchema, 406: problemSchema },
      },
    },
    async (request, reply) => {
      const auth = requireUser(request);
      if (!reply.sse) {
        throw new AppError(
          406,
          "event_stream_only",
          "This route answers text/event-stream only (send Accept: text/event-stream).",
        );
      }
      const header = request.headers.authorization;
      const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : request.cookies[cookieName];
      reply.sse.keepAlive();
      const stream = new EventStream(app.ctx, hub, reply, {
        orgId: request.params.orgId,
        member: request.member as LoadedMember,
        token: token ?? "",
        twoFactorVerified: auth.session.twoFactorVerified,
      });
      const lastEventId = request.headers["last-event-id"];
      stream.start(typeof lastEventId === "string" ? lastEventId : null);
    },
  );
};
