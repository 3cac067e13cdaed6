import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { users } from "../../db/schema/index.js";
import { spendRecoveryCode } from "./recovery-codes.js";
import { spendTotpCode } from "./totp.js";

export type SecondFactorMethod = "totp" | "recovery_code";

const TOTP_FORMAT = /^\d{6}$/;

/**
 * Checks and spends a second-factor code of a user with 2FA on: six digits are an
 * authenticator code (single use by time step), anything else a recovery code (single use).
 * Returns how the user proved it, or null. Also for re-authentication elsewhere
 * (e.g. transferring ownership).
 */
export async function spendSecondFactor(
  db: DbOrTx,
  userId: string,
  code: string,
  opts: { allowRecoveryCode?: boolean } = {},
): Promise<SecondFactorMethod | null> {
  const [user] = await db
    .select({ id: users.id, totpSecret: users.totpSecret, totpLastStep: users.totpLastStep })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  if (!user?.totpSecret) return null;
  const trimmed = code.trim();
  if (TOTP_FORMAT.test(trimmed)) return (await spendTotpCode(db, user, trimmed)) ? "totp" : null;
  if (opts.allowRecoveryCode === false) return null;
  return (await spendRecoveryCode(db, user.id, trimmed)) ? "recovery_code" : null;
}
