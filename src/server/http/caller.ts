import { and, eq, sql } from "drizzle-orm";
import type { AuthzCache } from "../authz/cache.js";
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
 * in `orgId`: from the cache when it holds them (no query), else in one query whose result the
 * cache keeps until a database notification retires it (src/server/authz/cache.ts).
 */
export async function resolveCaller(
  db: Db,
  cache: AuthzCache,
  token: string,
  orgId: string | undefined,
  idleTtlMs: number,
): Promise<Caller | null> {
  const tokenHash = hashToken(token);
  const now = new Date();
  // Anything not UUID-shaped is left to the route's validation (400).
  const memberOrg = orgId && isUuidShaped(orgId) ? orgId : undefined;

  const cached = cache.session(tokenHash, now.getTime());
  if (cached) {
    await touchIfDue(db, cache, tokenHash, cached.sessionId, cached.lastUsedAt, now, idleTtlMs);
    const session = { sessionId: cached.sessionId, user: cached.user };
    if (!memberOrg) return session;
    let member = cache.member(memberOrg, cached.user.id);
    if (member === undefined) {
      const ticket = cache.ticket();
      member = await loadMember(db, memberOrg, cached.user.id);
      cache.putMember(ticket, memberOrg, cached.user.id, member);
    }
    return { ...session, membership: { orgId: memberOrg, member } };
  }

  const ticket = cache.ticket();
  if (!memberOrg) {
    const row = await readSession(db, tokenHash, now);
    if (!row) return null;
    const session = sessionOf(row);
    cache.putSession(ticket, tokenHash, {
      ...session,
      lastUsedAt: row.lastUsedAt.getTime(),
      expiresAt: row.expiresAt.getTime(),
    });
    await touchIfDue(db, cache, tokenHash, row.sessionId, row.lastUsedAt.getTime(), now, idleTtlMs);
    return session;
  }
  const rows = await sessionAndMemberQuery(db).execute({ tokenHash, now: now.toISOString(), orgId: memberOrg });
  const first = rows[0];
  if (!first) return null;
  const session = sessionOf(first);
  const member = memberOf(memberOrg, first.userId, rows);
  cache.putSession(ticket, tokenHash, {
    ...session,
    lastUsedAt: first.lastUsedAt.getTime(),
    expiresAt: first.expiresAt.getTime(),
  });
  cache.putMember(ticket, memberOrg, first.userId, member);
  await touchIfDue(db, cache, tokenHash, first.sessionId, first.lastUsedAt.getTime(), now, idleTtlMs);
  return { ...session, membership: { orgId: memberOrg, member } };
}

function sessionOf(row: SessionRow): LiveSession {
  return { sessionId: row.sessionId, user: toAuthUser({ ...row, id: row.userId }) };
}

/** Refreshes the sliding expiry at most once a minute (per instance). */
async function touchIfDue(
  db: Db,
  cache: AuthzCache,
  tokenHash: string,
  sessionId: string,
  lastUsedAt: number,
  now: Date,
  idleTtlMs: number,
): Promise<void> {
  if (now.getTime() - lastUsedAt <= TOUCH_EVERY_MS) return;
  await touchSession(db, sessionId, now, idleTtlMs);
  cache.sessionTouched(tokenHash, now.getTime(), now.getTime() + idleTtlMs);
}
