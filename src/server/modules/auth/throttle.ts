import { and, count, eq, gt, isNull, min, or, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { loginAttempts, users } from "../../db/schema/index.js";
import { tooManyRequests } from "../../http/problem.js";
import { lockKeys } from "./rate-limit.js";

export const HOUR_MS = 3_600_000;
/** ASVS 5.0 (6.3.1 / 2.2.1): at most 100 failed attempts an hour per account from clients it does not know. */
export const MAX_FAILURES_PER_ACCOUNT_PER_HOUR = 100;
/** One address's share of an account's budget: a lone attacker cannot use it all up. */
export const MAX_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR = 20;
/** Per IP across accounts: a little more room, since offices share one address. */
export const MAX_FAILURES_PER_IP_PER_HOUR = 300;
/** A known device (device cookie from an earlier sign-in) has its own budget, outside the account's. */
export const MAX_FAILURES_PER_DEVICE_PER_HOUR = 10;

export interface LoginAttempt {
  userId: string | null;
  email: string;
  client: { ip: string | null; userAgent: string | null };
  /** The known device the attempt came from (see devices.ts); null for any other client. */
  deviceId?: string | null;
  method?: string;
  twoFactorUsed?: boolean;
}

interface Bucket {
  /** Attempts sharing a lock queue behind each other. */
  lock: string;
  counts: SQL | undefined;
  max: number;
}

/**
 * Where an attempt's failures count (audit finding 8, OWASP "device cookies"): a known
 * device only in its own bucket, so strangers' failures never lock the owner out there;
 * any other client in the account's, the account+address's and the address's buckets.
 * Failures a password reset forgave (cleared_at) leave the account's buckets, not the address's.
 */
function bucketsOf(a: LoginAttempt): Bucket[] {
  const forgiven = isNull(loginAttempts.clearedAt);
  if (a.deviceId) {
    return [
      {
        lock: `login:device:${a.deviceId}`,
        counts: and(eq(loginAttempts.deviceId, a.deviceId), forgiven),
        max: MAX_FAILURES_PER_DEVICE_PER_HOUR,
      },
    ];
  }
  const unknownClient = isNull(loginAttempts.deviceId);
  const account = and(eq(loginAttempts.email, a.email), unknownClient, forgiven);
  const accountLock = `login:account:${a.email}`;
  const buckets: Bucket[] = [{ lock: accountLock, counts: account, max: MAX_FAILURES_PER_ACCOUNT_PER_HOUR }];
  const ip = a.client.ip;
  if (ip) {
    buckets.push(
      // A subset of the account's failures: the account's lock covers it.
      {
        lock: accountLock,
        counts: and(account, eq(loginAttempts.ip, ip)),
        max: MAX_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR,
      },
      {
        lock: `login:ip:${ip}`,
        counts: and(eq(loginAttempts.ip, ip), unknownClient),
        max: MAX_FAILURES_PER_IP_PER_HOUR,
      },
    );
  }
  return buckets;
}

/**
 * Reserves a sign-in attempt before its (expensive) check. In one transaction it queues
 * behind other attempts on the same buckets, refuses with 429 when one is full, and records
 * the attempt as the failure it will be unless it passes. Parallel guesses therefore never
 * get more checks than the limits leave (audit finding 4). The login_attempts table is the
 * limiter's state, so limits hold across app instances; password and second-factor failures
 * share the budget: both are guesses against one account. Returns the record's id.
 */
export function reserveLoginAttempt(db: DbOrTx, a: LoginAttempt & { failureReason: string }): Promise<string> {
  return db.transaction(async (tx) => {
    const buckets = bucketsOf(a);
    await lockKeys(
      tx,
      buckets.map((b) => b.lock),
    );
    const since = new Date(Date.now() - HOUR_MS);
    for (const b of buckets) await assertUnder(tx, b.counts, since, b.max);
    const [row] = await tx
      .insert(loginAttempts)
      .values({ ...valuesOf(a), success: false, failureReason: a.failureReason })
      .returning({ id: loginAttempts.id });
    if (!row) throw new Error("login attempt not recorded");
    return row.id;
  });
}

async function assertUnder(db: DbOrTx, counts: SQL | undefined, since: Date, max: number): Promise<void> {
  const [row] = await db
    .select({ n: count(), oldest: min(loginAttempts.at) })
    .from(loginAttempts)
    .where(and(counts, eq(loginAttempts.success, false), gt(loginAttempts.at, since)));
  if ((row?.n ?? 0) < max) return;
  // The count drops below the limit when the oldest failure in the window ages out.
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : Date.now();
  throw tooManyRequests((oldest + HOUR_MS - Date.now()) / 1000, "Too many failed sign-in attempts. Try again later.");
}

/** The reserved attempt passed its check: it is recorded as the success it was. */
export async function markLoginSucceeded(db: DbOrTx, attemptId: string): Promise<void> {
  await db.update(loginAttempts).set({ success: true, failureReason: null }).where(eq(loginAttempts.id, attemptId));
}

/**
 * The reserved attempt turned out to be no sign-in of its own: the right password of an
 * account with 2FA, whose outcome the second step records.
 */
export async function dropLoginAttempt(db: DbOrTx, attemptId: string): Promise<void> {
  await db.delete(loginAttempts).where(eq(loginAttempts.id, attemptId));
}

/**
 * A completed password reset proved the mailbox: the account's failures of the last hour stop
 * counting against it (they stay on record, and in their address's bucket). This is the
 * unlock for a person on a device the account does not know yet (audit finding 8).
 */
export async function forgiveAccountFailures(db: DbOrTx, userId: string): Promise<void> {
  await db
    .update(loginAttempts)
    .set({ clearedAt: sql`now()` })
    .where(
      and(
        or(
          eq(loginAttempts.userId, userId),
          eq(loginAttempts.email, db.select({ email: users.email }).from(users).where(eq(users.id, userId))),
        ),
        eq(loginAttempts.success, false),
        isNull(loginAttempts.clearedAt),
        gt(loginAttempts.at, new Date(Date.now() - HOUR_MS)),
      ),
    );
}

/** Records a sign-in that needed no check of its own (sign-up, accepting an invitation). */
export async function recordLoginAttempt(
  db: DbOrTx,
  a: LoginAttempt & { success: boolean; failureReason?: string },
): Promise<void> {
  await db.insert(loginAttempts).values({ ...valuesOf(a), success: a.success, failureReason: a.failureReason ?? null });
}

function valuesOf(a: LoginAttempt) {
  return {
    userId: a.userId,
    email: a.email,
    ip: a.client.ip,
    userAgent: a.client.userAgent?.slice(0, 512) ?? null,
    method: a.method ?? "password",
    twoFactorUsed: a.twoFactorUsed ?? false,
    deviceId: a.deviceId ?? null,
  };
}
