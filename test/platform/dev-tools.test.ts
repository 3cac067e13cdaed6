import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/server/config.js";
import { createTestApp, signUp, type TestApp, uniqueEmail } from "../helpers/app.js";

const REMOTE = "192.0.2.7";

/** Every development-mailbox URL: the HTML pages and the JSON API. */
async function mailboxUrls(t: TestApp): Promise<string[]> {
  const email = uniqueEmail("devtools");
  await signUp(t.client(), { email });
  const [m] = (await t.client().get(`/api/v1/dev/mailbox?to=${encodeURIComponent(email)}`)).json().items;
  return [
    "/dev/mailbox",
    `/dev/mailbox?to=${encodeURIComponent(email)}`,
    `/dev/mailbox/${m.id}`,
    `/dev/mailbox/${m.id}/html`,
    "/api/v1/dev/mailbox",
    `/api/v1/dev/mailbox?to=${encodeURIComponent(email)}`,
    `/api/v1/dev/mailbox/${m.id}`,
  ];
}

const from = (t: TestApp, url: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: "GET", url, remoteAddress, headers });

describe("audit finding 1: development tools answer only the machine they run on", () => {
  let t: TestApp;
  let proxied: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    proxied = await createTestApp({ database: t.database, env: { TRUST_PROXY: "true" } });
  });
  afterAll(async () => {
    await t?.close();
    await proxied?.close();
  });

  it("a request from another machine gets 404 for every mailbox page and API, exactly like an unknown route", async () => {
    const unknown = await from(t, "/api/v1/no-such-route", REMOTE);
    expect(unknown.statusCode).toBe(404);
    for (const url of await mailboxUrls(t)) {
      const res = await from(t, url, REMOTE);
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ status: 404, code: "route_not_found" });
      expect(res.body, url).not.toContain("example.com");
    }
  });

  it("answers loopback peers (IPv4, IPv6, IPv4-mapped)", async () => {
    for (const url of await mailboxUrls(t)) {
      for (const peer of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
        expect((await from(t, url, peer)).statusCode, `${url} from ${peer}`).toBe(200);
      }
    }
  });

  it("does not take X-Forwarded-For as proof of a local caller, even with TRUST_PROXY", async () => {
    const urls = await mailboxUrls(proxied);
    for (const url of urls) {
      const forged = await from(proxied, url, REMOTE, { "x-forwarded-for": "127.0.0.1" });
      expect(forged.statusCode, url).toBe(404);
      const forwarded = await from(proxied, url, REMOTE, { forwarded: "for=127.0.0.1" });
      expect(forwarded.statusCode, url).toBe(404);
    }
  });

  it("refuses a request a local proxy forwards for another machine", async () => {
    const [url] = await mailboxUrls(t);
    expect((await from(t, url!, "127.0.0.1", { "x-forwarded-for": REMOTE })).statusCode).toBe(404);
    expect((await from(t, url!, "127.0.0.1", { "x-forwarded-for": `127.0.0.1, ${REMOTE}` })).statusCode).toBe(404);
    expect((await from(t, url!, "127.0.0.1", { forwarded: `for="[2001:db8::1]:4711"` })).statusCode).toBe(404);
    // A local proxy forwarding a local browser (the Vite dev server) still reaches the mailbox.
    expect((await from(t, url!, "127.0.0.1", { "x-forwarded-for": "::1" })).statusCode).toBe(200);
  });

  it("DEV_TOOLS=public opens them to other machines, and is refused in production", async () => {
    const open = await createTestApp({ database: t.database, env: { DEV_TOOLS: "public" } });
    try {
      for (const url of await mailboxUrls(open)) expect((await from(open, url, REMOTE)).statusCode, url).toBe(200);
    } finally {
      await open.close();
    }
    const production = {
      NODE_ENV: "production",
      APP_URL: "https://chorus.example.com",
      SMTP_URL: "smtp://mail.example.com:587",
      SECRET_KEY: "0123456789abcdef0123456789abcdef-prod",
    };
    expect(loadConfig(production).devToolsPublic).toBe(false);
    expect(() => loadConfig({ ...production, DEV_TOOLS: "public" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, DEV_TOOLS: "public" })).toThrow("DEV_TOOLS");
    expect(() => loadConfig({ DEV_TOOLS: "everyone" })).toThrow("DEV_TOOLS");
  });

  it("a default configuration listens on loopback only", () => {
    expect(loadConfig({}).host).toBe("localhost");
    expect(loadConfig({ HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
  });
});
