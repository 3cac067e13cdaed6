import type { PermissionSet } from "../../../shared/permissions.js";
import type { InvitationState } from "../../../shared/schemas/invitations.js";
import { conflict, gone } from "../../http/problem.js";

/** The state people see: a pending invitation past its expiry is expired. */
export function stateOf(inv: { status: InvitationState; expiresAt: Date }, now = new Date()): InvitationState {
  if (inv.status === "pending" && inv.expiresAt.getTime() <= now.getTime()) return "expired";
  return inv.status;
}

const GONE_DETAIL: Record<Exclude<InvitationState, "pending">, string> = {
  accepted: "This invitation has already been accepted.",
  declined: "This invitation was declined.",
  revoked: "This invitation was revoked. Ask for a new one.",
  expired: "This invitation has expired. Ask for a new one.",
};

/** Accepting or declining needs a live invitation; anything else is 410 with its state. */
export function assertOpen(state: InvitationState): void {
  if (state !== "pending") throw gone(`invitation_${state}`, GONE_DETAIL[state], { state });
}

/** Resend and revoke act on pending invitations only (an expired one may be resent: that renews it). */
export function assertPendingForAdmin(status: InvitationState): void {
  if (status !== "pending") {
    throw conflict("invitation_not_pending", `This invitation is ${status}: it can no longer be changed.`, {
      state: status,
    });
  }
}

export const RESENDS_PER_HOUR = 3;

/**
 * Role lookups come back in whatever order the database chose (PGlite and PostgreSQL differ):
 * stored ids, the email's role names and the records use one stable order, by id.
 */
export const sortRoles = <R extends { id: string }>(roles: R[]): R[] =>
  roles.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/**
 * 409 `already_member`. The member's id goes only to a caller who may read members: with
 * `members:invite` alone, the answer must not become a way to look members up.
 */
export function alreadyMember(actor: { permissions: PermissionSet }, email: string, memberId: string) {
  return conflict(
    "already_member",
    `${email} is already a member of this organization.`,
    actor.permissions.has("members:read") ? { memberId } : {},
  );
}
