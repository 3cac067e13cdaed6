import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { z } from "zod";
import type { login2faBody } from "../../../shared/schemas/auth.js";
import type { AppContext } from "../../context.js";
import { authTokens, users } from "../../db/schema/index.js";
import { AppError, unauthorized } from "../../http/problem.js";
import { hashToken } from "../../lib/tokens.js";
import { knownDeviceOf, rememberDevice } from "./devices.js";
import { spendRecoveryCode } from "./recovery-codes.js";
import { toUserDto, type UserDto } from "./schemas.js";
import type { Client } from "./service.js";
import { createSession, type NewSession } from "./sessions.js";
import { markLoginSucceeded, reserveLoginAttempt } from "./throttle.js";
import { spendTotpCode } from "./totp.js";

/** Wrong codes a sign-in challenge survives; then the password must be entered again. */
export const MAX_CHALLENGE_FAILURES = 5;

const challengeInvalid = () =>
  unauthorized("This sign-in has expired or was already used. Sign in again.", "login_challenge_invalid");

/**
 * Second step of a sign-in with 2FA: the challenge from the password step plus an
 * authenticator code or a recovery code. The challenge row is locked for the check,
 * so one challenge yields at most one session and counts every wrong code.
 */
export async function finishTwoFactorLogin(
  ctx: AppContext,
  body: z.output<typeof login2faBody>,
  client: Client,
  deviceToken?: string,
): Promise<{ user: UserDto; session: NewSession; deviceToken: string | null }> {
  const outcome = await ctx.db.transaction(async (tx) => {
    const [challenge] = await tx
      .select()
      .from(authTokens)
      .where(
        and(
          eq(authTokens.tokenHash, hashToken(body.challengeToken)),
          eq(authTokens.kind, "login_challenge"),
          isNull(authTokens.usedAt),
          gt(authTokens.expiresAt, sql`now()`),
        ),
      )
      .for("update")
      .limit(1);
    if (!challenge) throw challengeInvalid();
    const [user] = await tx.select().from(users).where(eq(users.id, challenge.userId)).limit(1);
    if (!user?.totpEnabledAt) throw challengeInvalid();
    const deviceId = await knownDeviceOf(tx, user.id, deviceToken);
    const method = body.code ? "totp" : "recovery_code";
    // Counted (or refused) before the code is checked; the locks it takes are held until
    // this transaction ends, so parallel codes on other challenges queue behind it.
    const attemptId = await reserveLoginAttempt(tx, {
      userId: user.id,
      email: user.email,
      client,
      deviceId,
      failureReason: body.code ? "invalid_totp_code" : "invalid_recovery_code",
      method,
      twoFactorUsed: true,
    });
    const ok = body.code
      ? await spendTotpCode(tx, user, body.code)
      : await spendRecoveryCode(tx, user.id, body.recoveryCode ?? "");
    if (!ok) {
      const failures = challenge.failedAttempts + 1;
      await tx
        .update(authTokens)
        .set({ failedAttempts: failures, ...(failures >= MAX_CHALLENGE_FAILURES ? { usedAt: sql`now()` } : {}) })
        .where(eq(authTokens.id, challenge.id));
      return { ok: false as const, attemptsRemaining: Math.max(0, MAX_CHALLENGE_FAILURES - failures) };
    }
    await tx.update(authTokens).set({ usedAt: sql`now()` }).where(eq(authTokens.id, challenge.id));
    const session = await createSession(tx, {
      userId: user.id,
      ip: client.ip,
      userAgent: client.userAgent,
      twoFactorVerified: true,
      idleTtlMs: ctx.config.sessionIdleTtlMs,
    });
    await markLoginSucceeded(tx, attemptId);
    const newDevice = deviceId ? null : await rememberDevice(tx, user.id, client.ip);
    return { ok: true as const, user: toUserDto(user), session, deviceToken: newDevice };
  });
  if (!outcome.ok) {
    // Thrown after the transaction so the failure count and the attempt record are kept.
    throw new AppError(
      401,
      "invalid_2fa_code",
      outcome.attemptsRemaining > 0
        ? "The code is not valid."
        : "The code is not valid. Too many wrong codes: sign in again.",
      { attemptsRemaining: outcome.attemptsRemaining },
    );
  }
  return { user: outcome.user, session: outcome.session, deviceToken: outcome.deviceToken };
}
