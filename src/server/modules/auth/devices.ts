import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { FastifyReply } from "fastify";
import type { Config } from "../../config.js";
import type { DbOrTx } from "../../db/client.js";
import { authTokens } from "../../db/schema/index.js";
import { hashToken, newToken } from "../../lib/tokens.js";

/**
 * Device cookies (OWASP "Slow down online guessing attacks with device cookies", audit
 * finding 8): a browser that signed in to an account gets a random token, stored hashed as
 * an auth_tokens row of kind login_device bound to that account. Sign-in attempts for the
 * account that present it are counted per device, outside the account's bucket, so strangers
 * who use that bucket up do not lock the owner out of a browser they signed in on before.
 */
export const DEVICE_COOKIE = "chorus_device";
export const DEVICE_TTL_MS = 180 * 86_400_000;
/** Only the sign-in routes (/auth/login and /auth/login/2fa) ever need it. */
const DEVICE_COOKIE_PATH = "/api/v1/auth/login";

/** The id of the known device `token` stands for, when it belongs to `userId` and is live. */
export async function knownDeviceOf(db: DbOrTx, userId: string, token: string | undefined): Promise<string | null> {
  if (!token) return null;
  const [row] = await db
    .select({ id: authTokens.id })
    .from(authTokens)
    .where(
      and(
        eq(authTokens.tokenHash, hashToken(token)),
        eq(authTokens.kind, "login_device"),
        eq(authTokens.userId, userId),
        isNull(authTokens.usedAt),
        gt(authTokens.expiresAt, sql`now()`),
      ),
    )
    .limit(1);
  return row?.id ?? null;
}

/** Makes the browser that just signed in a known device of the account; returns its cookie value. */
export async function rememberDevice(tx: DbOrTx, userId: string, ip: string | null): Promise<string> {
  const token = newToken(32);
  await tx.insert(authTokens).values({
    userId,
    kind: "login_device",
    tokenHash: hashToken(token),
    ip,
    expiresAt: new Date(Date.now() + DEVICE_TTL_MS),
  });
  return token;
}

export function setDeviceCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(DEVICE_COOKIE, token, {
    httpOnly: true,
    sameSite: "strict",
    secure: config.appUrl.startsWith("https:"),
    path: DEVICE_COOKIE_PATH,
    maxAge: Math.floor(DEVICE_TTL_MS / 1000),
  });
}
