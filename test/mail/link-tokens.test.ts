import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mailOutbox } from "../../src/server/db/schema/index.js";
import { createLogger } from "../../src/server/logger.js";
import { APP_URL, createTestApp, STRONG_PASSWORD, signUp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { inviteTokenFrom, orgWithOwner } from "../helpers/orgs.js";
import { invite } from "../invitations/support.js";
import { TestSmtp, until } from "./smtp.js";

/**
 * An app sending through a real SMTP server and logging at info, as in production, into `log`.
 * Link tokens are read from the mail the SMTP server received, then used the way a browser does.
 */
let smtp: TestSmtp;
let t: TestApp;
const log: string[] = [];
const tokens: string[] = [];
beforeAll(async () => {
  smtp = await TestSmtp.start();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      log.push(String(chunk));
      done();
    },
  });
  t = await createTestApp({
    env: { SMTP_URL: smtp.url },
    logger: createLogger("info", sink),
    serveWeb: true,
    workers: true,
  });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const to = (email: string) => (m: { to?: unknown }) => JSON.stringify(m.to).includes(email);
const tokenOf = (text: string | undefined, page: string) =>
  new RegExp(`${APP_URL}/${page}\\?token=([A-Za-z0-9_-]+)`).exec(text ?? "")![1]!;

/** The URLs of every request's log line (one per request, written when it is answered). */
const loggedUrls = () =>
  log
    .map((l) => JSON.parse(l) as { msg: string; req?: { url: string } })
    .filter((l) => l.msg === "request completed")
    .map((l) => l.req!.url);

describe("audit finding 2: link tokens in request URLs never reach the log", () => {
  it("redacts invitation, verification and reset tokens from every logged URL, keeping the path readable", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Log Co");
    const invitee = uniqueEmail("logged");
    expect((await invite(owner.client, orgId, { email: invitee, firstName: "In", lastName: "Vitee" })).statusCode).toBe(
      201,
    );
    const inviteToken = inviteTokenFrom((await smtp.waitFor(to(invitee))).text ?? "", APP_URL);

    const email = uniqueEmail("reset");
    await signUp(t.client(), { email });
    const verifyMail = await smtp.waitFor((m) => to(email)(m) && (m.text ?? "").includes("/verify-email?token="));
    const verifyToken = tokenOf(verifyMail.text, "verify-email");
    const browser = t.client();
    expect((await browser.post("/api/v1/auth/password/forgot", { email })).statusCode).toBe(202);
    const resetMail = await smtp.waitFor((m) => to(email)(m) && (m.text ?? "").includes("/reset-password?token="));
    const resetToken = tokenOf(resetMail.text, "reset-password");
    tokens.push(inviteToken, verifyToken, resetToken);

    // What a browser and the web app do with the links.
    const visits = [
      `/invite/${inviteToken}`,
      `/Invite/${inviteToken}`,
      `/verify-email?token=${verifyToken}`,
      `/reset-password?token=${resetToken}`,
      `/reset-password?lang=es&token=${resetToken}&code=123456`,
      `/reset-password?%74oken=${resetToken}`,
    ];
    for (const url of visits) expect((await browser.get(url)).statusCode, url).toBe(200);
    // The API takes the token in the body now; a client still using the old path is answered 404,
    // and its URL is logged redacted all the same.
    expect((await browser.get(`/api/v1/invitations/${inviteToken}`)).statusCode).toBe(404);
    expect((await browser.post(`/api/v1/invitations/${inviteToken}/accept`, {})).statusCode).toBe(404);
    const accepted = await browser.post("/api/v1/invitations/accept", {
      token: inviteToken,
      password: STRONG_PASSWORD,
    });
    expect(accepted.statusCode, accepted.body).toBe(200);

    const text = log.join("");
    for (const token of tokens) expect(text).not.toContain(token);
    const urls = loggedUrls();
    for (const url of [
      "/invite/[redacted]",
      "/Invite/[redacted]",
      "/api/v1/invitations/[redacted]",
      "/api/v1/invitations/[redacted]/accept",
      "/verify-email?token=[redacted]",
      "/reset-password?token=[redacted]",
      "/reset-password?lang=es&token=[redacted]&code=[redacted]",
    ]) {
      expect(urls).toContain(url);
    }
  });

  it("prints no mail link to the log when an SMTP server is configured", () => {
    expect(log.join("")).not.toContain(`${APP_URL}/`);
  });
});

describe("audit finding 3: sent mail keeps no link token in the database", () => {
  it("once delivered through SMTP, no outbox row holds a token; recipient, template and times stay", async () => {
    expect(tokens).toHaveLength(3); // set by the test above
    const rows = await until(async () => {
      const all = await t.database.db.select().from(mailOutbox);
      return all.length >= 3 && all.every((r) => r.status === "sent") ? all : null;
    });
    const stored = JSON.stringify(rows);
    for (const token of tokens) expect(stored).not.toContain(token);
    for (const r of rows) {
      expect(r).toMatchObject({ status: "sent", attempts: 1, lastError: null, textBody: "", htmlBody: "" });
      expect(r.toEmail).toMatch(/@example\.com$/);
      expect(r.sentAt).toBeInstanceOf(Date);
    }
    expect(rows.map((r) => r.template).sort()).toEqual(
      expect.arrayContaining(["invitation", "passwordReset", "verifyEmail"]),
    );
  });
});
