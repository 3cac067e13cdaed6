import { eq } from "drizzle-orm";
import type { z } from "zod";
import type { loginBody } from "../../../shared/schemas/auth.js";
import type { AppContext } from "../../context.js";
import { users } from "../../db/schema/index.js";
import { badRequest, unauthorized } from "../../http/problem.js";
import { newToken } from "../../lib/tokens.js";
import { knownDeviceOf, rememberDevice } from "./devices.js";
import { storeToken } from "./link-tokens.js";
import { dummyPasswordHash, isCommonPassword, verifyPassword } from "./passwords.js";
import { toUserDto, type UserDto } from "./schemas.js";
import { alertIfNewDevice } from "./security-alerts.js";
import { createSession, type NewSession } from "./sessions.js";
import { dropLoginAttempt, markLoginSucceeded, reserveLoginAttempt } from "./throttle.js";

export interface Client {
  ip: string | null;
  userAgent: string | null;
}

export const LOGIN_CHALLENGE_TTL_MS = 5 * 60_000;

export function assertPasswordAllowed(password: string, context: string[], field = "password"): void {
  if (isCommonPassword(password, context)) {
    throw badRequest("password_too_common", "This password is too common or too easy to guess. Choose another.", [
      { path: field, message: "This password is too common.", in: "body" },
    ]);
  }
}

/**
 * Sign-in with email and password. `deviceToken` is the device cookie the browser presented
 * (devices.ts): on a device the account knows, failures are counted per device.
 * A session answer carries `deviceToken` when this browser just became a known device.
 */
export async function login(
  ctx: AppContext,
  body: z.output<typeof loginBody>,
  client: Client,
  deviceToken?: string,
): Promise<{ user: UserDto; session: NewSession; deviceToken: string | null } | { challengeToken: string }> {
  const [user] = await ctx.db.select().from(users).where(eq(users.email, body.email)).limit(1);
  const deviceId = user ? await knownDeviceOf(ctx.db, user.id, deviceToken) : null;
  // Counted (or refused) before the argon2 check, so parallel guesses cannot overrun the limit.
  const attemptId = await reserveLoginAttempt(ctx.db, {
    userId: user?.id ?? null,
    email: body.email,
    client,
    deviceId,
    failureReason: user ? "invalid_password" : "unknown_email",
  });
  const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), body.password);
  if (!user || !ok) throw unauthorized("The email or password is incorrect.", "invalid_credentials");
  if (user.totpEnabledAt) {
    const challengeToken = newToken(32);
    await ctx.db.transaction(async (tx) => {
      await storeToken(tx, {
        userId: user.id,
        kind: "login_challenge",
        token: challengeToken,
        ttlMs: LOGIN_CHALLENGE_TTL_MS,
        ip: client.ip,
      });
      // The second step records how this sign-in ends.
      await dropLoginAttempt(tx, attemptId);
    });
    return { challengeToken };
  }
  return ctx.db.transaction(async (tx) => {
    const session = await createSession(tx, {
      userId: user.id,
      ip: client.ip,
      userAgent: client.userAgent,
      twoFactorVerified: false,
      idleTtlMs: ctx.config.sessionIdleTtlMs,
    });
    await alertIfNewDevice(ctx, tx, user, client);
    await markLoginSucceeded(tx, attemptId);
    const newDevice = deviceId ? null : await rememberDevice(tx, user.id, client.ip);
    return { user: toUserDto(user), session, deviceToken: newDevice };
  });
}
