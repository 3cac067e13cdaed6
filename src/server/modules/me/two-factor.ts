import { eq, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { sessions, users } from "../../db/schema/index.js";
import { badRequest, conflict, notFound } from "../../http/problem.js";
import { beginReauth } from "../auth/reauth.js";
import { deleteRecoveryCodes, replaceRecoveryCodes } from "../auth/recovery-codes.js";
import { spendSecondFactor } from "../auth/second-factor.js";
import { newTotpSecret, spendTotpCode, totpEnrollment } from "../auth/totp.js";
import { assertPassword } from "./password.js";

const invalidCode = () =>
  badRequest("invalid_2fa_code", "The code is not valid.", [{ path: "code", message: "Invalid code.", in: "body" }]);
const notEnabled = () => conflict("two_factor_not_enabled", "Two-factor authentication is not turned on.");
const alreadyEnabled = () =>
  conflict("two_factor_already_enabled", "Two-factor authentication is already on. Turn it off first to start over.");

async function loadUser(ctx: AppContext, userId: string) {
  const [user] = await ctx.db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw notFound("user", "user_not_found");
  return user;
}

/**
 * Starts enrolment: a new secret, kept pending (totp_enabled_at null) until a first valid
 * code proves the authenticator has it. Calling it again replaces a pending secret.
 */
export async function setupTotp(ctx: AppContext, userId: string) {
  const user = await loadUser(ctx, userId);
  if (user.totpEnabledAt) throw alreadyEnabled();
  const secret = newTotpSecret();
  await ctx.db
    .update(users)
    .set({ totpSecret: secret, totpLastStep: null, updatedAt: sql`now()` })
    .where(eq(users.id, userId));
  return totpEnrollment(secret, user.email);
}

export async function enableTotp(ctx: AppContext, auth: { userId: string; sessionId: string }, code: string) {
  const user = await loadUser(ctx, auth.userId);
  if (user.totpEnabledAt) throw alreadyEnabled();
  if (!user.totpSecret) throw conflict("two_factor_setup_required", "Start the setup first to get a secret.");
  const attempt = await beginReauth(ctx.db, user.id);
  if (!(await spendTotpCode(ctx.db, user, code))) throw invalidCode();
  await attempt.passed();
  return ctx.db.transaction(async (tx) => {
    await tx.update(users).set({ totpEnabledAt: sql`now()`, updatedAt: sql`now()` }).where(eq(users.id, user.id));
    // This session has just proved the second factor.
    await tx.update(sessions).set({ twoFactorVerified: true }).where(eq(sessions.id, auth.sessionId));
    return { recoveryCodes: await replaceRecoveryCodes(tx, user.id) };
  });
}

/** Spends a code (authenticator or recovery) of a user with 2FA on, counting failures. */
async function assertSecondFactor(ctx: AppContext, userId: string, code: string): Promise<void> {
  const attempt = await beginReauth(ctx.db, userId);
  if (!(await spendSecondFactor(ctx.db, userId, code))) throw invalidCode();
  await attempt.passed();
}

export async function regenerateRecoveryCodes(ctx: AppContext, userId: string, code: string) {
  const user = await loadUser(ctx, userId);
  if (!user.totpEnabledAt) throw notEnabled();
  await assertSecondFactor(ctx, userId, code);
  return { recoveryCodes: await ctx.db.transaction((tx) => replaceRecoveryCodes(tx, userId)) };
}

export async function disableTwoFactor(ctx: AppContext, userId: string, body: { password: string; code: string }) {
  const user = await loadUser(ctx, userId);
  if (!user.totpEnabledAt) throw notEnabled();
  await assertPassword(ctx, userId, body.password, "password");
  await assertSecondFactor(ctx, userId, body.code);
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ totpSecret: null, totpEnabledAt: null, totpLastStep: null, updatedAt: sql`now()` })
      .where(eq(users.id, userId));
    await deleteRecoveryCodes(tx, userId);
  });
}
