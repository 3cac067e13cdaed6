import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authTokens, loginAttempts } from "../../src/server/db/schema/index.js";
import { MAX_CHALLENGE_FAILURES } from "../../src/server/modules/auth/login-2fa.js";
import {
  MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
  MAX_FAILURES_PER_IP_PER_HOUR,
} from "../../src/server/modules/auth/throttle.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { expectProblem, forgetTotpStep, seedFailures, signUpWithTwoFactor, totpCode } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function challengeFor(user: { email: string; password: string }, c = t.client()) {
  const res = await c.post("/api/v1/auth/login", { email: user.email, password: user.password });
  expect(res.statusCode).toBe(200);
  expect(res.json().twoFactorRequired).toBe(true);
  expect(c.cookies.chorus_session).toBeUndefined();
  return res.json().challengeToken as string;
}

describe("POST /auth/login/2fa", () => {
  it("finishes the sign-in with an authenticator code and records it", async () => {
    const user = await signUpWithTwoFactor(t);
    const c = t.client();
    const challengeToken = await challengeFor(user, c);
    const res = await c.post("/api/v1/auth/login/2fa", { challengeToken, code: await totpCode(user.secret) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email: user.email, twoFactorEnabled: true });
    expect(c.cookies.chorus_session).toBeTruthy();
    expect((await c.get("/api/v1/me")).statusCode).toBe(200);

    const [attempt] = await t.database.db
      .select()
      .from(loginAttempts)
      .where(eq(loginAttempts.userId, user.id))
      .orderBy(sql`${loginAttempts.at} desc`)
      .limit(1);
    expect(attempt).toMatchObject({ success: true, method: "totp", twoFactorUsed: true });
  });

  it("refuses a TOTP code used before", async () => {
    const user = await signUpWithTwoFactor(t);
    const code = await totpCode(user.secret);
    const first = await t.client().post("/api/v1/auth/login/2fa", { challengeToken: await challengeFor(user), code });
    expect(first.statusCode).toBe(200);
    const again = await t.client().post("/api/v1/auth/login/2fa", { challengeToken: await challengeFor(user), code });
    expectProblem(again, 401, "invalid_2fa_code");
  });

  it("accepts each recovery code once, in any case and spacing", async () => {
    const user = await signUpWithTwoFactor(t);
    const recoveryCode = user.recoveryCodes[0]!;
    const first = await t.client().post("/api/v1/auth/login/2fa", {
      challengeToken: await challengeFor(user),
      recoveryCode: ` ${recoveryCode.toUpperCase().replaceAll("-", " ")} `,
    });
    expect(first.statusCode).toBe(200);
    const again = await t
      .client()
      .post("/api/v1/auth/login/2fa", { challengeToken: await challengeFor(user), recoveryCode });
    expectProblem(again, 401, "invalid_2fa_code");
    const me = await t.client().post("/api/v1/auth/login/2fa", {
      challengeToken: await challengeFor(user),
      recoveryCode: user.recoveryCodes[1]!,
    });
    expect(me.statusCode).toBe(200);
  });

  it("uses a challenge once", async () => {
    const user = await signUpWithTwoFactor(t);
    const challengeToken = await challengeFor(user);
    const ok = await t.client().post("/api/v1/auth/login/2fa", { challengeToken, code: await totpCode(user.secret) });
    expect(ok.statusCode).toBe(200);
    await forgetTotpStep(t, user.id);
    const reused = await t
      .client()
      .post("/api/v1/auth/login/2fa", { challengeToken, code: await totpCode(user.secret) });
    expectProblem(reused, 401, "login_challenge_invalid");
  });

  it("kills the challenge after 5 wrong codes and records each failure", async () => {
    const user = await signUpWithTwoFactor(t);
    const challengeToken = await challengeFor(user);
    const good = await totpCode(user.secret);
    const wrong = good === "000000" ? "111111" : "000000";
    for (let i = 1; i <= MAX_CHALLENGE_FAILURES; i++) {
      const res = await t.client().post("/api/v1/auth/login/2fa", { challengeToken, code: wrong });
      expectProblem(res, 401, "invalid_2fa_code");
      expect(res.json().attemptsRemaining).toBe(MAX_CHALLENGE_FAILURES - i);
    }
    const late = await t.client().post("/api/v1/auth/login/2fa", { challengeToken, code: good });
    expectProblem(late, 401, "login_challenge_invalid");

    const failures = await t.database.db
      .select()
      .from(loginAttempts)
      .where(sql`${loginAttempts.userId} = ${user.id} and not ${loginAttempts.success}`);
    expect(failures).toHaveLength(MAX_CHALLENGE_FAILURES);
    expect(failures.every((f) => f.failureReason === "invalid_totp_code" && f.twoFactorUsed)).toBe(true);
  });

  it("refuses an expired or unknown challenge", async () => {
    const user = await signUpWithTwoFactor(t);
    const challengeToken = await challengeFor(user);
    await t.database.db
      .update(authTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(sql`${authTokens.userId} = ${user.id} and ${authTokens.kind} = 'login_challenge'`);
    const code = await totpCode(user.secret);
    expectProblem(
      await t.client().post("/api/v1/auth/login/2fa", { challengeToken, code }),
      401,
      "login_challenge_invalid",
    );
    expectProblem(
      await t.client().post("/api/v1/auth/login/2fa", { challengeToken: "nope".repeat(10), code }),
      401,
      "login_challenge_invalid",
    );
  });

  it("needs exactly one of code and recoveryCode, and a 6-digit code", async () => {
    const post = (body: Record<string, unknown>) => t.client().post("/api/v1/auth/login/2fa", body);
    expectProblem(await post({ challengeToken: "abc" }), 400, "validation_failed");
    expectProblem(
      await post({ challengeToken: "abc", code: "123456", recoveryCode: "abcd-efgh" }),
      400,
      "validation_failed",
    );
    expectProblem(await post({ challengeToken: "abc", code: "12345" }), 400, "validation_failed");
  });

  it("is throttled per account: 429 with Retry-After, even with the right code", async () => {
    const user = await signUpWithTwoFactor(t);
    const challengeToken = await challengeFor(user);
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.9", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
    );
    const res = await t.client().post("/api/v1/auth/login/2fa", { challengeToken, code: await totpCode(user.secret) });
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(res.headers["retry-after"])).toBeLessThanOrEqual(3600);
  });

  it("is throttled per IP", async () => {
    const user = await signUpWithTwoFactor(t);
    const c = t.client();
    const challengeToken = await challengeFor(user, c);
    // app.inject connects from 127.0.0.1: the failures are seeded for that address.
    await seedFailures(t, { email: "someone-else@example.com", ip: "127.0.0.1" }, MAX_FAILURES_PER_IP_PER_HOUR);
    const res = await c.post("/api/v1/auth/login/2fa", { challengeToken, code: await totpCode(user.secret) });
    expectProblem(res, 429, "rate_limited");
    await t.database.db.execute(sql`delete from login_attempts where ip = '127.0.0.1' and user_agent = 'seed'`);
  });
});
