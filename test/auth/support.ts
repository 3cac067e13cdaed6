import { and, desc, eq, sql } from "drizzle-orm";
import { generate } from "otplib";
import { expect } from "vitest";
import { mailOutbox, users } from "../../src/server/db/schema/index.js";
import { APP_URL, STRONG_PASSWORD, signUp, type TestApp, type TestClient, uniqueEmail } from "../helpers/app.js";

/**
 * Messages queued for `email`, newest first (the development mailbox is the outbox table); of
 * one template only when given (security alerts arrive between the messages a test is about).
 */
export async function mailsTo(t: TestApp, email: string, template?: string) {
  return t.database.db
    .select()
    .from(mailOutbox)
    .where(and(eq(mailOutbox.toEmail, email), template ? eq(mailOutbox.template, template) : undefined))
    .orderBy(desc(mailOutbox.createdAt), desc(mailOutbox.id));
}

/** The token of the `APP_URL/<page>?token=…` link in a message body. */
export function tokenFromLink(body: string, page: "verify-email" | "reset-password"): string {
  const match = new RegExp(`${APP_URL}/${page}\\?token=([A-Za-z0-9_-]+)`).exec(body);
  if (!match) throw new Error(`no ${page} link in: ${body}`);
  return match[1]!;
}

export async function latestToken(t: TestApp, email: string, page: "verify-email" | "reset-password") {
  const [mail] = await mailsTo(t, email, page === "verify-email" ? "verifyEmail" : "passwordReset");
  expect(mail).toBeDefined();
  return tokenFromLink(mail!.textBody, page);
}

/**
 * Signs up and signs in with the password, without following the verification link: the
 * account stays unverified with its link in the mailbox (signUp follows the link).
 */
export async function signUpUnverified(c: TestClient, email = uniqueEmail()) {
  const body = { email, password: STRONG_PASSWORD, firstName: "Ada", lastName: "Lovelace" };
  expect((await c.post("/api/v1/auth/signup", body)).statusCode).toBe(202);
  const login = await c.post("/api/v1/auth/login", { email, password: STRONG_PASSWORD });
  expect(login.statusCode).toBe(200);
  return { ...(login.json() as { id: string; email: string; emailVerified: boolean }), password: STRONG_PASSWORD };
}

export const totpCode = (secret: string) => generate({ secret });

/** Lets the next code of the current time step be accepted again (tests cannot wait 30 seconds). */
export async function forgetTotpStep(t: TestApp, userId: string) {
  await t.database.db.update(users).set({ totpLastStep: null }).where(eq(users.id, userId));
}

/** Signs up and turns on TOTP; the client keeps its (2FA-verified) session. */
export async function signUpWithTwoFactor(t: TestApp, c: TestClient = t.client()) {
  const user = await signUp(c);
  const setup = await c.post("/api/v1/me/2fa/totp/setup");
  expect(setup.statusCode).toBe(200);
  const secret = setup.json().secret as string;
  const enable = await c.post("/api/v1/me/2fa/totp/enable", { password: user.password, code: await totpCode(secret) });
  expect(enable.statusCode).toBe(200);
  await forgetTotpStep(t, user.id);
  return { ...user, client: c, secret, recoveryCodes: enable.json().recoveryCodes as string[] };
}

/** `n` failed sign-in attempts recorded `minutesAgo` minutes ago, in one statement. */
export async function seedFailures(
  t: TestApp,
  who: { email: string; ip: string; userId?: string | null },
  n: number,
  minutesAgo = 10,
) {
  await t.database.db.execute(sql`
    insert into login_attempts (user_id, email, at, ip, user_agent, success, failure_reason)
    select ${who.userId ?? null}::uuid, ${who.email}, now() - ${`${minutesAgo} minutes`}::interval, ${who.ip},
           'seed', false, 'invalid_password'
    from generate_series(1, ${n})`);
}

export async function seedRateLimitHits(t: TestApp, key: string, n: number) {
  await t.database.db.execute(sql`
    insert into rate_limit_hits (key, at) select ${key}, now() - interval '5 minutes' from generate_series(1, ${n})`);
}

export function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  expect(res.headers["content-type"]).toContain("application/problem+json");
  expect({ status: res.statusCode, code: (res.json() as { code: string }).code }).toEqual({ status, code });
}
