import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recoveryCodes, sessions, users } from "../../src/server/db/schema/index.js";
import { MAX_REAUTH_FAILURES_PER_HOUR } from "../../src/server/modules/auth/reauth.js";
import { createSession } from "../../src/server/modules/auth/sessions.js";
import { expectProblem, forgetTotpStep, seedRateLimitHits, signUpWithTwoFactor, totpCode } from "../auth/support.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";

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
    const { password } = await signUp(c);
    const enable = (code: string) => c.post("/api/v1/me/2fa/totp/enable", { password, code });
    expectProblem(await enable("123456"), 409, "two_factor_setup_required");
    const { secret } = (await c.post("/api/v1/me/2fa/totp/setup")).json();
    expectProblem(await enable(await wrongCode(secret)), 400, "invalid_2fa_code");
    expectProblem(await enable("12ab56"), 400, "validation_failed");
    expect((await enable(await totpCode(secret))).statusCode).toBe(200);
    expectProblem(await c.post("/api/v1/me/2fa/totp/setup"), 409, "two_factor_already_enabled");
    expectProblem(await enable("123456"), 409, "two_factor_already_enabled");
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

describe("audit finding 5: turning 2FA on needs the password, ends the other sessions, and the org policy asks the session", () => {
  it("(a) refuses to enable without the password or with a wrong one, counting the failure", async () => {
    const c = t.client();
    const user = await signUp(c);
    const { secret } = (await c.post("/api/v1/me/2fa/totp/setup")).json();
    const code = await totpCode(secret);
    expectProblem(await c.post("/api/v1/me/2fa/totp/enable", { code }), 400, "validation_failed");
    const wrong = await c.post("/api/v1/me/2fa/totp/enable", { password: "not the password", code });
    expectProblem(wrong, 400, "current_password_incorrect");
    expect(wrong.json().errors[0].path).toBe("password");
    expect((await c.get("/api/v1/me")).json().twoFactorEnabled).toBe(false);
    // The failure counted against the re-authentication budget; at the limit, even the right password waits.
    await seedRateLimitHits(t, `reauth:user:${user.id}`, MAX_REAUTH_FAILURES_PER_HOUR - 1);
    expectProblem(await c.post("/api/v1/me/2fa/totp/enable", { password: user.password, code }), 429, "rate_limited");
    expect((await c.get("/api/v1/me")).json().twoFactorEnabled).toBe(false);
  });

  it("(b) signs out every other session of the account; this one stays, marked as having passed 2FA", async () => {
    const c = t.client();
    const user = await signUp(c);
    const other = t.client();
    expect((await other.post("/api/v1/auth/login", { email: user.email, password: user.password })).statusCode).toBe(
      200,
    );
    expect((await other.get("/api/v1/me")).statusCode).toBe(200);
    const { secret } = (await c.post("/api/v1/me/2fa/totp/setup")).json();
    const res = await c.post("/api/v1/me/2fa/totp/enable", { password: user.password, code: await totpCode(secret) });
    expect(res.statusCode).toBe(200);
    expectProblem(await other.get("/api/v1/me"), 401, "session_expired");
    expect((await c.get("/api/v1/me")).statusCode).toBe(200);
    const live = await t.database.db
      .select({ verified: sessions.twoFactorVerified, revokedAt: sessions.revokedAt })
      .from(sessions)
      .where(eq(sessions.userId, user.id));
    expect(live.filter((s) => s.revokedAt === null)).toEqual([{ verified: true, revokedAt: null }]);
  });

  it("(c) holds a session that did not pass 2FA at the organization's policy, even when the user has 2FA on", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Strict", { twoFactor: true });
    expect((await owner.client.patch(`/api/v1/orgs/${orgId}`, { requireTwoFactor: true })).statusCode).toBe(200);
    const member = await memberWith(t, orgId, ["administrator"], { twoFactor: true });
    expect((await member.client.get(`/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);

    // A password-only session of the same user (e.g. one that outlived the switch to 2FA).
    const { client: c, sessionId: passwordOnlyId } = await passwordOnlyClient(member.id);
    expectProblem(await c.get(`/api/v1/orgs/${orgId}/members`), 403, "two_factor_required");
    expect((await c.get(`/api/v1/orgs/${orgId}/me`)).json().twoFactorBlocked).toBe(true);
    expect((await member.client.get(`/api/v1/orgs/${orgId}/me`)).json().twoFactorBlocked).toBe(false);

    // The cached session carries the flag and a change to it retires the entry.
    await t.database.db.update(sessions).set({ twoFactorVerified: true }).where(eq(sessions.id, passwordOnlyId));
    await t.settle();
    expect((await c.get(`/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);

    // Requiring 2FA from a session that did not pass it would lock its author out: refused.
    const relaxed = await orgWithOwner(t, "Relaxed", { twoFactor: true });
    const { client: o } = await passwordOnlyClient(relaxed.owner.id);
    const refused = await o.patch(`/api/v1/orgs/${relaxed.orgId}`, { requireTwoFactor: true });
    expect({ status: refused.statusCode, code: refused.json().code }).toEqual({
      status: 409,
      code: "enable_two_factor_first",
    });
  });
});

/** A client on a new session of `userId` that did not pass 2FA (one that outlived the switch to 2FA). */
async function passwordOnlyClient(userId: string) {
  const session = await createSession(t.database.db, {
    userId,
    ip: "127.0.0.1",
    userAgent: "vitest",
    twoFactorVerified: false,
    idleTtlMs: 3_600_000,
  });
  const client = t.client();
  client.bearer = session.token;
  return { client, sessionId: session.id };
}
