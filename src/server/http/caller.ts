import { and, eq, sql } from "drizzle-orm";
import type { AuthzCache, CachedSession, Ticket } from "../authz/cache.js";
import type { Db } from "../db/client.js";
import { memberRoles, memberships, organizations, roles, sessions, users } from "../db/schema/index.js";
import { hashToken } from "../lib/tokens.js";
import { isUuidShaped } from "../lib/uuid.js";
import {
  type LiveSession,
  liveSessionWhere,
  readSession,
  type SessionRow,
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
  idleTtlMs: number,
): Caller | Promise<Caller | null> {
  const tokenHash = hashToken(token);
  const nowMs = Date.now();
  // Anything not UUID-shaped is left to the route's validation (400).
  const memberOrg = orgId && isUuidShaped(orgId) ? orgId : undefined;
  const cached = cache.session(tokenHash, nowMs);
  const member = cached && memberOrg ? cache.member(memberOrg, cached.user.id) : undefined;
  if (cached && !touchDue(cached.lastUsedAt, nowMs)) {
    if (!memberOrg) return cached;
    if (member !== undefined) {
      return { sessionId: cached.sessionId, user: cached.user, membership: { orgId: memberOrg, member } };
    }
  }
  return readCaller(db, cache, tokenHash, cached, memberOrg, member, nowMs, idleTtlMs);
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
  idleTtlMs: number,
): Promise<Caller | null> {
  if (cached) {
    if (touchDue(cached.lastUsedAt, nowMs)) await touch(db, cache, tokenHash, cached.sessionId, idleTtlMs);
    const session = { sessionId: cached.sessionId, user: cached.user };
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
  const now = new Date(nowMs).toISOString();
  if (!memberOrg) {
    const [row] = await readSession(db, tokenHash, now);
    return row ? remember(db, cache, ticket, tokenHash, row, nowMs, idleTtlMs) : null;
  }
  const rows = await sessionAndMemberQuery(db).execute({ tokenHash, now, orgId: memberOrg });
  const first = rows[0];
  if (!first) return null;
  const member = memberOf(memberOrg, first.userId, rows);
  cache.putMember(ticket, memberOrg, first.userId, member);
  const session = await remember(db, cache, ticket, tokenHash, first, nowMs, idleTtlMs);
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
  idleTtlMs: number,
): Promise<LiveSession> {
  const session = { sessionId: row.sessionId, user: toAuthUser({ ...row, id: row.userId }) };
  const lastUsedAt = row.lastUsedAt.getTime();
  cache.putSession(ticket, tokenHash, { ...session, lastUsedAt, expiresAt: row.expiresAt.getTime() });
  if (touchDue(lastUsedAt, nowMs)) await touch(db, cache, tokenHash, row.sessionId, idleTtlMs);
  return session;
}

const touchDue = (lastUsedAt: number, nowMs: number) => nowMs - lastUsedAt > TOUCH_EVERY_MS;

/** Refreshes the sliding expiry (at most once a minute per instance: the cache keeps the time). */
async function touch(db: Db, cache: AuthzCache, tokenHash: string, sessionId: string, idleTtlMs: number) {
  const now = new Date();
  await touchSession(db, sessionId, now, idleTtlMs);
  cache.sessionTouched(tokenHash, now.getTime(), now.getTime() + idleTtlMs);
}
