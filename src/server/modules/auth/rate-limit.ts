import { createHash } from "node:crypto";
import { and, count, eq, gt, min, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { rateLimitHits } from "../../db/schema/index.js";
import { tooManyRequests } from "../../http/problem.js";

export interface Limit {
  /** What is counted, e.g. `password_forgot:ip:203.0.113.7`. */
  key: string;
  max: number;
  windowMs: number;
}

export interface LimitState {
  allowed: boolean;
  /** Seconds until the oldest counted hit leaves the window (meaningful when not allowed). */
  retryAfterSeconds: number;
}

/**
 * Makes every other transaction that locks one of `keys` wait until this transaction ends
 * (PostgreSQL advisory locks, so it holds across app instances). This is what makes
 * "count, then record" atomic: without it, parallel requests all count before any records
 * (audit finding 4). Locks are taken in one global order, so two callers never wait on
 * each other crosswise.
 */
export async function lockKeys(tx: DbOrTx, keys: string[]): Promise<void> {
  const ids = [...new Set(keys.map(lockIdOf))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) await tx.execute(sql`select pg_advisory_xact_lock(${id.toString()}::bigint)`);
}

function lockIdOf(key: string): bigint {
  return createHash("sha256").update(`chorus:limit:${key}`).digest().readBigInt64BE(0);
}

/** Sliding-window count kept in rate_limit_hits, so a limit holds across app instances. */
async function limitState(db: DbOrTx, limit: Limit): Promise<LimitState> {
  const now = Date.now();
  const [row] = await db
    .select({ n: count(), oldest: min(rateLimitHits.at) })
    .from(rateLimitHits)
    .where(and(eq(rateLimitHits.key, limit.key), gt(rateLimitHits.at, new Date(now - limit.windowMs))));
  const n = row?.n ?? 0;
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : now;
  return { allowed: n < limit.max, retryAfterSeconds: Math.max(1, (oldest + limit.windowMs - now) / 1000) };
}

/**
 * Counts this request when the limit has room, atomically: parallel callers on one key
 * queue, so no more than `max` are ever let through in a window. Answers whether it was.
 */
export function tryConsumeLimit(db: DbOrTx, limit: Limit): Promise<LimitState> {
  return db.transaction(async (tx) => {
    await lockKeys(tx, [limit.key]);
    const state = await limitState(tx, limit);
    if (state.allowed) await tx.insert(rateLimitHits).values({ key: limit.key });
    return state;
  });
}

/** Counts this request and refuses it (429 with Retry-After) when it is one too many. */
export async function consumeLimit(db: DbOrTx, limit: Limit): Promise<void> {
  const state = await tryConsumeLimit(db, limit);
  if (!state.allowed) throw tooManyRequests(state.retryAfterSeconds);
}

/**
 * Takes back one hit of `key`, for an attempt counted before its check that then passed
 * (only failures stay counted). Hits of a key are interchangeable, so any one will do.
 */
export async function refundHit(db: DbOrTx, key: string): Promise<void> {
  await db.execute(sql`
    delete from rate_limit_hits
    where ctid = (select ctid from rate_limit_hits where key = ${key} order by at desc limit 1)`);
}
