import type { DbOrTx } from "../../db/client.js";
import { consumeLimit, refundHit } from "./rate-limit.js";
import { HOUR_MS } from "./throttle.js";

/**
 * Failed password or code checks by a signed-in user (change password, 2FA settings,
 * owner actions): a stolen session must not become an oracle for guessing the password or codes.
 */
export const MAX_REAUTH_FAILURES_PER_HOUR = 10;

export interface ReauthAttempt {
  /** The check passed: the attempt stops counting, only failures do. */
  passed(): Promise<void>;
}

/**
 * Counts a re-authentication attempt BEFORE its check (429 when the limit is used up), so
 * parallel guesses cannot all be checked against one stale count (audit finding 4). A wrong
 * answer needs nothing more: the attempt already counts as the failure it turned out to be.
 */
export async function beginReauth(db: DbOrTx, userId: string): Promise<ReauthAttempt> {
  const key = `reauth:user:${userId}`;
  await consumeLimit(db, { key, max: MAX_REAUTH_FAILURES_PER_HOUR, windowMs: HOUR_MS });
  return { passed: () => refundHit(db, key) };
}
