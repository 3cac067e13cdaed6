import { eq } from "drizzle-orm";
import type { z } from "zod";
import type { signupBody } from "../../../shared/schemas/auth.js";
import type { AppContext } from "../../context.js";
import { users } from "../../db/schema/index.js";
import { toLocale } from "../mail/templates.js";
import { storeToken } from "./link-tokens.js";
import { hashPassword } from "./passwords.js";
import { consumeLimit, tryConsumeLimit } from "./rate-limit.js";
import { assertPasswordAllowed, type Client } from "./service.js";
import { HOUR_MS } from "./throttle.js";
import { sendVerificationEmail, VERIFY_EMAIL_TTL_MS } from "./verify-email.js";

/** Sign-ups per IP an hour (each costs an argon2 hash); more are refused with 429 (it names no account). */
export const MAX_SIGNUPS_PER_IP_PER_HOUR = 30;
/** Sign-up emails per address an hour; more sign-ups are answered alike but send nothing. */
export const MAX_SIGNUP_EMAILS_PER_ADDRESS_PER_HOUR = 3;

/** The one answer of a sign-up, whether the email was new or registered. */
export const SIGNUP_ANSWER = { status: "verification_sent" } as const;

/**
 * Sign-up that does not tell whether an email is registered (audit finding 17). The caller
 * answers 202 with SIGNUP_ANSWER whatever happens here, and both paths pay the argon2 hash.
 * A new email gets an unverified account and the verification link, which signs in when
 * followed; a registered one gets "someone tried to sign up with your address" and nothing
 * else changes. Neither signs in.
 */
export async function signup(
  ctx: AppContext,
  body: z.output<typeof signupBody>,
  client: Client,
  browserNonce: string,
): Promise<void> {
  assertPasswordAllowed(body.password, [body.email.split("@")[0] ?? "", body.firstName, body.lastName]);
  if (client.ip) {
    await consumeLimit(ctx.db, { key: `signup:ip:${client.ip}`, max: MAX_SIGNUPS_PER_IP_PER_HOUR, windowMs: HOUR_MS });
  }
  const passwordHash = await hashPassword(body.password);
  const emailKey = `signup:email:${body.email}`;
  await ctx.db.transaction(async (tx) => {
    const state = await tryConsumeLimit(tx, {
      key: emailKey,
      max: MAX_SIGNUP_EMAILS_PER_ADDRESS_PER_HOUR,
      windowMs: HOUR_MS,
    });
    if (!state.allowed) return;
    const [created] = await tx
      .insert(users)
      .values({
        email: body.email,
        passwordHash,
        firstName: body.firstName,
        lastName: body.lastName,
        language: body.language ?? "en",
      })
      .onConflictDoNothing()
      .returning();
    if (created) {
      await sendVerificationEmail(ctx, tx, created);
      // The browser that signed up (its cookie holds the nonce) is the one the link signs in.
      await storeToken(tx, {
        userId: created.id,
        kind: "signup_browser",
        token: browserNonce,
        ttlMs: VERIFY_EMAIL_TTL_MS,
        ip: client.ip,
      });
      return;
    }
    const [existing] = await tx.select().from(users).where(eq(users.email, body.email)).limit(1);
    if (!existing) return;
    await ctx.outbox.enqueue(tx, {
      to: existing.email,
      template: "signupAttempt",
      locale: toLocale(existing.language),
      data: {
        firstName: existing.firstName,
        signInUrl: `${ctx.config.appUrl}/signin`,
        resetUrl: `${ctx.config.appUrl}/forgot-password`,
      },
    });
  });
}
