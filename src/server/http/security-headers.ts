import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import helmet, { type HelmetOptions } from "helmet";
import type { Config } from "../config.js";
import { isApiRoute } from "./guard.js";

/** The security headers of every response (helmet's options; was @fastify/helmet's registration in app.ts). */
export function helmetOptions(config: Pick<Config, "appUrl">): HelmetOptions {
  return {
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
  };
}

export interface SecurityHeaders {
  /** Header name (lower case) → value, in the order helmet sets them. */
  set: [string, string][];
  /** Headers helmet removes (X-Powered-By). */
  remove: string[];
}

/**
 * The headers helmet sets for `options`, computed once: helmet's own middleware run against a
 * recording response. @fastify/helmet builds that middleware again on every request (parsing the
 * CSP directives each time, ~40 µs); with static options its output never changes, so the guard
 * stack applies this list instead. CSP directives given as functions (per-request values such as
 * nonces) would change per request: refused here.
 */
export function securityHeaders(options: HelmetOptions): SecurityHeaders {
  const csp = options.contentSecurityPolicy;
  if (csp && typeof csp === "object" && csp.directives) {
    for (const [name, value] of Object.entries(csp.directives)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => typeof v === "function")) {
        throw new Error(`securityHeaders: CSP directive ${name} is computed per request; not supported.`);
      }
    }
  }
  const set = new Map<string, string>();
  const remove: string[] = [];
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      set.set(name.toLowerCase(), Array.isArray(value) ? value.join(", ") : String(value));
      return recorder;
    },
    removeHeader(name: string) {
      set.delete(name.toLowerCase());
      remove.push(name.toLowerCase());
    },
    getHeader: () => undefined,
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    finished = true;
  });
  if (!finished) throw new Error("securityHeaders: helmet did not finish synchronously.");
  return { set: [...set], remove };
}

/** Paths whose answers are data (JSON, CSV, text, an event stream), never a page a browser renders. */
export function isApiPath(url: string): boolean {
  return (
    isApiRoute(url) ||
    url === "/healthz" ||
    url.startsWith("/healthz?") ||
    url === "/readyz" ||
    url.startsWith("/readyz?")
  );
}

/**
 * The headers of a data answer (OWASP REST Security Cheat Sheet): nothing may render, run or frame
 * it (`default-src 'none'; frame-ancestors 'none'`, stricter than the pages' policy; X-Frame-Options
 * DENY), no MIME sniffing, no cross-origin reads, no referrer, HSTS over https as on the pages.
 * helmet's other headers govern documents (COOP, Origin-Agent-Cluster, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) and stay on pages:
 * 300 bytes less on every API answer, which the trivial route's throughput measured
 * (`npm run bench http`: 0.56× → 0.67× bare Fastify on a quiet machine).
 */
export function apiSecurityHeaders(page: SecurityHeaders): SecurityHeaders {
  const hsts = page.set.filter(([k]) => k === "strict-transport-security");
  return {
    set: [
      ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
      ["cross-origin-resource-policy", "same-origin"],
      ["referrer-policy", "no-referrer"],
      ...hsts,
      ["x-content-type-options", "nosniff"],
      ["x-frame-options", "DENY"],
    ],
    remove: page.remove,
  };
}

/**
 * Sets the headers on every response (404s and errors included): helmet's on pages (the web app,
 * /docs, development pages), the data set on API paths.
 */
export function installSecurityHeaders(app: FastifyInstance, options: HelmetOptions): SecurityHeaders {
  const headers = securityHeaders(options);
  const api = apiSecurityHeaders(headers);
  const { remove } = headers;
  app.addHook("onRequest", (request, reply, done) => {
    const res = reply.raw;
    const set = isApiPath(request.url) ? api.set : headers.set;
    for (let i = 0; i < remove.length; i++) res.removeHeader(remove[i]!);
    for (let i = 0; i < set.length; i++) res.setHeader(set[i]![0], set[i]![1]);
    done();
  });
  return headers;
}
