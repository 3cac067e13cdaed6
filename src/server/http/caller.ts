import { and, eq, sql } from "drizzle-orm";
import type { AuthzCache, CachedSession, Ticket } from "../authz/cache.js";
import type { Db } from "../db/client.js";
import { memberRoles, memberships, organizations, roles, sessions, users } from "../db/schema/index.js";
import { hashToken } from "../lib/tokens.js";
import { isUuidShaped } from "../lib/uuid.js";
import {
  type LiveSession,
  liveSessionParams,
  liveSessionWhere,
  readSession,
  type SessionRow,
  type SessionTtl,
  sessionColumns,
  TOUCH_EVERY_MS,
  toAuthUser,
  touchSession,
} from "../modules/auth/sessions.js";
import { type LoadedMember, loadMember, memberColumns, memberJoins, memberOf } from "../modules/members/load-member.js";
import { perDatabase } from "./prepared.js";

// Session, user and the membership in the path's organization in one round trip: a member
// route pays one query, not two. Left-joined, so a live session of a non-member still reads.
const sessionAndMemberQuery = perDatabase((db) =>
  db
    .select({ ...sessionColumns, ...memberColumns })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, sql.placeholder("orgId")), eq(memberships.userId, sessions.userId)),
    )
    .leftJoin(organizations, memberJoins.organization)
    .leftJoin(memberRoles, memberJoins.memberRoles)
    .leftJoin(roles, memberJoins.roles)
    .where(liveSessionWhere)
    .prepare("chorus_session_member"),
);

export interface Caller extends LiveSession {
  /** Present when `orgId` was asked for and UUID-shaped: the membership there, or null for none. */
  membership?: { orgId: string; member: LoadedMember | null };
}

/**
 * The live session of a token (sliding expiry refreshed) and, for member routes, the membership
 * in `orgId`: from the cache when it holds them, synchronously (no query, no promise), else in one
 * query whose result the cache keeps until a database notification retires it
 * (src/server/authz/cache.ts).
 */
export function resolveCaller(
  db: Db,
  cache: AuthzCache,
  token: string,
  orgId: string | undefined,
  ttl: SessionTtl,
): Caller | Promise<Caller | null> {
  const tokenHash = hashToken(token);
  const nowMs = Date.now();
  // Anything not UUID-shaped is left to the route's validation (400).
  const memberOrg = orgId && isUuidShaped(orgId) ? orgId : undefined;
  const cached = cache.session(tokenHash, nowMs);
  const member = cached && memberOrg ? cache.member(memberOrg, cached.user.id) : undefined;
  if (cached && !touchDue(cached.lastUsedAt, nowMs)) {
    if (!memberOrg) return cached;
    if (member !== undefined) return { ...liveOf(cached), membership: { orgId: memberOrg, member } };
  }
  return readCaller(db, cache, tokenHash, cached, memberOrg, member, nowMs, ttl);
}

/** The part of `resolveCaller` that needs the database: a touch, a membership, or everything. */
async function readCaller(
  db: Db,
  cache: AuthzCache,
  tokenHash: string,
  cached: CachedSession | undefined,
  memberOrg: string | undefined,
  /** The cache's answer for the membership, already asked with the session (undefined: not held). */
  cachedMember: LoadedMember | null | undefined,
  nowMs: number,
  ttl: SessionTtl,
): Promise<Caller | null> {
  if (cached) {
    if (touchDue(cached.lastUsedAt, nowMs)) await touch(db, cache, tokenHash, cached.sessionId, cached.endsAt, ttl);
    const session = liveOf(cached);
    if (!memberOrg) return session;
    let member = cachedMember;
    if (member === undefined) {
      const ticket = cache.ticket();
      member = await loadMember(db, memberOrg, cached.user.id);
      cache.putMember(ticket, memberOrg, cached.user.id, member);
    }
    return { ...session, membership: { orgId: memberOrg, member } };
  }

  const ticket = cache.ticket();
  const params = liveSessionParams(nowMs, ttl);
  if (!memberOrg) {
    const [row] = await readSession(db, tokenHash, params);
    return row ? remember(db, cache, ticket, tokenHash, row, nowMs, ttl) : null;
  }
  const rows = await sessionAndMemberQuery(db).execute({ tokenHash, ...params, orgId: memberOrg });
  const first = rows[0];
  if (!first) return null;
  const member = memberOf(memberOrg, first.userId, rows);
  cache.putMember(ticket, memberOrg, first.userId, member);
  const session = await remember(db, cache, ticket, tokenHash, first, nowMs, ttl);
  return { ...session, membership: { orgId: memberOrg, member } };
}

/** The session of a row just read: kept in the cache, its sliding expiry refreshed when due. */
async function remember(
  db: Db,
  cache: AuthzCache,
  ticket: Ticket,
  tokenHash: string,
  row: SessionRow,
  nowMs: number,
  ttl: SessionTtl,
): Promise<LiveSession> {
  const session = {
    sessionId: row.sessionId,
    twoFactorVerified: row.twoFactorVerified,
    user: toAuthUser({ ...row, id: row.userId }),
  };
  const lastUsedAt = row.lastUsedAt.getTime();
  const endsAt = row.createdAt.getTime() + ttl.absoluteMs;
  const expiresAt = Math.min(row.expiresAt.getTime(), endsAt);
  cache.putSession(ticket, tokenHash, { ...session, lastUsedAt, expiresAt, endsAt });
  if (touchDue(lastUsedAt, nowMs)) await touch(db, cache, tokenHash, row.sessionId, endsAt, ttl);
  return session;
}

/** The request's view of a cached session (without the cache's bookkeeping times). */
const liveOf = (c: CachedSession): LiveSession => ({
  sessionId: c.sessionId,
  twoFactorVerified: c.twoFactorVerified,
  user: c.user,
});

const touchDue = (lastUsedAt: number, nowMs: number) => nowMs - lastUsedAt > TOUCH_EVERY_MS;

/** Refreshes the sliding expiry (at most once a minute per instance: the cache keeps the time). */
async function touch(db: Db, cache: AuthzCache, tokenHash: string, sessionId: string, endsAt: number, ttl: SessionTtl) {
  const now = Date.now();
  // Sliding, but never past the absolute end.
  const expiresAt = Math.min(now + ttl.idleMs, endsAt);
  await touchSession(db, sessionId, new Date(now), new Date(expiresAt));
  cache.sessionTouched(tokenHash, now, expiresAt);
}
