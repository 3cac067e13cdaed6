import { and, eq, sql } from "drizzle-orm";
import { effectivePermissions, PermissionSet, systemRolePermissions } from "../../../shared/permissions.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { memberRoles, memberships, organizations, roles } from "../../db/schema/index.js";
import { perDatabase } from "../../http/prepared.js";
import type { OrgMember } from "../../http/request-context.js";

export type LoadedMember = OrgMember & { requireTwoFactor: boolean; lastActiveAt: Date | null };

/** One row per role held (one with a null role when none); the guard joins them to the session. */
export const memberColumns = {
  memberId: memberships.id,
  isOwner: memberships.isOwner,
  memberFirstName: memberships.firstName,
  memberLastName: memberships.lastName,
  lastActiveAt: memberships.lastActiveAt,
  requireTwoFactor: organizations.requireTwoFactor,
  roleId: memberRoles.roleId,
  isSystem: roles.isSystem,
  rolePermissions: roles.permissions,
};

/** The joins below `memberships` (organizations ⟕ member_roles ⟕ roles), for any query that selects `memberColumns`. */
export const memberJoins = {
  organization: eq(organizations.id, memberships.orgId),
  memberRoles: and(eq(memberRoles.orgId, memberships.orgId), eq(memberRoles.memberId, memberships.id)),
  roles: and(eq(roles.orgId, memberRoles.orgId), eq(roles.id, memberRoles.roleId)),
};

const memberQuery = perDatabase((db) =>
  db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(organizations, memberJoins.organization)
    .leftJoin(memberRoles, memberJoins.memberRoles)
    .leftJoin(roles, memberJoins.roles)
    .where(and(eq(memberships.orgId, sql.placeholder("orgId")), eq(memberships.userId, sql.placeholder("userId"))))
    .prepare("chorus_member"),
);

type MemberRow = { [K in keyof typeof memberColumns]: (typeof memberColumns)[K]["_"]["data"] | null };

/**
 * The caller's membership with effective permissions, read from the database: the
 * guard's cache miss path (src/server/authz keeps the result until a change retires it).
 */
export async function loadMember(db: Db, orgId: string, userId: string): Promise<LoadedMember | null> {
  return memberOf(orgId, userId, await memberQuery(db).execute({ orgId, userId }));
}

/** The member the rows of `memberColumns` describe, or null when they hold no membership. */
export function memberOf(orgId: string, userId: string, rows: readonly MemberRow[]): LoadedMember | null {
  const first = rows[0];
  // Left-joined to a session, no membership reads as one row of nulls.
  if (!first?.memberId) return null;
  const roleIds: string[] = [];
  const sets: PermissionSet[] = [];
  for (const r of rows) {
    if (!r.roleId) continue;
    roleIds.push(r.roleId);
    sets.push(
      r.isSystem
        ? (systemRolePermissions(r.roleId) ?? PermissionSet.empty())
        : PermissionSet.of(r.rolePermissions ?? []),
    );
  }
  return {
    orgId,
    memberId: first.memberId,
    userId,
    isOwner: first.isOwner!,
    firstName: first.memberFirstName!,
    lastName: first.memberLastName!,
    roleIds,
    permissions: effectivePermissions(first.isOwner!, sets),
    requireTwoFactor: first.requireTwoFactor!,
    lastActiveAt: first.lastActiveAt,
  };
}

/** Whether the member's activity time is older than a minute (or unset) and should be written. */
export function memberActivityDue(member: { lastActiveAt: Date | null }, nowMs = Date.now()): boolean {
  return !member.lastActiveAt || nowMs - member.lastActiveAt.getTime() >= 60_000;
}

/**
 * Marks the member active (memberships.last_active_at for the access review). Callers write at
 * most once a minute per member (`memberActivityDue` on what they loaded or cached), and the
 * WHERE makes concurrent requests of the same member write once. Returns the time it marked.
 */
export async function touchMemberActivity(db: DbOrTx, member: { orgId: string; memberId: string }): Promise<Date> {
  const at = new Date();
  await db
    .update(memberships)
    .set({ lastActiveAt: sql`now()` })
    .where(
      and(
        eq(memberships.orgId, member.orgId),
        eq(memberships.id, member.memberId),
        sql`(${memberships.lastActiveAt} is null or ${memberships.lastActiveAt} < now() - interval '1 minute')`,
      ),
    );
  return at;
}
