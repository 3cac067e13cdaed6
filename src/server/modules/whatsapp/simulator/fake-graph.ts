import { createHash, createHmac, randomBytes } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { metaTemplateBody, variablesOf } from "../../../../shared/schemas/templates.js";

/**
 * A fake WhatsApp Cloud API (Graph API) speaking Meta's shapes (research §1, §5.6): validates
 * send requests as Meta does and answers its error bodies ({error:{message, type, code,
 * error_subcode, error_data, fbtrace_id}}), answers `wamid`s, then posts SIGNED `sent` /
 * `delivered` / `read` status webhooks to the number's webhook URL with configurable delays,
 * optional duplicates and reordering. Faults on demand: 131026 (undeliverable) and 131047
 * (re-engagement window) as failed statuses, 130429 (throughput) as the request's error —
 * per recipient (`POST /_sim/faults`), by recipient suffix (…0000 → 131026), or above the
 * configured messages/second. Template submissions are approved (or rejected, when the name
 * contains "reject") after a delay with a `message_template_status_update` webhook.
 *
 * Mounted inside Chorus for `simulator` channels (development, /dev/wa-sim) and runnable on its
 * own port (server.ts), where tests point WA_GRAPH_URL at it.
 */

export interface SimNumber {
  phoneNumberId: string;
  wabaId: string;
  displayPhoneNumber: string;
  verifiedName: string;
  accessToken: string;
  appSecret: string;
  webhookUrl: string;
}

export interface SimSettings {
  /** Milliseconds after the send when each status webhook goes out (null: never). */
  delays: { sent: number | null; delivered: number | null; read: number | null };
  /** Each status webhook is posted this many times (Meta delivers at least once). */
  duplicates: number;
  /** Post the statuses of a message in reverse order (read before delivered before sent). */
  reorder: boolean;
  /** Messages per second accepted per number before 130429 (0 = no limit). */
  mps: number;
  /** Template review delay. */
  templateDelayMs: number;
}

export const DEFAULT_SIM_SETTINGS: SimSettings = {
  delays: { sent: 50, delivered: 150, read: 400 },
  duplicates: 1,
  reorder: false,
  mps: 0,
  templateDelayMs: 500,
};

export interface CapturedRequest {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
  at: string;
}

export interface SimulatorOptions {
  /** The number behind a phone number id (or WABA id), or null when unknown. */
  resolve(id: string): Promise<SimNumber | null>;
  /** Posts a signed webhook body (default: fetch to the number's webhook URL). */
  deliver?(number: SimNumber, body: string, signature: string): Promise<void>;
  /** Where the simulator's own media URLs point (its base URL). */
  baseUrl(request: FastifyRequest): string;
  settings?: Partial<SimSettings>;
  log?: { warn(obj: object, msg: string): void };
}

interface Fault {
  to: string | null;
  code: number;
  remaining: number;
}

/** A template as the fake Graph API keeps it (per WABA). */
export interface SimTemplate {
  id: string;
  wabaId: string;
  name: string;
  language: string;
  category: string;
  parameter_format?: string;
  components: unknown[];
  status: string;
  rejected_reason?: string;
}

export class SimulatorState {
  settings: SimSettings;
  faults: Fault[] = [];
  /** Templates by id, in creation order. */
  templates = new Map<string, SimTemplate>();
  requests: CapturedRequest[] = [];
  /** Accepted sends per recipient (`to`), uncapped: tests and the bench count duplicates with it. */
  sendsTo = new Map<string, number>();
  /** Accepted sends, all numbers (the bench measures the rate with it). */
  accepted = 0;
  private windows = new Map<string, number[]>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(settings: Partial<SimSettings> = {}) {
    this.settings = {
      ...DEFAULT_SIM_SETTINGS,
      ...settings,
      delays: { ...DEFAULT_SIM_SETTINGS.delays, ...settings.delays },
    };
  }

  capture(r: CapturedRequest): void {
    this.requests.push(r);
    if (this.requests.length > 1000) this.requests.splice(0, this.requests.length - 1000);
  }

  /** True when one more message from this number stays within `mps` over the last second. */
  admit(phoneNumberId: string): boolean {
    if (this.settings.mps <= 0) return true;
    const now = Date.now();
    const w = (this.windows.get(phoneNumberId) ?? []).filter((t) => now - t < 1000);
    if (w.length >= this.settings.mps) {
      this.windows.set(phoneNumberId, w);
      return false;
    }
    w.push(now);
    this.windows.set(phoneNumberId, w);
    return true;
  }

  takeFault(to: string): number | null {
    const f = this.faults.find((x) => x.remaining > 0 && (x.to === null || x.to === to));
    if (f) {
      f.remaining--;
      return f.code;
    }
    if (to.endsWith("0000")) return 131026;
    if (to.endsWith("0047")) return 131047;
    return null;
  }

  later(ms: number, fn: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    this.timers.add(t);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

const fbtrace = () => randomBytes(9).toString("base64url");

/** Meta's error body. */
export function metaError(
  code: number,
  message: string,
  extra: { type?: string; subcode?: number; details?: string; title?: string } = {},
) {
  return {
    error: {
      message,
      type: extra.type ?? "OAuthException",
      code,
      ...(extra.subcode !== undefined ? { error_subcode: extra.subcode } : {}),
      ...(extra.details ? { error_data: { messaging_product: "whatsapp", details: extra.details } } : {}),
      ...(extra.title ? { error_user_title: extra.title } : {}),
      fbtrace_id: fbtrace(),
    },
  };
}

export const ERROR_TITLES: Record<number, { title: string; details: string }> = {
  131026: {
    title: "Message undeliverable",
    details:
      "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number.",
  },
  131047: {
    title: "Re-engagement message",
    details:
      "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
  },
  130429: {
    title: "Rate limit hit",
    details: "Cloud API message throughput has been reached.",
  },
  131056: {
    title: "(Business Account, Consumer Account) pair rate limit hit",
    details:
      "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
  },
  131000: { title: "Something went wrong", details: "Message failed to send because of an unknown error." },
  132000: {
    title: "Number of parameters does not match the expected number of params",
    details: "The number of variable parameter values does not match the number of variables in the template.",
  },
  132001: { title: "Template does not exist", details: "The template does not exist in the specified language." },
  132015: { title: "Template is Paused", details: "The template is paused due to low quality." },
  132016: { title: "Template is Disabled", details: "The template has been paused too many times and is disabled." },
};

/**
 * A template send checked as Meta does: the template exists on the number's WABA in that
 * language and is APPROVED (132001; PAUSED 132015, DISABLED 132016), and each component gets as
 * many parameters as it has variables (132000). Null when it may go.
 */
export function checkTemplateSend(
  state: SimulatorState,
  wabaId: string,
  tpl: { name: string; language: { code: string }; components?: { type: string; [k: string]: unknown }[] | undefined },
): { code: number; details: string } | null {
  const all = [...state.templates.values()].filter((t) => t.wabaId === wabaId && t.name === tpl.name);
  const t = all.find((x) => x.language === tpl.language.code);
  if (!t) {
    return {
      code: 132001,
      details: all.length
        ? `template name (${tpl.name}) does not exist in ${tpl.language.code}`
        : `template name (${tpl.name}) does not exist in ${tpl.language.code}`,
    };
  }
  if (t.status === "PAUSED") return { code: 132015, details: `Template ${t.name} is paused.` };
  if (t.status === "DISABLED") return { code: 132016, details: `Template ${t.name} is disabled.` };
  if (t.status !== "APPROVED")
    return { code: 132001, details: `template name (${t.name}) is ${t.status}, not approved` };
  for (const kind of ["HEADER", "BODY"] as const) {
    const c = (t.components as { type?: string; format?: string; text?: string }[]).find((x) => x.type === kind);
    if (!c || (kind === "HEADER" && c.format !== "TEXT")) continue;
    const expected = new Set(variablesOf(c.text ?? "")).size;
    const given = tpl.components?.find((x) => x.type.toLowerCase() === kind.toLowerCase());
    const count = Array.isArray(given?.parameters) ? given.parameters.length : 0;
    if (count !== expected) {
      return {
        code: 132000,
        details: `${kind.toLowerCase()}: number of localizable_params (${count}) does not match the expected number of params (${expected})`,
      };
    }
  }
  return null;
}

// ---- request validation, as Meta does ----

const link = z.string().url().max(2048);
const mediaObj = z
  .object({ id: z.string().optional(), link: link.optional(), caption: z.string().max(1024).optional() })
  .refine((m) => Boolean(m.id) !== Boolean(m.link), "Exactly one of id or link is required");

const sendSchema = z
  .object({
    messaging_product: z.literal("whatsapp"),
    recipient_type: z.literal("individual").optional(),
    to: z.string().regex(/^\+?\d{5,20}$/, "Invalid 'to' parameter"),
    type: z
      .enum([
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "interactive",
        "template",
        "location",
        "reaction",
      ])
      .default("text"),
    text: z
      .object({ body: z.string().min(1).max(4096), preview_url: z.boolean().optional() })
      .strict()
      .optional(),
    image: mediaObj.optional(),
    video: mediaObj.optional(),
    audio: z.object({ id: z.string().optional(), link: link.optional() }).optional(),
    sticker: z.object({ id: z.string().optional(), link: link.optional() }).optional(),
    document: z
      .object({
        id: z.string().optional(),
        link: link.optional(),
        caption: z.string().max(1024).optional(),
        filename: z.string().max(240).optional(),
      })
      .optional(),
    interactive: z
      .object({
        type: z.enum(["button", "list", "cta_url", "flow", "product", "product_list"]),
        header: z.object({ type: z.string() }).passthrough().optional(),
        body: z.object({ text: z.string().min(1).max(1024) }),
        footer: z.object({ text: z.string().max(60) }).optional(),
        action: z.record(z.string(), z.unknown()),
      })
      .superRefine((i, c) => {
        if (i.type === "button") {
          const buttons = (i.action as { buttons?: { reply?: { id?: string; title?: string } }[] }).buttons;
          if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) {
            c.addIssue({ code: "custom", message: "action.buttons: 1 to 3 buttons" });
          } else if (buttons.some((b) => !b.reply?.id || !b.reply.title || b.reply.title.length > 20)) {
            c.addIssue({ code: "custom", message: "action.buttons[].reply: id and title (≤ 20 characters) required" });
          }
        }
        if (i.type === "list") {
          const a = i.action as { button?: string; sections?: { rows?: unknown[] }[] };
          if (!a.button || a.button.length > 20)
            c.addIssue({ code: "custom", message: "action.button required (≤ 20)" });
          if (!Array.isArray(a.sections) || a.sections.length < 1 || a.sections.length > 10) {
            c.addIssue({ code: "custom", message: "action.sections: 1 to 10 sections" });
          }
        }
      })
      .optional(),
    template: z
      .object({
        name: z.string().min(1).max(512),
        language: z.object({ code: z.string().min(2).max(15), policy: z.literal("deterministic").optional() }),
        components: z.array(z.object({ type: z.string() }).passthrough()).optional(),
      })
      .optional(),
    context: z.object({ message_id: z.string().min(1) }).optional(),
    biz_opaque_callback_data: z.string().max(512).optional(),
  })
  .passthrough()
  .superRefine((b, c) => {
    const part = (b as Record<string, unknown>)[b.type];
    if (part === undefined) c.addIssue({ code: "custom", path: [b.type], message: `Param ${b.type} is required` });
  });

function wamid(): string {
  return `wamid.${Buffer.from(`SIM${randomBytes(12).toString("hex")}`).toString("base64")}`;
}

function bearerOf(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  return h?.startsWith("Bearer ") ? h.slice(7) : null;
}

export function fakeGraphPlugin(state: SimulatorState, opts: SimulatorOptions): FastifyPluginAsync {
  const deliver =
    opts.deliver ??
    (async (number: SimNumber, body: string, signature: string) => {
      await fetch(number.webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    });

  // Meta stamps account-level updates (template status) with the entry's `time` in seconds, so an
  // approval after an edit is not byte-identical to the first approval (Chorus stores a
  // byte-identical body once). Never the same second twice for a WABA, as Meta's events differ too.
  const lastTime = new Map<string, number>();
  const entryTime = (wabaId: string) => {
    const t = Math.max(Math.floor(Date.now() / 1000), (lastTime.get(wabaId) ?? 0) + 1);
    lastTime.set(wabaId, t);
    return t;
  };
  const post = async (number: SimNumber, value: Record<string, unknown>, field = "messages") => {
    const entry =
      field === "messages"
        ? { id: number.wabaId, changes: [{ value, field }] }
        : { id: number.wabaId, time: entryTime(number.wabaId), changes: [{ value, field }] };
    const body = JSON.stringify({ object: "whatsapp_business_account", entry: [entry] });
    const signature = `sha256=${createHmac("sha256", number.appSecret).update(body).digest("hex")}`;
    try {
      await deliver(number, body, signature);
    } catch (err) {
      opts.log?.warn({ err: (err as Error).message }, "simulator could not deliver a webhook");
    }
  };

  const metadata = (n: SimNumber) => ({
    display_phone_number: n.displayPhoneNumber.replace(/\D/g, ""),
    phone_number_id: n.phoneNumberId,
  });

  const statusValue = (
    n: SimNumber,
    id: string,
    to: string,
    status: string,
    callback: string | undefined,
    error?: number,
  ) => ({
    messaging_product: "whatsapp",
    metadata: metadata(n),
    statuses: [
      {
        id,
        status,
        timestamp: String(Math.floor(Date.now() / 1000)),
        recipient_id: to,
        ...(callback ? { biz_opaque_callback_data: callback } : {}),
        ...(status === "failed" && error
          ? {
              errors: [
                {
                  code: error,
                  title: ERROR_TITLES[error]?.title ?? "Error",
                  message: ERROR_TITLES[error]?.title ?? "Error",
                  error_data: { details: ERROR_TITLES[error]?.details ?? "" },
                },
              ],
            }
          : {
              conversation: {
                id: createHash("sha256").update(`${n.phoneNumberId}:${to}`).digest("hex").slice(0, 32),
                ...(status === "sent" ? { expiration_timestamp: String(Math.floor(Date.now() / 1000) + 86_400) } : {}),
                origin: { type: "service" },
              },
              pricing: { billable: true, pricing_model: "PMP", category: "service", type: "regular" },
            }),
      },
    ],
  });

  const scheduleStatuses = (
    n: SimNumber,
    id: string,
    to: string,
    callback: string | undefined,
    failCode: number | null,
  ) => {
    const s = state.settings;
    const plan: { status: string; delay: number }[] = failCode
      ? [{ status: "failed", delay: s.delays.sent ?? 50 }]
      : (
          [
            ["sent", s.delays.sent],
            ["delivered", s.delays.delivered],
            ["read", s.delays.read],
          ] as const
        )
          .filter(([, d]) => d !== null)
          .map(([status, d]) => ({ status, delay: d as number }));
    if (s.reorder && plan.length > 1) {
      const delays = plan.map((p) => p.delay);
      plan.reverse().forEach((p, i) => {
        p.delay = delays[i]!;
      });
    }
    for (const p of plan) {
      for (let k = 0; k < Math.max(1, s.duplicates); k++) {
        state.later(p.delay + k * 5, () => post(n, statusValue(n, id, to, p.status, callback, failCode ?? undefined)));
      }
    }
  };

  const authorize = async (request: FastifyRequest, reply: FastifyReply, id: string): Promise<SimNumber | null> => {
    const n = await opts.resolve(id);
    if (!n) {
      await reply
        .code(400)
        .send(
          metaError(
            100,
            `Unsupported post request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
            { type: "GraphMethodException", subcode: 33 },
          ),
        );
      return null;
    }
    if (bearerOf(request) !== n.accessToken) {
      await reply.code(401).send(metaError(190, "Invalid OAuth access token - Cannot parse access token"));
      return null;
    }
    return n;
  };

  return async (app) => {
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, body === "" ? {} : JSON.parse(body as string));
      } catch {
        const err = Object.assign(new Error("bad json"), { statusCode: 400 });
        done(err, undefined);
      }
    });
    app.setErrorHandler((err, _request, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 500;
      const message = status === 400 ? "(#100) Invalid parameter" : String((err as Error).message);
      void reply.code(status).send(metaError(status === 400 ? 100 : 131000, message));
    });

    app.post<{ Params: { phoneNumberId: string } }>(
      "/:phoneNumberId/messages",
      { schema: { hide: true } },
      async (request, reply) => {
        state.capture({
          method: "POST",
          path: request.url,
          authorization: request.headers.authorization ?? null,
          body: request.body,
          at: new Date().toISOString(),
        });
        const n = await authorize(request, reply, request.params.phoneNumberId);
        if (!n) return reply;
        const parsed = sendSchema.safeParse(request.body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          return reply.code(400).send(
            metaError(100, "(#100) Invalid parameter", {
              details: `${issue.path.join(".") || "body"}: ${issue.message}`,
            }),
          );
        }
        const to = parsed.data.to.replace(/^\+/, "");
        if (!state.admit(n.phoneNumberId)) {
          const e = ERROR_TITLES[130429]!;
          return reply.code(400).send(metaError(130429, e.title, { details: e.details, type: "OAuthException" }));
        }
        if (parsed.data.type === "template" && parsed.data.template) {
          const bad = checkTemplateSend(state, n.wabaId, parsed.data.template);
          if (bad) {
            return reply
              .code(400)
              .send(
                metaError(bad.code, ERROR_TITLES[bad.code]!.title, { details: bad.details, type: "OAuthException" }),
              );
          }
        }
        const fault = state.takeFault(to);
        if (fault === 130429 || fault === 131000 || fault === 131056) {
          const e = ERROR_TITLES[fault]!;
          return reply.code(fault === 131000 ? 500 : 400).send(metaError(fault, e.title, { details: e.details }));
        }
        const id = wamid();
        state.sendsTo.set(to, (state.sendsTo.get(to) ?? 0) + 1);
        state.accepted++;
        scheduleStatuses(n, id, to, parsed.data.biz_opaque_callback_data, fault);
        return {
          messaging_product: "whatsapp",
          contacts: [{ input: parsed.data.to, wa_id: to }],
          messages: [{ id, ...(parsed.data.type === "template" ? { message_status: "accepted" } : {}) }],
        };
      },
    );

    const capture = (request: FastifyRequest) =>
      state.capture({
        method: request.method,
        path: request.url,
        authorization: request.headers.authorization ?? null,
        body: request.body ?? null,
        at: new Date().toISOString(),
      });
    const invalid = (reply: FastifyReply, issues: readonly { path: PropertyKey[]; message: string }[]) => {
      const issue = issues[0]!;
      return reply.code(400).send(
        metaError(100, "Invalid parameter", {
          type: "OAuthException",
          subcode: 2388043,
          details: `${issue.path.map(String).join(".") || "body"}: ${issue.message}`,
          title: "Message template validation failed",
        }),
      );
    };
    /** Meta reviews after a delay: a webhook, and the stored status moves. Names with "reject" are rejected. */
    const review = (n: SimNumber, t: SimTemplate) => {
      const rejected = t.name.includes("reject");
      state.later(state.settings.templateDelayMs, async () => {
        const current = state.templates.get(t.id);
        if (current?.status !== "PENDING") return;
        current.status = rejected ? "REJECTED" : "APPROVED";
        if (rejected) current.rejected_reason = "INVALID_FORMAT";
        await post(
          n,
          {
            event: current.status,
            message_template_id: Number(t.id),
            message_template_name: t.name,
            message_template_language: t.language,
            reason: rejected ? "INVALID_FORMAT" : "NONE",
            message_template_category: t.category,
          },
          "message_template_status_update",
        );
      });
    };

    app.post<{ Params: { wabaId: string }; Body: Record<string, unknown> }>(
      "/:wabaId/message_templates",
      { schema: { hide: true } },
      async (request, reply) => {
        capture(request);
        const n = await authorize(request, reply, request.params.wabaId);
        if (!n) return reply;
        const parsed = metaTemplateBody.safeParse(request.body ?? {});
        if (!parsed.success) return invalid(reply, parsed.error.issues);
        const b = parsed.data;
        const taken = [...state.templates.values()].some(
          (t) => t.wabaId === n.wabaId && t.name === b.name && t.language === b.language,
        );
        if (taken) {
          return reply.code(400).send(
            metaError(100, "Invalid parameter", {
              subcode: 2388024,
              title: "Content in this language already exists",
              details: `There is already ${b.language} content for this template.`,
            }),
          );
        }
        // Within Number.MAX_SAFE_INTEGER: the status webhook sends the id as a JSON number, as Meta
        // does, and a 7-byte id came back rounded (the next edit then named an unknown template).
        const id = String(BigInt(`0x${randomBytes(6).toString("hex")}`) + 1n);
        const t: SimTemplate = {
          id,
          wabaId: n.wabaId,
          name: b.name,
          language: b.language,
          category: b.category,
          ...(b.parameter_format ? { parameter_format: b.parameter_format } : {}),
          components: b.components,
          status: "PENDING",
        };
        state.templates.set(id, t);
        review(n, t);
        return { id, status: "PENDING", category: b.category };
      },
    );

    // Meta's cursor paging: ?limit=&after= → {data, paging:{cursors:{before, after}, next?}}.
    app.get<{ Params: { wabaId: string }; Querystring: { limit?: string; after?: string; name?: string } }>(
      "/:wabaId/message_templates",
      { schema: { hide: true } },
      async (request, reply) => {
        capture(request);
        const n = await authorize(request, reply, request.params.wabaId);
        if (!n) return reply;
        const limit = Math.min(Math.max(Number(request.query.limit ?? 25) || 25, 1), 1000);
        const all = [...state.templates.values()].filter(
          (t) => t.wabaId === n.wabaId && (!request.query.name || t.name === request.query.name),
        );
        const start = request.query.after ? Number(Buffer.from(request.query.after, "base64url").toString()) : 0;
        if (!Number.isInteger(start) || start < 0) return invalid(reply, [{ path: ["after"], message: "Bad cursor" }]);
        const page = all.slice(start, start + limit);
        const cursor = (i: number) => Buffer.from(String(i)).toString("base64url");
        const more = start + limit < all.length;
        return {
          data: page.map(({ wabaId: _w, ...t }) => t),
          paging: {
            cursors: { before: cursor(start), after: cursor(start + page.length) },
            ...(more
              ? {
                  next: `${opts.baseUrl(request)}/${n.wabaId}/message_templates?limit=${limit}&after=${cursor(start + page.length)}`,
                }
              : {}),
          },
        };
      },
    );

    // DELETE /{wabaId}/message_templates?name=…[&hsm_id=…]: every language of the name, or the one id.
    app.delete<{ Params: { wabaId: string }; Querystring: { name?: string; hsm_id?: string } }>(
      "/:wabaId/message_templates",
      { schema: { hide: true } },
      async (request, reply) => {
        capture(request);
        const n = await authorize(request, reply, request.params.wabaId);
        if (!n) return reply;
        const { name, hsm_id } = request.query;
        if (!name) return invalid(reply, [{ path: ["name"], message: "The parameter name is required" }]);
        const doomed = [...state.templates.values()].filter(
          (t) => t.wabaId === n.wabaId && t.name === name && (!hsm_id || t.id === hsm_id),
        );
        if (!doomed.length) {
          return reply.code(400).send(
            metaError(100, "Invalid parameter", {
              subcode: 2593002,
              details: `Message template "${name}" not found`,
            }),
          );
        }
        for (const t of doomed) state.templates.delete(t.id);
        return { success: true };
      },
    );

    // POST /{templateId}: edit (category and/or components); the template goes back to review.
    app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
      "/:id",
      { schema: { hide: true } },
      async (request, reply) => {
        capture(request);
        const t = state.templates.get(request.params.id);
        const n = t ? await opts.resolve(t.wabaId) : null;
        if (!t || !n) {
          return reply.code(400).send(
            metaError(
              100,
              `Unsupported post request. Object with ID '${request.params.id.slice(0, 40)}' does not exist.`,
              {
                type: "GraphMethodException",
                subcode: 33,
              },
            ),
          );
        }
        if (bearerOf(request) !== n.accessToken) {
          return reply.code(401).send(metaError(190, "Invalid OAuth access token - Cannot parse access token"));
        }
        if (t.status === "PENDING" || t.status === "DISABLED") {
          return reply
            .code(400)
            .send(metaError(100, "Invalid parameter", { details: `A ${t.status} template cannot be edited.` }));
        }
        const b = (request.body ?? {}) as Record<string, unknown>;
        const parsed = metaTemplateBody.safeParse({
          name: t.name,
          language: t.language,
          category: b.category ?? t.category,
          ...((b.parameter_format ?? t.parameter_format)
            ? { parameter_format: b.parameter_format ?? t.parameter_format }
            : {}),
          components: b.components ?? t.components,
        });
        if (!parsed.success) return invalid(reply, parsed.error.issues);
        t.category = parsed.data.category;
        t.components = parsed.data.components;
        t.status = "PENDING";
        delete t.rejected_reason;
        review(n, t);
        return { success: true };
      },
    );

    // GET /{phoneNumberId}?fields=… (profile) or GET /{mediaId} (media URL).
    app.get<{ Params: { id: string } }>("/:id", { schema: { hide: true } }, async (request, reply) => {
      const n = await opts.resolve(request.params.id);
      if (n) {
        if (bearerOf(request) !== n.accessToken) {
          return reply.code(401).send(metaError(190, "Invalid OAuth access token - Cannot parse access token"));
        }
        return {
          verified_name: n.verifiedName,
          display_phone_number: n.displayPhoneNumber,
          quality_rating: "GREEN",
          id: n.phoneNumberId,
        };
      }
      if (!bearerOf(request)) return reply.code(401).send(metaError(190, "Invalid OAuth access token"));
      if ((request.query as { fields?: string }).fields !== undefined) {
        return reply
          .code(400)
          .send(
            metaError(
              100,
              `Unsupported get request. Object with ID '${request.params.id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
              { type: "GraphMethodException", subcode: 33 },
            ),
          );
      }
      const bytes = mediaBytes(request.params.id);
      return {
        messaging_product: "whatsapp",
        url: `${opts.baseUrl(request)}/_sim/media/${encodeURIComponent(request.params.id)}`,
        mime_type: "image/jpeg",
        sha256: createHash("sha256").update(bytes).digest("hex"),
        file_size: bytes.length,
        id: request.params.id,
      };
    });

    app.get<{ Params: { id: string } }>("/_sim/media/:id", { schema: { hide: true } }, async (request, reply) => {
      if (!bearerOf(request)) return reply.code(401).send(metaError(190, "Invalid OAuth access token"));
      return reply.type("image/jpeg").send(mediaBytes(request.params.id));
    });

    // ---- control ----
    app.post<{ Body: { to?: string; code: number; count?: number } }>(
      "/_sim/faults",
      { schema: { hide: true } },
      async (request) => {
        const b = request.body;
        state.faults.push({ to: b.to?.replace(/^\+/, "") ?? null, code: Number(b.code), remaining: b.count ?? 1 });
        return { faults: state.faults };
      },
    );
    app.delete("/_sim/faults", { schema: { hide: true } }, async () => {
      state.faults = [];
      return { faults: [] };
    });
    app.post<{ Body: Partial<SimSettings> }>("/_sim/config", { schema: { hide: true } }, async (request) => {
      const b = request.body ?? {};
      state.settings = { ...state.settings, ...b, delays: { ...state.settings.delays, ...(b.delays ?? {}) } };
      return state.settings;
    });
    app.get("/_sim/requests", { schema: { hide: true } }, async () => ({ items: state.requests }));
    app.delete("/_sim/requests", { schema: { hide: true } }, async () => {
      state.requests = [];
      return { items: [] };
    });
    // The customer writes: a signed `messages` webhook, as Meta would post it.
    app.post<{ Body: { phoneNumberId: string; from: string; text: string; name?: string } }>(
      "/_sim/inbound",
      { schema: { hide: true } },
      async (request, reply) => {
        const b = request.body;
        const n = await opts.resolve(String(b.phoneNumberId));
        if (!n) return reply.code(404).send(metaError(100, "Unknown phone number id"));
        const value = inboundTextValue(n, String(b.from).replace(/\D/g, ""), String(b.text), b.name ?? "Customer");
        await post(n, value);
        return { id: (value.messages[0] as { id: string }).id };
      },
    );
  };
}

function mediaBytes(id: string): Buffer {
  return Buffer.from(`simulated media ${id}`);
}

/** A customer's text message, as Meta's `messages` change value. */
export function inboundTextValue(
  n: Pick<SimNumber, "displayPhoneNumber" | "phoneNumberId">,
  from: string,
  text: string,
  name: string,
) {
  return {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: n.displayPhoneNumber.replace(/\D/g, ""), phone_number_id: n.phoneNumberId },
    contacts: [{ profile: { name }, wa_id: from }],
    messages: [
      {
        from,
        id: wamid(),
        timestamp: String(Math.floor(Date.now() / 1000)),
        type: "text",
        text: { body: text },
      },
    ],
  };
}
