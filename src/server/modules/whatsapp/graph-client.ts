import { setTimeout as sleep } from "node:timers/promises";

/**
 * The WhatsApp Cloud API over the platform's fetch (undici): `POST {base}/{phoneNumberId}/messages`
 * with a bearer token and the Cloud API body, the phone number's profile for "test connection",
 * media downloads. Transient failures (130429 throughput, 131056 pair rate, 1/2/4/80007/133004,
 * 131000, HTTP 5xx, network errors, timeouts) are retried with exponential backoff and jitter;
 * permanent ones (131026 undeliverable, 131047 window closed, 100 bad parameter, 190 token, …)
 * are not. Every failure keeps Meta's code, title and details (GraphError).
 */

/** Where and as whom: a channel's Graph base URL, phone number id and access token. */
export interface GraphTarget {
  baseUrl: string;
  phoneNumberId: string;
  accessToken: string;
}

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

/** Meta error codes worth another try (the rest are permanent). */
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 341, 80007, 130429, 131000, 131056, 133004]);

export class GraphError extends Error {
  constructor(
    /** Meta's error code (e.g. 131047), or 0 for a network failure / timeout. */
    readonly code: number,
    /** Meta's title (error_data.details lives in `details`). */
    readonly title: string,
    readonly details: string | null,
    readonly httpStatus: number | null,
    readonly subcode: number | null = null,
    readonly fbtraceId: string | null = null,
  ) {
    super(`${code} ${title}${details ? `: ${details}` : ""}`);
  }

  get retryable(): boolean {
    if (this.code === 0) return true;
    if (TRANSIENT_CODES.has(this.code)) return true;
    return this.httpStatus !== null && this.httpStatus >= 500;
  }
}

/** Meta's error body: {error:{message, type, code, error_subcode, error_data:{details}, fbtrace_id}}. */
export function graphErrorOf(status: number, body: unknown): GraphError {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== "object") return new GraphError(status >= 500 ? 131000 : 0, `HTTP ${status}`, null, status);
  const data = e.error_data as { details?: unknown } | undefined;
  const title = typeof e.error_user_title === "string" ? e.error_user_title : String(e.message ?? `HTTP ${status}`);
  return new GraphError(
    Number(e.code ?? 0) || (status >= 500 ? 131000 : 100),
    String(e.message ?? title).slice(0, 500),
    typeof data?.details === "string" ? data.details.slice(0, 1000) : null,
    status,
    e.error_subcode === undefined ? null : Number(e.error_subcode),
    typeof e.fbtrace_id === "string" ? e.fbtrace_id : null,
  );
}

// ---- request bodies (Cloud API shape) ----

export type MediaType = "image" | "audio" | "video" | "document" | "sticker";

export type OutboundContent =
  | { type: "text"; text: string; previewUrl?: boolean }
  | { type: MediaType; link: string; caption?: string; filename?: string }
  | {
      type: "interactive";
      interactive:
        | {
            type: "button";
            body: string;
            header?: string;
            footer?: string;
            buttons: { id: string; title: string }[];
          }
        | {
            type: "list";
            body: string;
            header?: string;
            footer?: string;
            button: string;
            sections: { title?: string; rows: { id: string; title: string; description?: string }[] }[];
          };
    }
  | {
      type: "template";
      name: string;
      language: string;
      components?: Record<string, unknown>[];
    };

export interface OutboundMessage {
  to: string;
  content: OutboundContent;
  /** Quote a message (its wamid). */
  replyTo?: string;
  /** Echoed in every status webhook of this message (≤ 512 chars): our message id. */
  bizOpaqueCallbackData?: string;
}

/** The request body Meta expects at /{phoneNumberId}/messages. */
export function messageBody(m: OutboundMessage): Record<string, unknown> {
  const body: Record<string, unknown> = {
    messaging_product: "whatsapp",
    recipient_type: "individual",
    to: m.to.replace(/^\+/, ""),
    type: m.content.type,
  };
  const c = m.content;
  switch (c.type) {
    case "text":
      body.text = { preview_url: c.previewUrl ?? false, body: c.text };
      break;
    case "image":
    case "video":
    case "sticker":
      body[c.type] = { link: c.link, ...(c.caption && c.type !== "sticker" ? { caption: c.caption } : {}) };
      break;
    case "audio":
      body.audio = { link: c.link };
      break;
    case "document":
      body.document = {
        link: c.link,
        ...(c.caption ? { caption: c.caption } : {}),
        ...(c.filename ? { filename: c.filename } : {}),
      };
      break;
    case "interactive": {
      const i = c.interactive;
      const common = {
        ...(i.header ? { header: { type: "text", text: i.header } } : {}),
        body: { text: i.body },
        ...(i.footer ? { footer: { text: i.footer } } : {}),
      };
      body.interactive =
        i.type === "button"
          ? {
              type: "button",
              ...common,
              action: { buttons: i.buttons.map((b) => ({ type: "reply", reply: { id: b.id, title: b.title } })) },
            }
          : { type: "list", ...common, action: { button: i.button, sections: i.sections } };
      break;
    }
    case "template":
      body.template = {
        name: c.name,
        language: { code: c.language },
        ...(c.components?.length ? { components: c.components } : {}),
      };
      break;
  }
  if (m.replyTo) body.context = { message_id: m.replyTo };
  if (m.bizOpaqueCallbackData) body.biz_opaque_callback_data = m.bizOpaqueCallbackData.slice(0, 512);
  return body;
}

// ---- the client ----

export interface GraphClientOptions {
  timeoutMs: number;
  retry?: RetryPolicy;
}

export interface SendResult {
  wamid: string;
  waId: string | null;
  attempts: number;
}

export class GraphClient {
  private readonly retry: RetryPolicy;

  constructor(private readonly opts: GraphClientOptions) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
  }

  async sendMessage(target: GraphTarget, message: OutboundMessage, signal?: AbortSignal): Promise<SendResult> {
    let attempts = 0;
    const json = await this.withRetry(signal, async () => {
      attempts++;
      return this.request(
        target,
        "POST",
        `/${encodeURIComponent(target.phoneNumberId)}/messages`,
        messageBody(message),
      );
    });
    const wamid = (json as { messages?: { id?: string }[] }).messages?.[0]?.id;
    if (!wamid) throw new GraphError(131000, "The Graph API answered without a message id", null, 200);
    const waId = (json as { contacts?: { wa_id?: string }[] }).contacts?.[0]?.wa_id ?? null;
    return { wamid, waId, attempts };
  }

  /** The number's profile: what "test connection" shows. One attempt. */
  async phoneNumber(
    target: GraphTarget,
  ): Promise<{ verifiedName: string | null; qualityRating: string | null; displayPhoneNumber: string | null }> {
    const json = (await this.request(
      target,
      "GET",
      `/${encodeURIComponent(target.phoneNumberId)}?fields=verified_name,quality_rating,display_phone_number`,
    )) as Record<string, unknown>;
    const s = (v: unknown) => (typeof v === "string" ? v : null);
    return {
      verifiedName: s(json.verified_name),
      qualityRating: s(json.quality_rating),
      displayPhoneNumber: s(json.display_phone_number),
    };
  }

  /** A media object's short-lived URL (GET /{mediaId}), then its bytes with the bearer token. */
  async downloadMedia(
    target: GraphTarget,
    mediaId: string,
  ): Promise<{ mimeType: string; body: ReadableStream<Uint8Array>; size: number | null }> {
    const meta = (await this.withRetry(undefined, () =>
      this.request(target, "GET", `/${encodeURIComponent(mediaId)}`),
    )) as { url?: string; mime_type?: string; file_size?: number };
    if (!meta.url) throw new GraphError(100, "The media object has no URL", null, 200);
    const res = await fetch(meta.url, {
      headers: { authorization: `Bearer ${target.accessToken}` },
      signal: AbortSignal.timeout(this.opts.timeoutMs * 3),
    });
    if (!res.ok || !res.body) throw graphErrorOf(res.status, await res.json().catch(() => null));
    return {
      mimeType: meta.mime_type ?? res.headers.get("content-type") ?? "application/octet-stream",
      body: res.body,
      size: meta.file_size ?? null,
    };
  }

  // ---- message templates (on the WhatsApp Business Account) ----

  /** `POST /{wabaId}/message_templates` → Meta's id, status and category. One attempt (not idempotent). */
  async createTemplate(
    target: GraphTarget,
    wabaId: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; status: string; category: string | null }> {
    const json = (await this.request(
      target,
      "POST",
      `/${encodeURIComponent(wabaId)}/message_templates`,
      body,
    )) as Record<string, unknown>;
    if (json.id === undefined) throw new GraphError(131000, "The Graph API answered without a template id", null, 200);
    return {
      id: String(json.id),
      status: typeof json.status === "string" ? json.status : "PENDING",
      category: typeof json.category === "string" ? json.category : null,
    };
  }

  /** `POST /{templateId}` with the new category and/or components. */
  async editTemplate(target: GraphTarget, templateId: string, body: Record<string, unknown>): Promise<void> {
    await this.withRetry(undefined, () => this.request(target, "POST", `/${encodeURIComponent(templateId)}`, body));
  }

  /** `DELETE /{wabaId}/message_templates?name=…` (every language of the name, as Meta does; `hsm_id` narrows to one). */
  async deleteTemplate(target: GraphTarget, wabaId: string, name: string, templateId?: string | null): Promise<void> {
    const q = new URLSearchParams({ name, ...(templateId ? { hsm_id: templateId } : {}) });
    await this.withRetry(undefined, () =>
      this.request(target, "DELETE", `/${encodeURIComponent(wabaId)}/message_templates?${q}`),
    );
  }

  /** One page of `GET /{wabaId}/message_templates` (Meta's cursor paging: `after`). */
  async listTemplates(
    target: GraphTarget,
    wabaId: string,
    after: string | null,
    limit = 100,
  ): Promise<{ data: Record<string, unknown>[]; after: string | null }> {
    const q = new URLSearchParams({
      limit: String(limit),
      fields: "id,name,language,status,category,components,rejected_reason,parameter_format",
      ...(after ? { after } : {}),
    });
    const json = (await this.withRetry(undefined, () =>
      this.request(target, "GET", `/${encodeURIComponent(wabaId)}/message_templates?${q}`),
    )) as { data?: unknown; paging?: { cursors?: { after?: string }; next?: string } };
    const data = Array.isArray(json.data) ? (json.data as Record<string, unknown>[]) : [];
    return { data, after: json.paging?.next && json.paging.cursors?.after ? json.paging.cursors.after : null };
  }

  private async request(
    target: GraphTarget,
    method: "GET" | "POST" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${target.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${target.accessToken}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === "TimeoutError" || e.name === "AbortError";
      // Never the URL's query or the token: only what went wrong.
      throw new GraphError(0, timedOut ? "Timed out" : "Network error", (e.cause as Error)?.message ?? e.message, null);
    }
    const json = await res.json().catch(() => null);
    if (!res.ok) throw graphErrorOf(res.status, json);
    if (json === null) throw new GraphError(131000, "The Graph API answered without JSON", null, res.status);
    return json;
  }

  private async withRetry<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof GraphError) || !err.retryable || attempt >= this.retry.attempts || signal?.aborted) {
          throw err;
        }
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
        // "Equal jitter": half fixed, half random, so parallel senders spread out.
        await sleep(cap / 2 + Math.random() * (cap / 2), undefined, signal ? { signal } : undefined);
      }
    }
  }
}
