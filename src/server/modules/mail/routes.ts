import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { mailOutbox } from "../../db/schema/index.js";
import { access } from "../../http/access.js";
import { notFound, problemSchema } from "../../http/problem.js";

const messageSchema = z.object({
  id: z.string(),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  template: z.string(),
  locale: z.string(),
  status: z.string(),
  createdAt: z.date(),
  sentAt: z.date().nullable(),
});

function toMessage(r: typeof mailOutbox.$inferSelect): z.infer<typeof messageSchema> {
  return {
    id: r.id,
    to: r.toEmail,
    subject: r.subject,
    text: r.textBody,
    html: r.htmlBody,
    template: r.template,
    locale: r.locale,
    status: r.status,
    createdAt: r.createdAt,
    sentAt: r.sentAt,
  };
}

/**
 * Development mailbox API: only registered when no SMTP server is configured (never in
 * production). The HTML pages at /dev/mailbox are in pages.ts.
 */
export const devMailboxRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    "/dev/mailbox",
    {
      config: { access: access.public() },
      schema: {
        tags: ["development"],
        summary: "Messages the app sent, newest first (development mailbox)",
        querystring: z.object({
          to: z.string().max(320).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: { 200: z.object({ items: z.array(messageSchema) }), 400: problemSchema },
      },
    },
    async (request) => {
      const rows = await app.ctx.outbox.list({ limit: request.query.limit, to: request.query.to });
      return { items: rows.map(toMessage) };
    },
  );

  app.get(
    "/dev/mailbox/:id",
    {
      config: { access: access.public() },
      schema: {
        tags: ["development"],
        summary: "One message of the development mailbox",
        params: z.object({ id: z.uuid() }),
        response: { 200: messageSchema, 400: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const row = await app.ctx.outbox.get(request.params.id);
      if (!row) throw notFound("message", "message_not_found");
      return toMessage(row);
    },
  );
};
