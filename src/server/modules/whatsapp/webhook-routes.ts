import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { access } from "../../http/access.js";
import { AppError, forbidden, notFound, problemSchema } from "../../http/problem.js";
import { whatsappOf } from "./runtime.js";

const params = z.object({
  webhookId: z
    .string()
    .length(32)
    .meta({
      description:
        "The channel's 128-bit random webhook id (hex), from its webhook URL. It only routes: Meta proves " +
        "itself with the verify token (GET) and the body's signature (POST).",
    }),
});

const verifyQuery = z.object({
  "hub.mode": z.string().max(40).optional(),
  "hub.verify_token": z.string().max(400).optional(),
  "hub.challenge": z.string().max(400).optional(),
});

/** `sha256=<hex>` of HMAC-SHA256(raw body, app secret), compared in constant time. */
export function signatureMatches(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const hex = header.slice(7).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const given = Buffer.from(hex, "hex");
  const expected = createHmac("sha256", appSecret).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function signBody(raw: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac("sha256", appSecret).update(raw).digest("hex")}`;
}

const unknownChannel = () => notFound("webhook", "webhook_not_found");
const WEBHOOK_ID = /^[0-9a-f]{32}$/;

/**
 * Meta's webhooks for one channel, routed by the webhook key (no organization in the path).
 * Public: Meta proves itself with the verify token (GET) and the signature of the raw body (POST).
 */
export const whatsappWebhookRoutes: FastifyPluginAsyncZod = async (app) => {
  const ctx = app.ctx;
  const rt = whatsappOf(ctx);

  // The signature covers the bytes Meta sent (escaped unicode and all): keep them, parse later.
  // Not JSON is a 400 before anything else (as on every route): Meta never sends it, so nothing
  // that is not JSON is stored.
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    try {
      JSON.parse((body as Buffer).toString("utf8"));
    } catch {
      return done(new AppError(400, "malformed_json", "The request body is not valid JSON."), undefined);
    }
    done(null, body);
  });

  app.get(
    "/webhooks/whatsapp/:webhookId",
    {
      config: { access: access.public() },
      schema: {
        tags: ["webhooks"],
        summary: "Meta's webhook verification: answers hub.challenge when hub.verify_token matches",
        description:
          "Meta's protocol puts the verify token in the query (`hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`), " +
          "so those parameters are read by the handler and not documented as parameters here (this document's rules " +
          "refuse a credential in a URL everywhere else): the channel's verify token → 200 with the challenge as " +
          "text/plain; anything else → 403 `verification_failed`.",
        params,
        response: {
          200: z.string().max(400).meta({ description: "hub.challenge, as text/plain" }),
          403: problemSchema,
          404: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const channel = WEBHOOK_ID.test(request.params.webhookId)
        ? await rt.channelByWebhookKey(request.params.webhookId)
        : null;
      if (!channel) throw unknownChannel();
      const parsed = verifyQuery.safeParse(request.query);
      const q = parsed.success ? parsed.data : {};
      const token = q["hub.verify_token"] ?? "";
      const a = Buffer.from(token);
      const b = Buffer.from(channel.verifyToken);
      const ok = q["hub.mode"] === "subscribe" && a.length === b.length && timingSafeEqual(a, b);
      if (!ok || q["hub.challenge"] === undefined) {
        throw forbidden("verification_failed", "The verify token or mode does not match.");
      }
      return reply.code(200).type("text/plain; charset=utf-8").serializer(String).send(q["hub.challenge"]);
    },
  );

  app.post(
    "/webhooks/whatsapp/:webhookId",
    {
      config: { access: access.public(), noAuthzChange: true },
      schema: {
        tags: ["webhooks"],
        summary: "Meta's webhook notifications (messages, statuses, template status updates)",
        description:
          "Accepted only with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>` " +
          "(401 `invalid_signature` otherwise, nothing stored). Stored durably, answered 200 at once, applied in " +
          "the background; a byte-identical redelivery is acknowledged and stored once.",
        params,
        response: { 200: z.object({ received: z.boolean() }), 401: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const channel = WEBHOOK_ID.test(request.params.webhookId)
        ? await rt.channelByWebhookKey(request.params.webhookId)
        : null;
      if (!channel) throw unknownChannel();
      const raw = Buffer.isBuffer(request.body) ? request.body : null;
      const header = request.headers["x-hub-signature-256"];
      if (!raw || !signatureMatches(raw, Array.isArray(header) ? header[0] : header, channel.appSecret)) {
        throw new AppError(401, "invalid_signature", "The X-Hub-Signature-256 header is missing or does not match.");
      }
      await rt.webhooks.store({ orgId: channel.orgId, channelId: channel.channelId, raw });
      return { received: true };
    },
  );
};
