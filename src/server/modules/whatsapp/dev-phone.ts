import { and, asc, desc, eq } from "drizzle-orm";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { contacts, messages, waChannels } from "../../db/schema/index.js";
import { appSecretOf } from "../channels/repo.js";
import { escapeHtml } from "../mail/templates.js";
import { inboundTextValue } from "./simulator/fake-graph.js";
import { signBody } from "./webhook-routes.js";

const STYLE = `
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:34rem;padding:0 1rem;color:#111}
h1{font-size:1.3rem}form.pick{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.8rem;color:#555;gap:.2rem}select,input{font:inherit;padding:.35rem}
.thread{background:#efeae2;border-radius:8px;padding:1rem;min-height:14rem;display:flex;flex-direction:column;gap:.4rem}
.msg{max-width:80%;padding:.4rem .6rem;border-radius:8px;white-space:pre-wrap;word-break:break-word}
.in{align-self:flex-end;background:#d9fdd3}.out{align-self:flex-start;background:#fff}
.meta{font-size:.7rem;color:#667}.read{color:#53bdeb}.failed{color:#b91c1c}
form.send{display:flex;gap:.5rem;margin-top:.8rem}form.send input{flex:1}.muted{color:#666;font-size:.85rem}
`;

/** What the customer sees of the business's message: ✓ sent, ✓✓ delivered, blue ✓✓ read, ! failed. */
function ticks(status: string): string {
  switch (status) {
    case "sent":
      return "✓";
    case "delivered":
      return "✓✓";
    case "read":
      return `<span class="read">✓✓</span>`;
    case "failed":
      return `<span class="failed">! failed</span>`;
    default:
      return "🕓";
  }
}

function send(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(html);
}

const digitsOnly = (s: string | undefined) => (s ?? "").replace(/\D/g, "").slice(0, 20);

/**
 * `/dev/phone`: chat as a customer of a `simulator` channel (development only, loopback only,
 * like the mailbox). What the customer types goes through the real signed webhook route; the
 * business's replies and their ticks are read back from the messages table. The page
 * refreshes itself every 3 seconds (no scripts).
 */
export const devPhonePages: FastifyPluginAsync = async (app) => {
  const ctx = app.ctx;
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.get<{ Querystring: { channel?: string; from?: string } }>(
    "/dev/phone",
    { schema: { hide: true } },
    async (request, reply) => {
      const channels = await ctx.db
        .select({
          id: waChannels.id,
          orgId: waChannels.orgId,
          name: waChannels.name,
          display: waChannels.displayPhoneNumber,
        })
        .from(waChannels)
        .where(eq(waChannels.mode, "simulator"))
        .orderBy(asc(waChannels.createdAt))
        .limit(200);
      const channel = channels.find((c) => c.id === request.query.channel) ?? channels[0];
      const from = digitsOnly(request.query.from) || "15551230001";
      let thread = "";
      if (channel) {
        const [contact] = await ctx.db
          .select({ id: contacts.id, name: contacts.name })
          .from(contacts)
          .where(and(eq(contacts.orgId, channel.orgId), eq(contacts.waId, from)));
        const rows = contact
          ? (
              await ctx.db
                .select()
                .from(messages)
                .where(
                  and(
                    eq(messages.orgId, channel.orgId),
                    eq(messages.contactId, contact.id),
                    eq(messages.channelId, channel.id),
                    // What the customer's phone got: WhatsApp messages, never notes or system lines.
                    eq(messages.kind, "message"),
                  ),
                )
                .orderBy(desc(messages.createdAt), desc(messages.id))
                .limit(60)
            ).reverse()
          : [];
        thread = rows.length
          ? rows
              .map((m) => {
                const time = m.createdAt.toISOString().slice(11, 16);
                const text = m.body ?? `[${m.type}]`;
                const meta =
                  m.direction === "out"
                    ? `${time} ${ticks(m.status)}${m.errorCode ? ` ${m.errorCode} ${escapeHtml(m.errorTitle ?? "")}` : ""}`
                    : time;
                return `<div class="msg ${m.direction === "in" ? "in" : "out"}">${escapeHtml(text)}<div class="meta">${meta}</div></div>`;
              })
              .join("")
          : `<p class="muted">No messages yet. Say hi to ${escapeHtml(channel.name)}.</p>`;
      }
      const options = channels
        .map(
          (c) =>
            `<option value="${c.id}"${c.id === channel?.id ? " selected" : ""}>${escapeHtml(c.name)} (${escapeHtml(c.display)})</option>`,
        )
        .join("");
      const body = channel
        ? `<form class="pick" method="get" action="/dev/phone"><label>Business number<select name="channel">${options}</select></label>` +
          `<label>You are (customer number)<input name="from" value="${escapeHtml(from)}" inputmode="tel" size="16"></label><button>Open</button></form>` +
          `<div class="thread" id="thread">${thread}</div>` +
          `<form class="send" method="post" action="/dev/phone/send"><input type="hidden" name="channel" value="${channel.id}">` +
          `<input type="hidden" name="from" value="${escapeHtml(from)}"><input name="text" autocomplete="off" autofocus required maxlength="4096" placeholder="Message">` +
          `<button>Send</button></form>`
        : `<p>No simulator channel yet: connect one (mode <code>simulator</code>) in Settings → WhatsApp or with POST /api/v1/orgs/:orgId/channels.</p>`;
      const refresh = channel ? `<meta http-equiv="refresh" content="3">` : "";
      return send(
        reply,
        200,
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${refresh}<title>Development phone · Chorus</title><style>${STYLE}</style></head><body>` +
          `<h1>Development phone</h1><p class="muted">Chat as a customer of a simulator channel. Messages go through the signed webhook; replies appear with their ticks. Only available in development.</p>${body}</body></html>`,
      );
    },
  );

  app.post<{ Body: { channel?: string; from?: string; text?: string } }>(
    "/dev/phone/send",
    { schema: { hide: true } },
    async (request, reply) => {
      // A page of another site must not post as the developer's customer.
      const origin = request.headers.origin;
      if (origin && origin !== "null" && new URL(origin).host !== request.headers.host) {
        return send(reply, 403, "Cross-site request refused.");
      }
      const b = request.body ?? {};
      const from = digitsOnly(b.from);
      const text = String(b.text ?? "").slice(0, 4096);
      const [channel] = await ctx.db
        .select()
        .from(waChannels)
        .where(and(eq(waChannels.id, String(b.channel ?? "")), eq(waChannels.mode, "simulator")));
      if (!channel || from.length < 5 || text.trim() === "")
        return send(reply, 400, "Pick a channel, a number and type a message.");
      const raw = JSON.stringify({
        object: "whatsapp_business_account",
        entry: [
          {
            id: channel.wabaId,
            changes: [{ value: inboundTextValue(channel, from, text, "Dev Phone"), field: "messages" }],
          },
        ],
      });
      const res = await app.inject({
        method: "POST",
        url: `/api/v1/webhooks/whatsapp/${channel.webhookKey}`,
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": signBody(raw, appSecretOf(ctx.config, channel)),
        },
        payload: raw,
      });
      if (res.statusCode !== 200) return send(reply, 502, `The webhook answered ${res.statusCode}.`);
      return reply.redirect(`/dev/phone?channel=${channel.id}&from=${from}`, 303);
    },
  );
};
