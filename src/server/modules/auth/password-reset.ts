import { eq, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { users } from "../../db/schema/index.js";
import { toLocale } from "../mail/templates.js";
import { consumeToken, issueToken, peekToken, revokeTokens } from "./link-tokens.js";
import { hashPassword } from "./passwords.js";
import { consumeLimit, tryConsumeLimit } from "./rate-limit.js";
import { assertPasswordAllowed, type Client } from "./service.js";
import { revokeAllSessions } from "./sessions.js";
import { forgiveAccountFailures, HOUR_MS } from "./throttle.js";

export const RESET_TTL_MS = HOUR_MS;
/** Reset emails per address an hour; more requests are answered alike but send nothing. */
export const MAX_RESET_EMAILS_PER_HOUR = 3;
/** Reset requests per IP an hour; more are refused with 429 (this one may be visible: it names no account). */
export const MAX_RESET_REQUESTS_PER_IP_PER_HOUR = 20;

/**
 * Emails a reset link when the account exists. The caller answers 202 whatever happens here,
 * so the answer never tells whether an email is registered.
 */
export async function requestPasswordReset(ctx: AppContext, email: string, client: Client): Promise<void> {
  if (client.ip) {
    await consumeLimit(ctx.db, {
      key: `password_forgot:ip:${client.ip}`,
      max: MAX_RESET_REQUESTS_PER_IP_PER_HOUR,
      windowMs: HOUR_MS,
    });
  }
  const emailKey = `password_forgot:email:${email}`;
  const state = await tryConsumeLimit(ctx.db, { key: emailKey, max: MAX_RESET_EMAILS_PER_HOUR, windowMs: HOUR_MS });
  if (!state.allowed) return;
  const [user] = await ctx.db.select().from(users).where(eq(users.email, email)).limit(1);
  if (!user) return;
  await ctx.db.transaction(async (tx) => {
    const token = await issueToken(tx, { userId: user.id, kind: "password_reset", ttlMs: RESET_TTL_MS, ip: client.ip });
    await ctx.outbox.enqueue(tx, {
      to: user.email,
      template: "passwordReset",
      locale: toLocale(user.language),
      data: { firstName: user.firstName, url: `${ctx.config.appUrl}/reset-password?token=${token}` },
    });
  });
}

/**
 * Sets a new password from a reset link. Signs every session out and does not sign in:
 * the next sign-in asks for the password and, when 2FA is on, for the code.
 */
export async function resetPassword(ctx: AppContext, token: string, password: string): Promise<void> {
  const peeked = await peekToken(ctx.db, token, "password_reset");
  const [owner] = await ctx.db.select().from(users).where(eq(users.id, peeked.userId)).limit(1);
  if (owner) assertPasswordAllowed(password, [owner.email.split("@")[0] ?? "", owner.firstName, owner.lastName]);
  const passwordHash = await hashPassword(password);
  await ctx.db.transaction(async (tx) => {
    const row = await consumeToken(tx, token, "password_reset");
    await tx
      .update(users)
      .set({
        passwordHash,
        // The link arrived in the mailbox, which proves the address as well as a verification link does.
        emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`,
        updatedAt: sql`now()`,
      })
      .where(eq(users.id, row.userId));
    await revokeAllSessions(tx, row.userId);
    // A challenge issued for the old password must not finish a sign-in after the reset.
    await revokeTokens(tx, row.userId, "password_reset", "login_challenge");
    // The mailbox is proven: strangers' failed sign-ins stop locking the account (audit finding 8).
    await forgiveAccountFailures(tx, row.userId);
  });
}
