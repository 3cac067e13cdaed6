import { and, count, desc, eq, inArray, ne, sql } from "drizzle-orm";
import { PermissionSet, SYSTEM_ROLES, systemRolePermissions } from "../../../shared/permissions.js";
import type { DbOrTx } from "../../db/client.js";
import { invitations, memberRoles, memberships, roles } from "../../db/schema/index.js";

/** Every organization holds the seven system roles as rows (ids = their keys); call when creating one. */
export async function seedSystemRoles(tx: DbOrTx, orgId: string): Promise<void> {
  await tx
    .insert(roles)
    .values(SYSTEM_ROLES.map((r) => ({ orgId, id: r.id, name: r.name, description: r.description, isSystem: true })))
    .onConflictDoNothing();
}

export interface ResolvedRole {
  id: string;
  name: string;
  isSystem: boolean;
  permissions: PermissionSet;
}

/** The roles of `orgId` among `roleIds`, with their permission sets; unknown ids are simply absent. */
export async function findRoles(db: DbOrTx, orgId: string, roleIds: readonly string[]): Promise<ResolvedRole[]> {
  if (roleIds.length === 0) return [];
  const rows = await db
    .select({ id: roles.id, name: roles.name, isSystem: roles.isSystem, permissions: roles.permissions })
    .from(roles)
    .where(and(eq(roles.orgId, orgId), inArray(roles.id, [...roleIds])));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    isSystem: r.isSystem,
    permissions: permissionsOfRole(r),
  }));
}

export interface RoleRow {
  id: string;
  name: string;
  description: string;
  isSystem: boolean;
  permissions: PermissionSet;
  createdAt: Date;
  updatedAt: Date;
}

const roleColumns = {
  id: roles.id,
  name: roles.name,
  description: roles.description,
  isSystem: roles.isSystem,
  permissions: roles.permissions,
  createdAt: roles.createdAt,
  updatedAt: roles.updatedAt,
};

function toRoleRow(r: {
  id: string;
  name: string;
  description: string;
  isSystem: boolean;
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
}): RoleRow {
  return {
    ...r,
    permissions: permissionsOfRole(r),
  };
}

/** Every role of the organization: system roles first (catalogue order), then custom roles by name. */
export async function listRoles(db: DbOrTx, orgId: string): Promise<RoleRow[]> {
  const rows = await db
    .select(roleColumns)
    .from(roles)
    .where(eq(roles.orgId, orgId))
    .orderBy(desc(roles.isSystem), sql`lower(${roles.name})`);
  return inRolesPageOrder(rows).map(toRoleRow);
}

const SYSTEM_ORDER = new Map(SYSTEM_ROLES.map((r, i) => [r.id as string, i]));

/**
 * Rows read `order by is_system desc, lower(name)` in the roles page's order: system roles in
 * catalogue order, then custom roles as read (by name, in the database's collation).
 */
export function inRolesPageOrder<T extends { id: string; isSystem: boolean }>(rows: readonly T[]): T[] {
  const system = rows
    .filter((r) => r.isSystem)
    .sort((a, b) => (SYSTEM_ORDER.get(a.id) ?? 99) - (SYSTEM_ORDER.get(b.id) ?? 99));
  return [...system, ...rows.filter((r) => !r.isSystem)];
}

/** A role row's permission set: a system role's from the catalogue (its row's column is not used). */
export function permissionsOfRole(r: { id: string; isSystem: boolean; permissions: readonly string[] }): PermissionSet {
  return r.isSystem ? (systemRolePermissions(r.id) ?? PermissionSet.empty()) : PermissionSet.of(r.permissions);
}

/** One role of the organization; `forUpdate` locks its row until the transaction ends. */
export async function getRole(db: DbOrTx, orgId: string, roleId: string, forUpdate = false): Promise<RoleRow | null> {
  const q = db
    .select(roleColumns)
    .from(roles)
    .where(and(eq(roles.orgId, orgId), eq(roles.id, roleId)));
  const [row] = forUpdate ? await q.for("update") : await q;
  return row ? toRoleRow(row) : null;
}

/** Members holding each role of the organization (roles nobody holds are absent). */
export async function memberCounts(db: DbOrTx, orgId: string, roleId?: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ roleId: memberRoles.roleId, n: count() })
    .from(memberRoles)
    .where(roleId ? and(eq(memberRoles.orgId, orgId), eq(memberRoles.roleId, roleId)) : eq(memberRoles.orgId, orgId))
    .groupBy(memberRoles.roleId);
  return new Map(rows.map((r) => [r.roleId, Number(r.n)]));
}

/** The role ids a member holds, read inside the caller's transaction. */
export async function roleIdsOfMember(db: DbOrTx, orgId: string, memberId: string): Promise<string[]> {
  const rows = await db
    .select({ roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(and(eq(memberRoles.orgId, orgId), eq(memberRoles.memberId, memberId)));
  return rows.map((r) => r.roleId);
}

/**
 * Every role held by the members (owners aside) who hold `roleId`: what changing or deleting that
 * role touches. The owner holds every permission whatever their roles, so a role edit changes nothing for them.
 */
export async function rolesOfHolders(db: DbOrTx, orgId: string, roleId: string): Promise<string[]> {
  const holders = db
    .select({ memberId: memberRoles.memberId })
    .from(memberRoles)
    .innerJoin(memberships, and(eq(memberships.orgId, memberRoles.orgId), eq(memberships.id, memberRoles.memberId)))
    .where(and(eq(memberRoles.orgId, orgId), eq(memberRoles.roleId, roleId), eq(memberships.isOwner, false)));
  const rows = await db
    .selectDistinct({ roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(and(eq(memberRoles.orgId, orgId), inArray(memberRoles.memberId, holders)));
  return rows.map((r) => r.roleId);
}

/** True when another role of the organization already has this name (case-insensitive). */
export async function nameTaken(db: DbOrTx, orgId: string, name: string, exceptRoleId?: string): Promise<boolean> {
  const rows = await db
    .select({ id: roles.id })
    .from(roles)
    .where(
      and(
        eq(roles.orgId, orgId),
        sql`lower(${roles.name}) = lower(${name})`,
        exceptRoleId ? ne(roles.id, exceptRoleId) : undefined,
      ),
    )
    .limit(1);
  return rows.length > 0;
}

/**
 * Moves every holder of `fromRoleId` to `toRoleId` (members already holding it keep
 * one copy) and takes `fromRoleId` away from all of them. Returns the members moved.
 */
export async function moveRoleHolders(
  tx: DbOrTx,
  orgId: string,
  fromRoleId: string,
  toRoleId: string | null,
): Promise<number> {
  if (toRoleId) {
    await tx.execute(sql`
      insert into member_roles (org_id, member_id, role_id)
      select org_id, member_id, ${toRoleId} from member_roles
      where org_id = ${orgId} and role_id = ${fromRoleId}
      on conflict do nothing`);
  }
  const removed = await tx
    .delete(memberRoles)
    .where(and(eq(memberRoles.orgId, orgId), eq(memberRoles.roleId, fromRoleId)))
    .returning({ memberId: memberRoles.memberId });
  return removed.length;
}

/**
 * Pending invitations of the organization that offer `roleId` get `replaceWith` instead
 * (in the same position, once), or lose it when there is no replacement.
 */
export async function replaceRoleInPendingInvitations(
  tx: DbOrTx,
  orgId: string,
  roleId: string,
  replaceWith: string | null,
): Promise<number> {
  const newRoleIds = replaceWith
    ? sql`case when ${replaceWith} = any(${invitations.roleIds}) then array_remove(${invitations.roleIds}, ${roleId})
              else array_replace(${invitations.roleIds}, ${roleId}, ${replaceWith}) end`
    : sql`array_remove(${invitations.roleIds}, ${roleId})`;
  const updated = await tx
    .update(invitations)
    .set({ roleIds: newRoleIds, updatedAt: sql`now()` })
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.status, "pending"),
        sql`${roleId} = any(${invitations.roleIds})`,
      ),
    )
    .returning({ id: invitations.id });
  return updated.length;
}
