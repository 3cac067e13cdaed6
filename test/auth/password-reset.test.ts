import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authTokens } from "../../src/server/db/schema/index.js";
import { hashToken } from "../../src/server/lib/tokens.js";
import {
  MAX_RESET_EMAILS_PER_HOUR,
  MAX_RESET_REQUESTS_PER_IP_PER_HOUR,
} from "../../src/server/modules/auth/password-reset.js";
import { createTestApp, signUp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { expectProblem, latestToken, mailsTo, seedRateLimitHits, signUpWithTwoFactor, totpCode } from "./support.js";

const NEW_PASSWORD = "a brand new passphrase 42";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const forgot = (email: string) => t.client().post("/api/v1/auth/password/forgot", { email });
const reset = (token: string, password = NEW_PASSWORD) =>
  t.client().post("/api/v1/auth/password/reset", { token, password });
const login = (email: string, password: string) => t.client().post("/api/v1/auth/login", { email, password });

describe("POST /auth/password/forgot", () => {
  it("answers 202 and emails a one-hour link to an existing account", async () => {
    const user = await signUp(t.client());
    const res = await forgot(user.email.toUpperCase());
    expect(res.statusCode).toBe(202);
    const [mail] = await mailsTo(t, user.email);
    expect(mail!.template).toBe("passwordReset");
    const token = await latestToken(t, user.email, "reset-password");
    const [row] = await t.database.db
      .select()
      .from(authTokens)
      .where(eq(authTokens.tokenHash, hashToken(token)));
    const ttl = row!.expiresAt.getTime() - row!.createdAt.getTime();
    expect(Math.round(ttl / 60_000)).toBe(60);
  });

  it("answers the same 202 for an unknown email and sends nothing", async () => {
    const known = await forgot((await signUp(t.client())).email);
    const email = uniqueEmail("ghost");
    const res = await forgot(email);
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe(known.body);
    expect(res.headers["content-type"]).toBe(known.headers["content-type"]);
    expect(await mailsTo(t, email)).toHaveLength(0);
  });

  it("kills the older link when a new one is asked for", async () => {
    const user = await signUp(t.client());
    await forgot(user.email);
    const first = await latestToken(t, user.email, "reset-password");
    await forgot(user.email);
    const second = await latestToken(t, user.email, "reset-password");
    expectProblem(await reset(first), 400, "token_invalid");
    expect((await reset(second)).statusCode).toBe(204);
  });

  it("stops emailing one address silently after the hourly limit", async () => {
    const user = await signUp(t.client());
    for (let i = 0; i < MAX_RESET_EMAILS_PER_HOUR + 2; i++) expect((await forgot(user.email)).statusCode).toBe(202);
    const resets = (await mailsTo(t, user.email)).filter((m) => m.template === "passwordReset");
    expect(resets).toHaveLength(MAX_RESET_EMAILS_PER_HOUR);
  });

  it("refuses an IP over its hourly limit with 429 and Retry-After", async () => {
    await seedRateLimitHits(t, "password_forgot:ip:127.0.0.1", MAX_RESET_REQUESTS_PER_IP_PER_HOUR);
    const res = await forgot(uniqueEmail());
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    await t.database.db.execute(sql`delete from rate_limit_hits where key = 'password_forgot:ip:127.0.0.1'`);
  });

  it("validates the email", async () => {
    expectProblem(await forgot("not-an-email"), 400, "validation_failed");
  });
});

describe("POST /auth/password/reset", () => {
  it("sets the password, signs every session out, does not sign in, works once", async () => {
    const c = t.client();
    const user = await signUp(c);
    await forgot(user.email);
    const token = await latestToken(t, user.email, "reset-password");

    const res = await c.post("/api/v1/auth/password/reset", { token, password: NEW_PASSWORD });
    expect(res.statusCode).toBe(204);
    expect(c.cookies.chorus_session).toBeUndefined();
    expectProblem(await c.get("/api/v1/me"), 401, "unauthenticated");

    expectProblem(await login(user.email, user.password), 401, "invalid_credentials");
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
    expectProblem(await reset(token, "yet another passphrase 7"), 400, "token_invalid");
  });

  it("revokes a session held by another client (Bearer or cookie) on its next request", async () => {
    const other = t.client();
    const user = await signUp(other);
    await forgot(user.email);
    expect((await reset(await latestToken(t, user.email, "reset-password"))).statusCode).toBe(204);
    expectProblem(await other.get("/api/v1/me"), 401, "session_expired");
  });

  it("does not bypass two-factor: the next sign-in still asks for the code", async () => {
    const user = await signUpWithTwoFactor(t);
    await forgot(user.email);
    expect((await reset(await latestToken(t, user.email, "reset-password"))).statusCode).toBe(204);
    const res = await login(user.email, NEW_PASSWORD);
    expect(res.json()).toEqual({ twoFactorRequired: true, challengeToken: expect.any(String) });
    const done = await t.client().post("/api/v1/auth/login/2fa", {
      challengeToken: res.json().challengeToken,
      code: await totpCode(user.secret),
    });
    expect(done.statusCode).toBe(200);
  });

  it("kills a sign-in challenge issued before the reset", async () => {
    const user = await signUpWithTwoFactor(t);
    const challengeToken = (await login(user.email, user.password)).json().challengeToken;
    await forgot(user.email);
    await reset(await latestToken(t, user.email, "reset-password"));
    const res = await t.client().post("/api/v1/auth/login/2fa", { challengeToken, code: await totpCode(user.secret) });
    expectProblem(res, 401, "login_challenge_invalid");
  });

  it("refuses a common password and keeps the link usable", async () => {
    const user = await signUp(t.client());
    await forgot(user.email);
    const token = await latestToken(t, user.email, "reset-password");
    const res = await reset(token, "password123");
    expectProblem(res, 400, "password_too_common");
    expect(res.json().errors[0].path).toBe("password");
    expect((await reset(token)).statusCode).toBe(204);
  });

  it("refuses an expired link with 410", async () => {
    const user = await signUp(t.client());
    await forgot(user.email);
    const token = await latestToken(t, user.email, "reset-password");
    await t.database.db
      .update(authTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(authTokens.tokenHash, hashToken(token)));
    expectProblem(await reset(token), 410, "token_expired");
  });

  it("refuses a too-short password and an unknown token", async () => {
    expectProblem(await reset("x".repeat(43), "short"), 400, "validation_failed");
    expectProblem(await reset("x".repeat(43)), 400, "token_invalid");
  });

  it("marks the email verified: the link proved the mailbox", async () => {
    const c = t.client();
    const user = await signUp(c);
    await forgot(user.email);
    await reset(await latestToken(t, user.email, "reset-password"));
    await c.post("/api/v1/auth/login", { email: user.email, password: NEW_PASSWORD });
    expect((await c.get("/api/v1/me")).json().emailVerified).toBe(true);
  });
});
