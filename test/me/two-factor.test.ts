import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoveryCodes, users } from "../../src/server/db/schema/index.js";
import { MAX_REAUTH_FAILURES_PER_HOUR } from "../../src/server/modules/auth/reauth.js";
import { expectProblem, forgetTotpStep, seedRateLimitHits, signUpWithTwoFactor, totpCode } from "../auth/support.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const wrongCode = async (secret: string) => ((await totpCode(secret)) === "000000" ? "111111" : "000000");

async function loginNeeds2fa(email: string, password: string): Promise<boolean> {
  const res = await t.client().post("/api/v1/auth/login", { email, password });
  expect(res.statusCode).toBe(200);
  return res.json().twoFactorRequired === true;
}

describe("TOTP setup and enable", () => {
  it("answers a secret, an otpauth URL and an SVG QR code; 2FA stays off until enabled", async () => {
    const c = t.client();
    const user = await signUp(c);
    const res = await c.post("/api/v1/me/2fa/totp/setup");
    expect(res.statusCode).toBe(200);
    const { secret, otpauthUrl, qrSvg } = res.json();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const url = new URL(otpauthUrl);
    expect(url.protocol).toBe("otpauth:");
    expect(url.searchParams.get("secret")).toBe(secret);
    expect(url.searchParams.get("issuer")).toBe("Chorus");
    expect(decodeURIComponent(url.pathname)).toContain(user.email);
    expect(qrSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect((await c.get("/api/v1/me")).json().twoFactorEnabled).toBe(false);
    expect(await loginNeeds2fa(user.email, user.password)).toBe(false);
  });

  it("turns 2FA on with a valid code and answers 10 distinct recovery codes, stored hashed", async () => {
    const user = await signUpWithTwoFactor(t);
    expect(user.recoveryCodes).toHaveLength(10);
    expect(new Set(user.recoveryCodes).size).toBe(10);
    const me = (await user.client.get("/api/v1/me")).json();
    expect(me).toMatchObject({ twoFactorEnabled: true, recoveryCodesRemaining: 10 });
    const stored = await t.database.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id));
    expect(stored).toHaveLength(10);
    for (const row of stored) expect(user.recoveryCodes.map((c) => c.replaceAll("-", ""))).not.toContain(row.codeHash);
    expect(await loginNeeds2fa(user.email, user.password)).toBe(true);
  });

  it("refuses a wrong code, an enable without setup, and a second setup once on", async () => {
    const c = t.client();
    await signUp(c);
    expectProblem(await c.post("/api/v1/me/2fa/totp/enable", { code: "123456" }), 409, "two_factor_setup_required");
    const { secret } = (await c.post("/api/v1/me/2fa/totp/setup")).json();
    expectProblem(
      await c.post("/api/v1/me/2fa/totp/enable", { code: await wrongCode(secret) }),
      400,
      "invalid_2fa_code",
    );
    expectProblem(await c.post("/api/v1/me/2fa/totp/enable", { code: "12ab56" }), 400, "validation_failed");
    expect((await c.post("/api/v1/me/2fa/totp/enable", { code: await totpCode(secret) })).statusCode).toBe(200);
    expectProblem(await c.post("/api/v1/me/2fa/totp/setup"), 409, "two_factor_already_enabled");
    expectProblem(await c.post("/api/v1/me/2fa/totp/enable", { code: "123456" }), 409, "two_factor_already_enabled");
  });

  it("needs a session", async () => {
    expectProblem(await t.client().post("/api/v1/me/2fa/totp/setup"), 401, "unauthenticated");
  });
});

describe("POST /me/2fa/recovery-codes", () => {
  it("replaces the codes: old ones stop working, new ones sign in", async () => {
    const user = await signUpWithTwoFactor(t);
    const res = await user.client.post("/api/v1/me/2fa/recovery-codes", { code: await totpCode(user.secret) });
    expect(res.statusCode).toBe(200);
    const fresh = res.json().recoveryCodes as string[];
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(user.recoveryCodes[0]);

    const finish = async (recoveryCode: string) => {
      const login = await t.client().post("/api/v1/auth/login", { email: user.email, password: user.password });
      return t.client().post("/api/v1/auth/login/2fa", { challengeToken: login.json().challengeToken, recoveryCode });
    };
    expectProblem(await finish(user.recoveryCodes[0]!), 401, "invalid_2fa_code");
    expect((await finish(fresh[0]!)).statusCode).toBe(200);
    expect((await user.client.get("/api/v1/me")).json().recoveryCodesRemaining).toBe(9);
  });

  it("refuses a wrong code, and answers 409 when 2FA is off", async () => {
    const user = await signUpWithTwoFactor(t);
    expectProblem(
      await user.client.post("/api/v1/me/2fa/recovery-codes", { code: await wrongCode(user.secret) }),
      400,
      "invalid_2fa_code",
    );
    const plain = t.client();
    await signUp(plain);
    expectProblem(await plain.post("/api/v1/me/2fa/recovery-codes", { code: "123456" }), 409, "two_factor_not_enabled");
  });

  it("limits wrong codes per account (429)", async () => {
    const user = await signUpWithTwoFactor(t);
    await seedRateLimitHits(t, `reauth:user:${user.id}`, MAX_REAUTH_FAILURES_PER_HOUR);
    const res = await user.client.post("/api/v1/me/2fa/recovery-codes", { code: await totpCode(user.secret) });
    expectProblem(res, 429, "rate_limited");
    expect(res.headers["retry-after"]).toBeDefined();
  });
});

describe("POST /me/2fa/disable", () => {
  it("turns 2FA off with password and code: sign-in no longer asks for it", async () => {
    const user = await signUpWithTwoFactor(t);
    const res = await user.client.post("/api/v1/me/2fa/disable", {
      password: user.password,
      code: await totpCode(user.secret),
    });
    expect(res.statusCode).toBe(204);
    expect((await user.client.get("/api/v1/me")).json()).toMatchObject({
      twoFactorEnabled: false,
      recoveryCodesRemaining: null,
    });
    const [row] = await t.database.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.totpSecret).toBeNull();
    expect(await t.database.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.id))).toHaveLength(0);
    expect(await loginNeeds2fa(user.email, user.password)).toBe(false);
  });

  it("accepts a recovery code instead of an authenticator code", async () => {
    const user = await signUpWithTwoFactor(t);
    const res = await user.client.post("/api/v1/me/2fa/disable", {
      password: user.password,
      code: user.recoveryCodes[3]!,
    });
    expect(res.statusCode).toBe(204);
  });

  it("refuses a wrong password or a wrong or reused code, and stays on", async () => {
    const user = await signUpWithTwoFactor(t);
    const code = await totpCode(user.secret);
    const wrongPassword = await user.client.post("/api/v1/me/2fa/disable", { password: "not the password", code });
    expectProblem(wrongPassword, 400, "current_password_incorrect");
    expect(wrongPassword.json().errors[0].path).toBe("password");
    expectProblem(
      await user.client.post("/api/v1/me/2fa/disable", { password: user.password, code: await wrongCode(user.secret) }),
      400,
      "invalid_2fa_code",
    );
    // A code spent once (here by regenerating recovery codes) cannot be spent again.
    await forgetTotpStep(t, user.id);
    expect((await user.client.post("/api/v1/me/2fa/recovery-codes", { code })).statusCode).toBe(200);
    expectProblem(
      await user.client.post("/api/v1/me/2fa/disable", { password: user.password, code }),
      400,
      "invalid_2fa_code",
    );
    expect((await user.client.get("/api/v1/me")).json().twoFactorEnabled).toBe(true);
  });

  it("answers 409 when 2FA is off", async () => {
    const c = t.client();
    const user = await signUp(c);
    expectProblem(
      await c.post("/api/v1/me/2fa/disable", { password: user.password, code: "123456" }),
      409,
      "two_factor_not_enabled",
    );
  });
});
