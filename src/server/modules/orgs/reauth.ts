import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { users } from "../../db/schema/index.js";
import { forbidden, unauthorized } from "../../http/problem.js";
import { verifyPassword } from "../auth/passwords.js";
import { beginReauth } from "../auth/reauth.js";
import { spendSecondFactor } from "../auth/second-factor.js";

/**
 * Re-authentication before an irreversible owner action (delete the organization, transfer
 * ownership): the password, and the 2FA code when the account has 2FA. Failures count
 * against the per-user re-auth budget (429 past it), so a stolen session is no oracle.
 * A wrong answer is 403, not 401: the session itself is still valid.
 */
export async function reauthenticate(
  db: DbOrTx,
  userId: string,
  input: { password: string; code?: string | undefined },
): Promise<void> {
  // Counted before the checks; given back below only when every asked-for check passed.
  const attempt = await beginReauth(db, userId);
  const [user] = await db
    .select({ passwordHash: users.passwordHash, totpEnabledAt: users.totpEnabledAt })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  if (!user) throw unauthorized();
  if (!(await verifyPassword(user.passwordHash, input.password))) {
    throw forbidden("invalid_password", "The password is incorrect.");
  }
  if (!user.totpEnabledAt) return attempt.passed();
  if (!input.code) {
    // Not a wrong answer: the code was simply not given yet.
    await attempt.passed();
    throw forbidden("two_factor_code_required", "Enter the code from your authenticator app (or a recovery code).");
  }
  if (!(await spendSecondFactor(db, userId, input.code))) {
    throw forbidden("invalid_two_factor_code", "The two-factor code is not valid.");
  }
  await attempt.passed();
}
