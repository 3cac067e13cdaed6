import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { authTokens, users } from "../../db/schema/index.js";
import { conflict } from "../../http/problem.js";
import { hashToken } from "../../lib/tokens.js";
import { toLocale } from "../mail/templates.js";
import { consumeToken, issueToken } from "./link-tokens.js";
import { consumeLimit } from "./rate-limit.js";
import { toUserDto, type UserDto } from "./schemas.js";
import type { Client } from "./service.js";
import { createSession, type NewSession } from "./sessions.js";
import { HOUR_MS, recordLoginAttempt } from "./throttle.js";

export const VERIFY_EMAIL_TTL_MS = 48 * HOUR_MS;
export const MAX_VERIFICATION_RESENDS_PER_HOUR = 5;

/** Issues a new verification link (older links die) and queues the email with it. */
export async function sendVerificationEmail(
  ctx: AppContext,
  tx: DbOrTx,
  user: { id: string; email: string; firstName: string; language: string },
): Promise<void> {
  const token = await issueToken(tx, { userId: user.id, kind: "verify_email", ttlMs: VERIFY_EMAIL_TTL_MS });
  await ctx.outbox.enqueue(tx, {
    to: user.email,
    template: "verifyEmail",
    locale: toLocale(user.language),
    data: { firstName: user.firstName, url: `${ctx.config.appUrl}/verify-email?token=${token}` },
  });
}

/**
 * Confirms the address, and signs in the browser that signed up (audit finding 17: sign-up itself
 * no longer signs in, so the emailed link is how a new account gets in with one click). Only that
 * browser, proven by its sign-up cookie: whoever signs up with someone else's address sets the
 * password, and a link that signed in any browser would put the address's owner, following a
 * link they never asked for, in an account a stranger holds the password of (account
 * pre-hijacking). Opened elsewhere, the link verifies and the person signs in with the password
 * (or takes the account over with a reset). An account with 2FA is never signed in by the link.
 */
export async function verifyEmail(
  ctx: AppContext,
  token: string,
  client: Client,
  browserNonce: string | undefined,
): Promise<{ user: UserDto; session: NewSession | null }> {
  return ctx.db.transaction(async (tx) => {
    const row = await consumeToken(tx, token, "verify_email");
    const [user] = await tx
      .update(users)
      .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: sql`now()` })
      .where(eq(users.id, row.userId))
      .returning();
    if (user!.totpEnabledAt) return { user: toUserDto(user!), session: null };
    const [browser] = browserNonce
      ? await tx
          .update(authTokens)
          .set({ usedAt: sql`now()` })
          .where(
            and(
              eq(authTokens.userId, user!.id),
              eq(authTokens.kind, "signup_browser"),
              eq(authTokens.tokenHash, hashToken(browserNonce)),
              isNull(authTokens.usedAt),
              gt(authTokens.expiresAt, sql`now()`),
            ),
          )
          .returning({ id: authTokens.id })
      : [];
    if (!browser) return { user: toUserDto(user!), session: null };
    const session = await createSession(tx, {
      userId: user!.id,
      ip: client.ip,
      userAgent: client.userAgent,
      twoFactorVerified: false,
      idleTtlMs: ctx.config.sessionIdleTtlMs,
    });
    await recordLoginAttempt(tx, { userId: user!.id, email: user!.email, client, success: true, method: "email_link" });
    return { user: toUserDto(user!), session };
  });
}

export async function resendVerification(ctx: AppContext, userId: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.emailVerifiedAt)))
      .limit(1);
    if (!user) throw conflict("email_already_verified", "Your email address is already verified.");
    await consumeLimit(tx, {
      key: `verify_resend:user:${userId}`,
      max: MAX_VERIFICATION_RESENDS_PER_HOUR,
      windowMs: HOUR_MS,
    });
    await sendVerificationEmail(ctx, tx, user);
  });
}
