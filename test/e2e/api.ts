import type { BrowserContext } from "playwright-core";

/**
 * Setting up a browser test through the API, with a context's cookies (and the app's own Origin,
 * as the pages send it): `call` for JSON routes, `mailedToken` for a link in the dev mailbox.
 * `baseUrl` is read on each call (the server starts in `beforeAll`).
 */
export function e2eApi(baseUrl: () => string) {
  async function call<T = unknown>(ctx: BrowserContext, method: string, url: string, data?: unknown): Promise<T> {
    const res = await ctx.request.fetch(`${baseUrl()}/api/v1${url}`, {
      method,
      headers: { origin: baseUrl() },
      ...(data === undefined ? {} : { data }),
    });
    if (!res.ok()) throw new Error(`${method} ${url} → ${res.status()} ${await res.text()}`);
    return (res.status() === 204 ? null : await res.json()) as T;
  }

  /** The token in the newest email to `to` whose text matches `link`. */
  async function mailedToken(ctx: BrowserContext, to: string, link: RegExp): Promise<string> {
    for (let i = 0; i < 40; i++) {
      const box = await call<{ items: { text: string }[] }>(ctx, "GET", `/dev/mailbox?to=${encodeURIComponent(to)}`);
      for (const m of box.items) {
        const token = link.exec(m.text)?.[1];
        if (token) return token;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no email to ${to} with ${link}`);
  }

  return { call, mailedToken };
}
