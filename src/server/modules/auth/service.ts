import { eq } from "drizzle-orm";
import type { z } from "zod";
import type { loginBody } from "../../../shared/schemas/auth.js";
import type { AppContext } from "../../context.js";
import { authTokens, users } from "../../db/schema/index.js";
import { badRequest, unauthorized } from "../../http/problem.js";
import { hashToken, newToken } from "../../lib/tokens.js";
import { dummyPasswordHash, isCommonPassword, verifyPassword } from "./passwords.js";
import { toUserDto, type UserDto } from "./schemas.js";
import { createSession, type NewSession } from "./sessions.js";
import { assertLoginAllowed, recordLoginAttempt } from "./throttle.js";

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

export async function login(
  ctx: AppContext,
  body: z.output<typeof loginBody>,
  client: Client,
): Promise<{ user: UserDto; session: NewSession } | { challengeToken: string }> {
  await assertLoginAllowed(ctx.db, { email: body.email, ip: client.ip });
  const [user] = await ctx.db.select().from(users).where(eq(users.email, body.email)).limit(1);
  const ok = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), body.password);
  if (!user || !ok) {
    await recordLoginAttempt(ctx.db, {
      userId: user?.id ?? null,
      email: body.email,
      client,
      success: false,
      failureReason: user ? "invalid_password" : "unknown_email",
    });
    throw unauthorized("The email or password is incorrect.", "invalid_credentials");
  }
  if (user.totpEnabledAt) {
    const challengeToken = newToken(32);
    await ctx.db.insert(authTokens).values({
      userId: user.id,
      kind: "login_challenge",
      tokenHash: hashToken(challengeToken),
      ip: client.ip,
      expiresAt: new Date(Date.now() + LOGIN_CHALLENGE_TTL_MS),
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
    await recordLoginAttempt(tx, { userId: user.id, email: user.email, client, success: true });
    return { user: toUserDto(user), session };
  });
}
