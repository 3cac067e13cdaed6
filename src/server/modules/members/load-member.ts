import { and, eq, sql } from "drizzle-orm";
import { effectivePermissions, PermissionSet, systemRolePermissions } from "../../../shared/permissions.js";
import type { DbOrTx } from "../../db/client.js";
import { memberRoles, memberships, organizations, roles } from "../../db/schema/index.js";
import type { OrgMember } from "../../http/request-context.js";

/**
 * The caller's membership with effective permissions, read fresh from the
 * database on every request (one indexed query): a committed role change, removal
 * or ownership transfer is in force on the very next request of every instance.
 */
export async function loadMember(
  db: DbOrTx,
  orgId: string,
  userId: string,
): Promise<(OrgMember & { requireTwoFactor: boolean; lastActiveAt: Date | null }) | null> {
  const rows = await db
    .select({
      memberId: memberships.id,
      isOwner: memberships.isOwner,
      firstName: memberships.firstName,
      lastName: memberships.lastName,
      lastActiveAt: memberships.lastActiveAt,
      requireTwoFactor: organizations.requireTwoFactor,
      roleId: memberRoles.roleId,
      isSystem: roles.isSystem,
      rolePermissions: roles.permissions,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .leftJoin(memberRoles, and(eq(memberRoles.orgId, memberships.orgId), eq(memberRoles.memberId, memberships.id)))
    .leftJoin(roles, and(eq(roles.orgId, memberRoles.orgId), eq(roles.id, memberRoles.roleId)))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  const first = rows[0];
  if (!first) return null;
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
    isOwner: first.isOwner,
    firstName: first.firstName,
    lastName: first.lastName,
    roleIds,
    permissions: effectivePermissions(first.isOwner, sets),
    requireTwoFactor: first.requireTwoFactor,
    lastActiveAt: first.lastActiveAt,
  };
}

/**
 * Marks the member active (memberships.last_active_at for the access review). Writes at
 * most once a minute per member: the caller skips it when the loaded value is recent, and
 * the WHERE makes concurrent requests of the same member write once.
 */
export async function touchMemberActivity(
  db: DbOrTx,
  member: { orgId: string; memberId: string; lastActiveAt: Date | null },
): Promise<void> {
  if (member.lastActiveAt && Date.now() - member.lastActiveAt.getTime() < 60_000) return;
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
}
