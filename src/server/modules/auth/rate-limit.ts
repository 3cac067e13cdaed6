import { and, count, eq, gt, min } from "drizzle-orm";
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
 * Sliding-window counter kept in rate_limit_hits, so a limit holds across app instances.
 * Two requests racing may both pass at the edge; the limits are tolerant of that.
 */
export async function limitState(db: DbOrTx, limit: Limit): Promise<LimitState> {
  const now = Date.now();
  const [row] = await db
    .select({ n: count(), oldest: min(rateLimitHits.at) })
    .from(rateLimitHits)
    .where(and(eq(rateLimitHits.key, limit.key), gt(rateLimitHits.at, new Date(now - limit.windowMs))));
  const n = row?.n ?? 0;
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : now;
  return { allowed: n < limit.max, retryAfterSeconds: Math.max(1, (oldest + limit.windowMs - now) / 1000) };
}

export async function recordHit(db: DbOrTx, key: string): Promise<void> {
  await db.insert(rateLimitHits).values({ key });
}

/** 429 with Retry-After when the limit is reached; otherwise nothing. */
export async function assertUnderLimit(db: DbOrTx, limit: Limit): Promise<void> {
  const state = await limitState(db, limit);
  if (!state.allowed) throw tooManyRequests(state.retryAfterSeconds);
}

/** Counts this request and refuses it (429) when it is one too many. */
export async function consumeLimit(db: DbOrTx, limit: Limit): Promise<void> {
  await assertUnderLimit(db, limit);
  await recordHit(db, limit.key);
}
