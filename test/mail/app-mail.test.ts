import { Writable } from "node:stream";
import { inArray } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/server/config.js";
import { type Database, openDatabase } from "../../src/server/db/client.js";
import { mailOutbox } from "../../src/server/db/schema/index.js";
import { APP_URL, createTestApp, signUp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { createTestDatabase } from "../helpers/db.js";
import { openOutbox } from "../helpers/outbox.js";
import { freePort, TestSmtp, until } from "./smtp.js";

describe("mail sent by two app instances through SMTP", () => {
  let database: Database & { url?: string };
  let second: Database;
  let one: TestApp;
  let two: TestApp;
  let smtp: TestSmtp | undefined;
  let port: number;
  beforeAll(async () => {
    database = await createTestDatabase();
    second = database.url ? await openDatabase({ url: database.url, poolSize: 4 }) : database;
    port = await freePort(); // the SMTP server is down at first
    const env = { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_POLL_MS: "20", MAIL_RETRY_BASE_MS: "20" };
    // Both instances run job workers, as `npm start` does: they share the mail.send jobs.
    one = await createTestApp({ database, env, workers: true });
    two = await createTestApp({ database: second, env, workers: true });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await smtp?.close();
    if (second && second !== database) await second.close();
    await database?.close();
  });

  it("takes its outbox settings from the environment and keeps the dev mailbox off", async () => {
    expect(one.config.mailPollMs).toBe(20);
    expect(one.config.mailRetryBaseMs).toBe(20);
    expect(one.config.devMailbox).toBe(false);
    expect(one.app.ctx.outbox.isDevMailbox).toBe(false);
    expect((await one.client().get("/dev/mailbox")).statusCode).toBe(404);
    expect((await one.client().get("/api/v1/dev/mailbox")).statusCode).toBe(404);
  });

  it("delivers verification emails queued while the SMTP server was down, each exactly once", async () => {
    const emails: string[] = [];
    for (const t of [one, two, one, two]) {
      const email = uniqueEmail("smtp");
      emails.push(email);
      await signUp(t.client(), { email, firstName: "Zoë" });
    }
    const rows = () => one.database.db.select().from(mailOutbox).where(inArray(mailOutbox.toEmail, emails));
    expect(await rows()).toHaveLength(4);

    // Every message fails at least once while nothing listens.
    await until(async () => (await rows()).every((r) => r.attempts >= 1 && r.lastError !== null));
    expect((await rows()).every((r) => r.status === "pending")).toBe(true);

    smtp = await TestSmtp.start({ port });
    const received = await smtp.waitForCount(4, (m) => emails.includes(m.to && "text" in m.to ? m.to.text : ""));
    await until(async () => (await rows()).every((r) => r.status === "sent"));

    for (const r of await rows()) expect(smtp.withId(r.id)).toHaveLength(1);
    expect(received).toHaveLength(4);
    for (const mail of received) {
      expect(mail.subject).toBe("Confirm your email for Chorus");
      expect(mail.text).toContain("Hi Zoë,");
      const link = /https?:\/\/\S+/.exec(mail.text ?? "")?.[0];
      expect(link?.startsWith(`${APP_URL}/`)).toBe(true);
      expect(new URL(link!).searchParams.get("token")?.length).toBeGreaterThanOrEqual(22);
    }
  });
});

describe("development mailbox", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is on when no SMTP_URL is set, and never in production", () => {
    expect(t.config.devMailbox).toBe(true);
    expect(t.app.ctx.outbox.isDevMailbox).toBe(true);
    const prod = loadConfig({
      NODE_ENV: "production",
      SMTP_URL: "smtp://mail.example.com:587",
      APP_URL: "https://chorus.example.com",
      SECRET_KEY: "0123456789abcdef0123456789abcdef-prod",
    });
    expect(prod.devMailbox).toBe(false);
    expect(() => loadConfig({ NODE_ENV: "production", APP_URL: "https://chorus.example.com" })).toThrow(/SMTP_URL/);
  });

  it("lists messages newest first with recipient and subject, as JSON and as an HTML page", async () => {
    const first = uniqueEmail("first");
    const second = uniqueEmail("second");
    await signUp(t.client(), { email: first, firstName: "<b>Eve</b>" });
    await signUp(t.client(), { email: second });
    await t.app.ctx.outbox.drain();

    const api = await t.client().get("/api/v1/dev/mailbox");
    expect(api.statusCode).toBe(200);
    const items = api.json().items as { id: string; to: string; subject: string; status: string }[];
    const iFirst = items.findIndex((m) => m.to === first);
    const iSecond = items.findIndex((m) => m.to === second);
    expect(iSecond).toBeGreaterThanOrEqual(0);
    expect(iSecond).toBeLessThan(iFirst);
    expect(items[iFirst]!.status).toBe("sent");

    const filtered = await t.client().get(`/api/v1/dev/mailbox?to=${encodeURIComponent(first.toUpperCase())}`);
    expect(filtered.json().items.map((m: { to: string }) => m.to)).toEqual([first]);

    const page = await t.client().get("/dev/mailbox");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).not.toMatch(/<script/i);
    const firstRow = page.body.indexOf(first);
    const secondRow = page.body.indexOf(second);
    expect(secondRow).toBeGreaterThan(0);
    expect(secondRow).toBeLessThan(firstRow);
    expect(page.body).toContain(`<a href="/dev/mailbox/${items[iFirst]!.id}">Confirm your email for Chorus</a>`);
  });

  it("shows one message with escaped content and plain links", async () => {
    const email = uniqueEmail("one");
    await signUp(t.client(), { email, firstName: `<img src=x onerror=alert(1)>` });
    const [m] = (await t.client().get(`/api/v1/dev/mailbox?to=${encodeURIComponent(email)}`)).json().items;
    const one = await t.client().get(`/api/v1/dev/mailbox/${m.id}`);
    expect(one.json()).toMatchObject({ id: m.id, to: email, template: "verifyEmail", locale: "en" });

    const page = await t.client().get(`/dev/mailbox/${m.id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain("<img");
    expect(page.body).not.toMatch(/<script/i);
    expect(page.body).toContain("Hi &lt;img src=x onerror=alert(1)&gt;,");
    const link = /https?:\/\/\S+/.exec(m.text)![0];
    expect(link.startsWith(`${APP_URL}/verify-email?token=`)).toBe(true);
    expect(page.body).toContain(`<a href="${link}">${link}</a>`);

    const html = await t.client().get(`/dev/mailbox/${m.id}/html`);
    expect(html.statusCode).toBe(200);
    expect(html.headers["content-security-policy"]).toMatch(/^sandbox/);
    expect(html.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(html.body).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("answers 404 for unknown or malformed message ids, 400 on the API for a bad id", async () => {
    expect((await t.client().get(`/dev/mailbox/${crypto.randomUUID()}`)).statusCode).toBe(404);
    expect((await t.client().get("/dev/mailbox/not-a-uuid")).statusCode).toBe(404);
    expect((await t.client().get("/dev/mailbox/not-a-uuid/html")).statusCode).toBe(404);
    const api = await t.client().get("/api/v1/dev/mailbox/not-a-uuid");
    expect(api.statusCode).toBe(400);
    expect(api.headers["content-type"]).toContain("application/problem+json");
    const missing = await t.client().get(`/api/v1/dev/mailbox/${crypto.randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("message_not_found");
  });

  it("prints each stored message's links to the log", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const { outbox, close } = await openOutbox(t.database, {
      log: pino({ level: "info" }, sink),
      from: "x <x@x.test>",
    });
    const id = await t.database.db.transaction((tx) =>
      outbox.enqueue(tx, {
        to: "log@example.com",
        template: "passwordReset",
        locale: "es",
        data: { firstName: "Log", url: "http://chorus.test/reset-password?token=zzz" },
      }),
    );
    await outbox.drain();
    await close();
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.to === "log@example.com");
    expect(line?.links).toEqual(["http://chorus.test/reset-password?token=zzz"]);
    expect((await t.client().get(`/api/v1/dev/mailbox/${id}`)).json().status).toBe("sent");
  });
});
