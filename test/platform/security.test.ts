import type { RouteOptions } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { loadConfig } from "../../src/server/config.js";
import type { Database } from "../../src/server/db/client.js";
import { access } from "../../src/server/http/access.js";
import { APP_URL, createTestApp, signUp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** A page's headers (helmet's set). */
function expectSecurityHeaders(headers: Record<string, unknown>): void {
  expect(headers["content-security-policy"]).toBeTruthy();
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["x-frame-options"]).toBe("SAMEORIGIN");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
  expect(headers["cross-origin-resource-policy"]).toBe("same-origin");
}

/** A data answer's headers: nothing may render, run or frame it. */
function expectApiSecurityHeaders(headers: Record<string, unknown>): void {
  expect(headers["content-security-policy"]).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["cross-origin-resource-policy"]).toBe("same-origin");
  expect(headers["x-powered-by"]).toBeUndefined();
}

describe("security headers", () => {
  it("are on API answers, errors included", async () => {
    for (const url of ["/api/v1/permissions", "/api/v1/nope", "/healthz", "/api/openapi.json"]) {
      const res = await t.client().get(url);
      expectApiSecurityHeaders(res.headers);
      if (url.startsWith("/api/")) expect(res.headers["cache-control"]).toBe("no-store");
    }
    const bad = await t.client().post("/api/v1/auth/login", "{", { "content-type": "application/json" });
    expect(bad.statusCode).toBe(400);
    expectApiSecurityHeaders(bad.headers);
  });

  it("are on the API reference (/docs) and the development mailbox pages", async () => {
    const docs = await t.client().get("/docs/");
    expect(docs.statusCode).toBe(200);
    expectSecurityHeaders(docs.headers);
    const mailbox = await t.client().get("/dev/mailbox");
    expect(mailbox.statusCode).toBe(200);
    expectSecurityHeaders(mailbox.headers);
    expect(mailbox.headers["content-security-policy"]).toContain("script-src 'self'");
  });

  it("do not ask browsers to upgrade requests over plain http", async () => {
    const res = await t.client().get("/healthz");
    expect(res.headers["content-security-policy"]).not.toContain("upgrade-insecure-requests");
    expect(res.headers["strict-transport-security"]).toBeUndefined();
  });

  it("are on the web app (built in dist/web by test/global-setup.ts), whose client-side routes get index.html", async () => {
    const database = t.database;
    const config = loadConfig({ NODE_ENV: "test", APP_URL: "https://chorus.example.com", LOG_LEVEL: "silent" });
    const app = await buildApp({ config, database, logger: pino({ level: "silent" }), serveWeb: true });
    try {
      for (const url of ["/", "/some/client/route"]) {
        const res = await app.inject({ method: "GET", url });
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toContain("text/html");
        expectSecurityHeaders(res.headers);
        expect(res.headers["strict-transport-security"]).toContain("max-age=");
        expect(res.headers["content-security-policy"]).toContain("upgrade-insecure-requests");
      }
      const api = await app.inject({ method: "GET", url: "/api/v1/nope" });
      expect(api.statusCode).toBe(404);
      expectApiSecurityHeaders(api.headers);
      // Over https the data answers carry HSTS too, as the pages do.
      expect(api.headers["strict-transport-security"]).toBe(
        (await app.inject({ method: "GET", url: "/" })).headers["strict-transport-security"],
      );
      expect(api.headers["content-type"]).toContain("application/problem+json");
      expect(api.json().code).toBe("route_not_found");
    } finally {
      await app.close();
    }
  });
});

describe("CSRF", () => {
  async function signedIn() {
    const c = t.client();
    await signUp(c);
    return c;
  }

  it("refuses a cookie-authenticated POST without Origin or Referer", async () => {
    const c = await signedIn();
    const res = await t.app.inject({ method: "POST", url: "/api/v1/auth/logout", cookies: c.cookies });
    expect(res.statusCode).toBe(403);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json().code).toBe("csrf_origin_missing");
    // The session is untouched.
    expect((await c.post("/api/v1/auth/logout")).statusCode).toBe(204);
  });

  it("refuses a foreign Origin, and a foreign Referer when Origin is absent", async () => {
    const c = await signedIn();
    const foreign = await c.post("/api/v1/auth/logout", {}, { origin: "https://evil.example" });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().code).toBe("csrf_origin_mismatch");
    const referer = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/logout",
      cookies: c.cookies,
      headers: { referer: "https://evil.example/page" },
    });
    expect(referer.statusCode).toBe(403);
    expect(referer.json().code).toBe("csrf_origin_mismatch");
    // Even a public route refuses a cross-site POST.
    const login = await t
      .client()
      .post("/api/v1/auth/login", { email: "a@b.co", password: "x" }, { origin: "https://evil.example" });
    expect(login.statusCode).toBe(403);
  });

  it("accepts our own Referer, and Bearer without Origin", async () => {
    const c = await signedIn();
    const ok = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/logout",
      cookies: c.cookies,
      headers: { referer: `${APP_URL}/settings` },
    });
    expect(ok.statusCode).toBe(204);

    const b = await signedIn();
    const token = b.cookies.chorus_session!;
    const bearer = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/logout",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bearer.statusCode).toBe(204);
  });

  it("does not check GET requests", async () => {
    const c = await signedIn();
    const res = await t.app.inject({ method: "GET", url: "/api/v1/permissions", cookies: c.cookies });
    expect(res.statusCode).not.toBe(403);
  });
});

describe("access declarations", () => {
  let database: Database;
  beforeAll(() => {
    database = t.database;
  });

  const config = loadConfig({ NODE_ENV: "test", APP_URL, LOG_LEVEL: "silent" });

  it("every /api/ route declares one", async () => {
    const routes: RouteOptions[] = [];
    const app = await buildApp({
      config,
      database,
      logger: pino({ level: "silent" }),
      onRoute: (r) => {
        routes.push(r);
      },
    });
    await app.ready();
    await app.close();
    const api = routes.filter((r) => r.url.startsWith("/api/"));
    expect(api.length).toBeGreaterThanOrEqual(4);
    const undeclared = api.filter((r) => !r.config?.access).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    for (const r of api) {
      const a = r.config!.access!;
      if (a.kind === "member") expect(r.url).toContain(":orgId");
    }
    // The health probes and the documents are listed too.
    const urls = routes.map((r) => r.url);
    expect(urls).toEqual(expect.arrayContaining(["/healthz", "/readyz", "/api/openapi.json", "/api/v1/auth/signup"]));
  });

  it("a route without one stops the app from starting", async () => {
    const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
    await expect(
      (async () => {
        app.get("/api/v1/undeclared", async () => ({ ok: true }));
        await app.ready();
      })(),
    ).rejects.toThrow(/declares no access/);
    await app.close().catch(() => {});
  });

  it("a membership route without :orgId stops the app from starting", async () => {
    const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
    await expect(
      (async () => {
        app.get("/api/v1/orgless", { config: { access: access.member("members:read") } }, async () => ({}));
        await app.ready();
      })(),
    ).rejects.toThrow(/no :orgId/);
    await app.close().catch(() => {});
  });
});
