import type { Permission, PermissionSet } from "../../../shared/permissions.js";
import { conflict, forbidden } from "../../http/problem.js";

/**
 * Fields of the organization whose change needs more than the route's `org:update`: the seat
 * limit is billing (the catalogue gives seats to `billing:manage`). The owner holds every permission.
 */
const FIELD_PERMISSIONS: Partial<Record<string, Permission>> = { memberLimit: "billing:manage" };

/** 403 `permission_denied` (as the guard answers) when a changed field needs a permission the member lacks. */
export function assertMayChangeFields(member: { permissions: PermissionSet }, changed: readonly string[]): void {
  for (const field of changed) {
    const needed = FIELD_PERMISSIONS[field];
    if (needed && !member.permissions.has(needed)) {
      throw forbidden("permission_denied", `You need the ${needed} permission to change ${field}.`, {
        missingPermission: needed,
        field,
      });
    }
  }
}

/** The owner cannot leave: ownership must be handed over first (an organization always has one owner). */
export function assertCanLeave(member: { isOwner: boolean }): void {
  if (member.isOwner) {
    throw forbidden(
      "owner_cannot_leave",
      "The owner cannot leave the organization. Transfer ownership to another member first.",
    );
  }
}

export function assertTransferTarget(actorMemberId: string, targetMemberId: string): void {
  if (actorMemberId === targetMemberId) {
    throw conflict("already_owner", "You already own this organization. Choose another member.");
  }
}

/**
 * Turning on "require 2FA for every member" without having 2FA oneself would lock the
 * author out of the organization on their very next request (Twenty's no-lock-out rule).
 */
export function assertTwoFactorPolicyKeepsAuthorIn(change: boolean | undefined, authorHasTwoFactor: boolean): void {
  if (change === true && !authorHasTwoFactor) {
    throw conflict(
      "enable_two_factor_first",
      "Turn on two-factor authentication for your own account before requiring it for every member.",
    );
  }
}
