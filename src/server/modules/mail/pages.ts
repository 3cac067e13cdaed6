import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { mailOutbox } from "../../db/schema/index.js";
import { isUuidShaped } from "../../lib/uuid.js";
import { URL_RE } from "./outbox.js";
import { escapeHtml } from "./templates.js";

type Message = typeof mailOutbox.$inferSelect;

const STYLE = `
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#111;line-height:1.45}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{font-size:.8rem;color:#555;text-transform:uppercase}a{color:#047857}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem;border-radius:6px}
.muted{color:#666;font-size:.85rem}.status-failed{color:#b91c1c}dl{display:grid;grid-template-columns:8rem 1fr;gap:.3rem 1rem}dt{color:#555}
`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function send(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(html);
}

/** Text with every http(s) URL turned into a plain <a href> link; everything escaped. */
function linkify(text: string): string {
  let out = "";
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const url = match[0];
    out += escapeHtml(text.slice(last, match.index));
    out += `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`;
    last = match.index + url.length;
  }
  return out + escapeHtml(text.slice(last));
}

function listPage(rows: Message[], to: string | undefined): string {
  const items = rows
    .map(
      (m) =>
        `<tr><td class="muted"><time datetime="${m.createdAt.toISOString()}">${escapeHtml(m.createdAt.toISOString().replace("T", " ").slice(0, 19))}</time></td>` +
        `<td>${escapeHtml(m.toEmail)}</td>` +
        `<td><a href="/dev/mailbox/${m.id}">${escapeHtml(m.subject)}</a></td>` +
        `<td class="status-${escapeHtml(m.status)}">${escapeHtml(m.status)}</td></tr>`,
    )
    .join("");
  const filter = to
    ? `<p>Messages to <strong>${escapeHtml(to)}</strong> · <a href="/dev/mailbox">all messages</a></p>`
    : "";
  const table = rows.length
    ? `<table><thead><tr><th>Date (UTC)</th><th>To</th><th>Subject</th><th>Status</th></tr></thead><tbody>${items}</tbody></table>`
    : `<p>No messages yet.</p>`;
  return page(
    "Development mailbox · Chorus",
    `<h1>Development mailbox</h1><p class="muted">Mail Chorus sends while no SMTP server is configured, newest first. Only available in development.</p>${filter}${table}`,
  );
}

function messagePage(m: Message): string {
  const links = [...new Set(m.textBody.match(URL_RE) ?? [])];
  const linkList = links.length
    ? `<h2>Links</h2><ul>${links.map((u) => `<li><a href="${escapeHtml(u)}">${escapeHtml(u)}</a></li>`).join("")}</ul>`
    : "";
  return page(
    `${m.subject} · Development mailbox`,
    `<p><a href="/dev/mailbox">← All messages</a></p><h1>${escapeHtml(m.subject)}</h1>` +
      `<dl><dt>To</dt><dd>${escapeHtml(m.toEmail)}</dd><dt>Date (UTC)</dt><dd>${escapeHtml(m.createdAt.toISOString())}</dd>` +
      `<dt>Template</dt><dd>${escapeHtml(m.template)} (${escapeHtml(m.locale)})</dd><dt>Status</dt><dd>${escapeHtml(m.status)}</dd></dl>` +
      linkList +
      `<h2>Text</h2><pre>${linkify(m.textBody)}</pre>` +
      `<p><a href="/dev/mailbox/${m.id}/html">View the HTML version</a></p>`,
  );
}

/**
 * The development mailbox as server-rendered pages (no scripts; everything escaped; links are
 * plain <a href>). Registered only when no SMTP server is configured, never in production.
 */
export const devMailboxPages: FastifyPluginAsync = async (app) => {
  app.get("/dev/mailbox", { schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const to = typeof query.to === "string" && query.to.length <= 320 ? query.to : undefined;
    const rows = await app.ctx.outbox.list({ limit: 200, to });
    return send(reply, 200, listPage(rows, to));
  });

  app.get("/dev/mailbox/:id", { schema: { hide: true } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const m = isUuidShaped(id) ? await app.ctx.outbox.get(id) : null;
    if (!m)
      return send(
        reply,
        404,
        page("Not found", `<h1>No such message</h1><p><a href="/dev/mailbox">All messages</a></p>`),
      );
    return send(reply, 200, messagePage(m));
  });

  // The HTML body exactly as sent, in a sandbox: no scripts, no forms, nothing loaded but images.
  app.get("/dev/mailbox/:id/html", { schema: { hide: true } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const m = isUuidShaped(id) ? await app.ctx.outbox.get(id) : null;
    if (!m) return send(reply, 404, page("Not found", `<h1>No such message</h1>`));
    reply.header(
      "content-security-policy",
      "sandbox allow-popups allow-top-navigation-by-user-activation; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:",
    );
    return send(reply, 200, m.htmlBody);
  });
};
