import type { DbOrTx } from "../../db/client.js";
import { assertUnderLimit, recordHit } from "./rate-limit.js";
import { HOUR_MS } from "./throttle.js";

/**
 * Failed password or code checks by a signed-in user (change password, 2FA settings):
 * a stolen session must not become an oracle for guessing the password or codes.
 */
export const MAX_REAUTH_FAILURES_PER_HOUR = 10;

const limitOf = (userId: string) => ({
  key: `reauth:user:${userId}`,
  max: MAX_REAUTH_FAILURES_PER_HOUR,
  windowMs: HOUR_MS,
});

export function assertReauthAllowed(db: DbOrTx, userId: string): Promise<void> {
  return assertUnderLimit(db, limitOf(userId));
}

export function recordReauthFailure(db: DbOrTx, userId: string): Promise<void> {
  return recordHit(db, limitOf(userId).key);
}
