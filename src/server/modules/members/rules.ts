import { forbidden } from "../../http/problem.js";

/** Nobody edits or removes the owner; ownership changes only by transfer. */
export function assertNotOwner(target: { isOwner: boolean }): void {
  if (target.isOwner) {
    throw forbidden("owner_protected", "The owner cannot be edited or removed. Ownership changes only by transfer.");
  }
}

export function sameRoleSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/** A member cannot change their own roles (granting oneself more, or dropping a duty unseen). */
export function assertNotOwnRoles(actorMemberId: string, targetMemberId: string): void {
  if (actorMemberId === targetMemberId) {
    throw forbidden("cannot_change_own_roles", "You cannot change your own roles. Ask another administrator.");
  }
}

/** Removing oneself is leaving: it has its own route (and record). */
export function assertNotSelf(actorMemberId: string, targetMemberId: string): void {
  if (actorMemberId === targetMemberId) {
    throw forbidden("cannot_remove_self", "To leave the organization, use leave instead of removing yourself.");
  }
}
