import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { memberRoles, memberships, organizations, roles, sessions, users } from "../db/schema/index.js";
import { hashToken } from "../lib/tokens.js";
import { isUuidShaped } from "../lib/uuid.js";
import {
  type LiveSession,
  liveSessionOf,
  liveSessionWhere,
  resolveSession,
  sessionColumns,
} from "../modules/auth/sessions.js";
import { type LoadedMember, memberColumns, memberJoins, memberOf } from "../modules/members/load-member.js";
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

/** The live session of a token (sliding expiry refreshed) and, for member routes, the membership in `orgId`. */
export async function resolveCaller(
  db: Db,
  token: string,
  orgId: string | undefined,
  idleTtlMs: number,
): Promise<Caller | null> {
  // Anything not UUID-shaped is left to the route's validation (400).
  if (!orgId || !isUuidShaped(orgId)) return resolveSession(db, token, idleTtlMs);
  const now = new Date();
  const rows = await sessionAndMemberQuery(db).execute({ tokenHash: hashToken(token), now: now.toISOString(), orgId });
  const first = rows[0];
  if (!first) return null;
  const session = await liveSessionOf(db, first, now, idleTtlMs);
  return { ...session, membership: { orgId, member: memberOf(orgId, first.userId, rows) } };
}
