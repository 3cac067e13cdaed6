import { and, count, eq, gt, min, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { loginAttempts } from "../../db/schema/index.js";
import { tooManyRequests } from "../../http/problem.js";

export const HOUR_MS = 3_600_000;
/** ASVS 5.0 (6.3.1 / 2.2.1): at most 100 failed attempts an hour per account. */
export const MAX_FAILURES_PER_ACCOUNT_PER_HOUR = 100;
/** Per IP: a little more room, since offices share one address. */
export const MAX_FAILURES_PER_IP_PER_HOUR = 300;

/**
 * Counts failures recorded in login_attempts in the last hour: the table is the
 * limiter's state, so the limit holds across several app instances. Password and
 * second-factor failures share the budget: both are guesses against one account.
 */
export async function assertLoginAllowed(db: DbOrTx, who: { email: string; ip: string | null }): Promise<void> {
  const since = new Date(Date.now() - HOUR_MS);
  await assertUnder(db, eq(loginAttempts.email, who.email), since, MAX_FAILURES_PER_ACCOUNT_PER_HOUR);
  if (who.ip) await assertUnder(db, eq(loginAttempts.ip, who.ip), since, MAX_FAILURES_PER_IP_PER_HOUR);
}

async function assertUnder(db: DbOrTx, who: SQL, since: Date, max: number): Promise<void> {
  const [row] = await db
    .select({ n: count(), oldest: min(loginAttempts.at) })
    .from(loginAttempts)
    .where(and(who, eq(loginAttempts.success, false), gt(loginAttempts.at, since)));
  if ((row?.n ?? 0) < max) return;
  // The count drops below the limit when the oldest failure in the window ages out.
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : Date.now();
  throw tooManyRequests((oldest + HOUR_MS - Date.now()) / 1000, "Too many failed sign-in attempts. Try again later.");
}

export async function recordLoginAttempt(
  db: DbOrTx,
  a: {
    userId: string | null;
    email: string;
    client: { ip: string | null; userAgent: string | null };
    success: boolean;
    failureReason?: string;
    method?: string;
    twoFactorUsed?: boolean;
  },
): Promise<void> {
  await db.insert(loginAttempts).values({
    userId: a.userId,
    email: a.email,
    ip: a.client.ip,
    userAgent: a.client.userAgent?.slice(0, 512) ?? null,
    success: a.success,
    failureReason: a.failureReason ?? null,
    method: a.method ?? "password",
    twoFactorUsed: a.twoFactorUsed ?? false,
  });
}
