import { and, eq, isNull, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { users } from "../../db/schema/index.js";
import { conflict } from "../../http/problem.js";
import { toLocale } from "../mail/templates.js";
import { consumeToken, issueToken } from "./link-tokens.js";
import { consumeLimit } from "./rate-limit.js";
import { HOUR_MS } from "./throttle.js";

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

export async function verifyEmail(ctx: AppContext, token: string): Promise<{ email: string }> {
  return ctx.db.transaction(async (tx) => {
    const row = await consumeToken(tx, token, "verify_email");
    const [user] = await tx
      .update(users)
      .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: sql`now()` })
      .where(eq(users.id, row.userId))
      .returning({ email: users.email });
    return { email: user!.email };
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
