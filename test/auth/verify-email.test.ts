import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authTokens } from "../../src/server/db/schema/index.js";
import { hashToken } from "../../src/server/lib/tokens.js";
import { MAX_VERIFICATION_RESENDS_PER_HOUR } from "../../src/server/modules/auth/verify-email.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { expectProblem, latestToken, mailsTo, signUpUnverified } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("POST /auth/verify-email", () => {
  it("verifies the email with the emailed token, once", async () => {
    const c = t.client();
    const user = await signUpUnverified(c);
    expect((await c.get("/api/v1/me")).json().emailVerified).toBe(false);
    const token = await latestToken(t, user.email, "verify-email");

    const res = await t.client().post("/api/v1/auth/verify-email", { token });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id, email: user.email, emailVerified: true });
    expect((await c.get("/api/v1/me")).json().emailVerified).toBe(true);

    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token }), 400, "token_invalid");
  });

  it("refuses an expired token with 410", async () => {
    const user = await signUpUnverified(t.client());
    const token = await latestToken(t, user.email, "verify-email");
    await t.database.db
      .update(authTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(authTokens.tokenHash, hashToken(token)));
    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token }), 410, "token_expired");
  });

  it("refuses an unknown token and a malformed one", async () => {
    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token: "x".repeat(43) }), 400, "token_invalid");
    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token: "short" }), 400, "validation_failed");
    expectProblem(await t.client().post("/api/v1/auth/verify-email", {}), 400, "validation_failed");
  });

  it("does not accept a password reset token", async () => {
    const user = await signUpUnverified(t.client());
    await t.client().post("/api/v1/auth/password/forgot", { email: user.email });
    const resetToken = await latestToken(t, user.email, "reset-password");
    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token: resetToken }), 400, "token_invalid");
  });
});

describe("POST /auth/verify-email/resend", () => {
  it("sends a new link and kills the old one", async () => {
    const c = t.client();
    const user = await signUpUnverified(c);
    const first = await latestToken(t, user.email, "verify-email");
    const res = await c.post("/api/v1/auth/verify-email/resend");
    expect(res.statusCode).toBe(202);
    expect(await mailsTo(t, user.email, "verifyEmail")).toHaveLength(2);
    const second = await latestToken(t, user.email, "verify-email");
    expect(second).not.toBe(first);

    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token: first }), 400, "token_invalid");
    expect((await t.client().post("/api/v1/auth/verify-email", { token: second })).statusCode).toBe(200);
  });

  it("answers 409 when the email is already verified", async () => {
    const c = t.client();
    const user = await signUpUnverified(c);
    await t.client().post("/api/v1/auth/verify-email", { token: await latestToken(t, user.email, "verify-email") });
    expectProblem(await c.post("/api/v1/auth/verify-email/resend"), 409, "email_already_verified");
  });

  it("needs a session", async () => {
    expectProblem(await t.client().post("/api/v1/auth/verify-email/resend"), 401, "unauthenticated");
  });

  it("is throttled per account with Retry-After", async () => {
    const c = t.client();
    const user = await signUpUnverified(c);
    for (let i = 0; i < MAX_VERIFICATION_RESENDS_PER_HOUR; i++) {
      expect((await c.post("/api/v1/auth/verify-email/resend")).statusCode).toBe(202);
    }
    const res = await c.post("/api/v1/auth/verify-email/resend");
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect(await mailsTo(t, user.email, "verifyEmail")).toHaveLength(1 + MAX_VERIFICATION_RESENDS_PER_HOUR);
  });
});
