import {
  effectivePermissions,
  isOwnerOnlyPermission,
  isPermission,
  PermissionSet,
} from "../../../shared/permissions.js";
import type { DbOrTx } from "../../db/client.js";
import { badRequest, conflict, type FieldError, forbidden } from "../../http/problem.js";
import type { OrgMember } from "../../http/request-context.js";
import { findRoles, type ResolvedRole } from "./repo.js";

/**
 * No escalation: a member can grant (invite with, assign, or put into a custom role)
 * only permissions they hold themselves. The owner holds all, so never escalates.
 */
export function assertNoEscalation(actor: Pick<OrgMember, "permissions">, granted: PermissionSet): void {
  const missing = granted.missingFrom(actor.permissions);
  if (missing.length > 0) {
    throw forbidden("permission_escalation", `You cannot grant permissions you do not hold: ${missing.join(", ")}.`, {
      missingPermissions: missing,
    });
  }
}

/**
 * One can only change the permissions of a member whose permissions one holds all of: otherwise
 * `members:update` could demote an Administrator, or `roles:manage` empty the role they hold.
 * `heldRoleIds` are the roles the affected member (or members) hold; an owner is never affected
 * (ownership carries every permission whatever the roles), so their roles are left out by callers.
 */
export async function assertOutranksHolders(
  db: DbOrTx,
  actor: Pick<OrgMember, "orgId" | "permissions">,
  heldRoleIds: readonly string[],
): Promise<void> {
  const held = await findRoles(db, actor.orgId, heldRoleIds);
  assertNoEscalation(
    actor,
    held.reduce((acc, r) => acc.union(r.permissions), PermissionSet.empty()),
  );
}

/**
 * Resolves role ids of the organization (400 `unknown_role` for ids that are not
 * roles of it) and checks the actor may grant their union.
 */
export async function resolveGrantableRoles(
  db: DbOrTx,
  actor: Pick<OrgMember, "orgId" | "permissions">,
  roleIds: readonly string[],
  field = "roleIds",
): Promise<ResolvedRole[]> {
  const unique = [...new Set(roleIds)];
  return grantableRoles(actor, unique, await findRoles(db, actor.orgId, unique), field);
}

/**
 * `resolveGrantableRoles` on roles already read: `found` holds the organization's roles among
 * `roleIds` (more is fine). 400 `unknown_role` for ids not among them, 403 when the actor may not
 * grant their union. Returns the roles asked for.
 */
export function grantableRoles<R extends Pick<ResolvedRole, "id" | "permissions">>(
  actor: Pick<OrgMember, "permissions">,
  roleIds: readonly string[],
  found: readonly R[],
  field = "roleIds",
): R[] {
  const unique = [...new Set(roleIds)];
  const byId = new Map(found.map((r) => [r.id, r]));
  const unknown = unique.filter((id) => !byId.has(id));
  if (unknown.length > 0) {
    throw badRequest(
      "unknown_role",
      `No such role in this organization: ${unknown.join(", ")}.`,
      unknown.map((id) => ({
        path: `${field}.${unique.indexOf(id)}`,
        message: `Unknown role ${id}.`,
        in: "body" as const,
      })),
    );
  }
  const asked = unique.map((id) => byId.get(id)!);
  const granted = asked.reduce((acc, r) => acc.union(r.permissions), PermissionSet.empty());
  assertNoEscalation(actor, granted);
  return asked;
}

/**
 * The permissions a custom role may hold: catalogue keys only, never an owner-only
 * permission (400 `owner_only_permission`) nor an unknown key (400 `unknown_permission`).
 * Duplicates collapse; the result is in catalogue order.
 */
export function parseRolePermissions(keys: readonly string[], field = "permissions"): PermissionSet {
  const ownerOnly: FieldError[] = [];
  const unknown: FieldError[] = [];
  keys.forEach((k, i) => {
    if (isOwnerOnlyPermission(k)) {
      ownerOnly.push({
        path: `${field}.${i}`,
        message: `${k} belongs to the owner and cannot be granted.`,
        in: "body",
      });
    } else if (!isPermission(k)) {
      unknown.push({ path: `${field}.${i}`, message: `Unknown permission ${k}.`, in: "body" });
    }
  });
  if (ownerOnly.length) {
    throw badRequest("owner_only_permission", "Owner-only permissions cannot be put into a role.", ownerOnly);
  }
  if (unknown.length) throw badRequest("unknown_permission", "Some permissions are not in the catalogue.", unknown);
  return PermissionSet.of(keys);
}

/**
 * Twenty's rule: a role edit or deletion must not lock its author out of managing roles.
 * `rolesAfter` are the permission sets of the roles the actor holds once the change is
 * made. The owner holds everything whatever their roles, so is never locked out.
 */
export function assertNoSelfLockout(actor: Pick<OrgMember, "isOwner">, rolesAfter: readonly PermissionSet[]): void {
  if (actor.isOwner) return;
  if (effectivePermissions(false, rolesAfter).has("roles:manage")) return;
  throw conflict(
    "self_lockout",
    "This change would take the roles:manage permission away from you. Ask another administrator to make it.",
    { lostPermission: "roles:manage" },
  );
}
