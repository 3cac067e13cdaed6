import fastifyHelmet from "@fastify/helmet";
import Fastify, { type LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiSecurityHeaders, helmetOptions, securityHeaders } from "../../src/server/http/security-headers.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

// Issue 12 replaced the @fastify/helmet plugin (helmet's middleware built again on every request)
// by the same headers computed once. The answer must carry exactly what the plugin set.

/** Headers Fastify itself sets, without any plugin. */
const PER_RESPONSE = new Set(["date", "content-length", "content-type", "connection", "keep-alive", "x-request-id"]);

async function pluginHeaders(appUrl: string, url: string): Promise<Record<string, string>> {
  const ref = Fastify();
  // helmet's types (cjs and esm copies) differ only in where they are declared.
  await ref.register(fastifyHelmet, helmetOptions({ appUrl }) as Parameters<typeof fastifyHelmet>[1]);
  ref.get("/healthz", async () => ({ status: "ok" }));
  await ref.ready();
  const res = await ref.inject({ method: "GET", url });
  await ref.close();
  return withoutPerResponse(res);
}

function withoutPerResponse(res: LightMyRequestResponse): Record<string, string> {
  return Object.fromEntries(
    Object.entries(res.headers)
      .filter(([k]) => !PER_RESPONSE.has(k))
      .map(([k, v]) => [k, String(v)]),
  );
}

for (const appUrl of ["http://chorus.test", "https://chorus.test"]) {
  describe(`security headers (APP_URL ${appUrl})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ env: { APP_URL: appUrl } });
    });
    afterAll(() => t.close());

    it("are computed as @fastify/helmet computes them", async () => {
      const expected = await pluginHeaders(appUrl, "/healthz");
      const computed = Object.fromEntries(securityHeaders(helmetOptions({ appUrl })).set);
      expect(computed).toEqual(expected);
      expect(Object.keys(expected)).toContain("content-security-policy");
      expect(expected["strict-transport-security"] !== undefined).toBe(appUrl.startsWith("https:"));
    });

    it.each([
      ["a public route", "GET", "/healthz", undefined],
      ["a 404", "GET", "/api/v1/no-such-route", undefined],
      ["a 401", "GET", "/api/v1/me", undefined],
      ["a 400", "POST", "/api/v1/auth/login", { email: 1 }],
      ["a page outside the API", "GET", "/no-such-page", undefined],
    ])(
      "are on %s: the plugin's on pages, the data set on the API (and no-store there)",
      async (_what, method, url, payload) => {
        const page = await pluginHeaders(appUrl, "/healthz");
        const api = url === "/healthz" || url.startsWith("/api/");
        const expected = api
          ? Object.fromEntries(apiSecurityHeaders(securityHeaders(helmetOptions({ appUrl }))).set)
          : page;
        if (api) {
          // Stricter than the page's policy, and HSTS exactly when the pages have it.
          expect(expected["content-security-policy"]).toBe("default-src 'none'; frame-ancestors 'none'");
          expect(expected["strict-transport-security"]).toBe(page["strict-transport-security"]);
        }
        const res = await t.app.inject({
          method: method as "GET" | "POST",
          url,
          headers: { origin: appUrl },
          ...(payload ? { payload } : {}),
        });
        const got = withoutPerResponse(res);
        const { "cache-control": cacheControl, ...security } = got;
        expect(security).toEqual(expected);
        expect(cacheControl).toBe(url.startsWith("/api/") ? "no-store" : undefined);
        expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
      },
    );
  });
}
