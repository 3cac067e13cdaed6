import { and, eq, sql } from "drizzle-orm";
import { effectivePermissions, PermissionSet } from "../../../shared/permissions.js";
import type { DbOrTx } from "../../db/client.js";
import { invitations, memberships } from "../../db/schema/index.js";
import { forbidden } from "../../http/problem.js";
import type { Actor } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { findRoles, type ResolvedRole, roleIdsOfMember } from "../roles/repo.js";
import { stateOf } from "./rules.js";

/**
 * An invitation admits on its inviter's word: when their membership ends (removed or left),
 * the invitations they sent and nobody answered end with it. Call in the transaction that
 * deletes the membership; each revocation is recorded like a manual one, with the reason.
 */
export async function revokeInvitationsSentBy(
  tx: DbOrTx,
  by: Actor,
  orgId: string,
  inviterUserId: string,
  reason: "inviter_removed" | "inviter_left",
): Promise<number> {
  const revoked = await tx
    .update(invitations)
    .set({ status: "revoked", respondedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.invitedByUserId, inviterUserId),
        eq(invitations.status, "pending"),
      ),
    )
    .returning({ id: invitations.id, email: invitations.email, expiresAt: invitations.expiresAt });
  for (const inv of revoked) {
    await recordActivity(tx, by, {
      orgId,
      action: "invitation.revoked",
      target: { type: "invitation", id: inv.id, label: inv.email },
      changes: {
        // An expired one is still pending in the table; revoking closes it all the same.
        state: { before: stateOf({ status: "pending", expiresAt: inv.expiresAt }), after: "revoked" },
        reason: { after: reason },
      },
    });
  }
  return revoked.length;
}

export interface Inviter {
  memberId: string;
  isOwner: boolean;
}

/**
 * The inviter's membership in the invitation's organization, locked (shared) for the rest of the
 * accept, so a concurrent demotion or removal is ordered before or after it, never in between.
 * Call before claiming the invitation: the same lock order as removal (membership, then invitations).
 */
export async function lockInviter(
  tx: DbOrTx,
  inv: { orgId: string; invitedByUserId: string | null },
): Promise<Inviter | null> {
  if (!inv.invitedByUserId) return null; // the inviter's account is gone
  const [row] = await tx
    .select({ memberId: memberships.id, isOwner: memberships.isOwner })
    .from(memberships)
    .where(and(eq(memberships.orgId, inv.orgId), eq(memberships.userId, inv.invitedByUserId)))
    .for("share");
  return row ?? null;
}

/**
 * An invitation admits on its inviter's word, so at accept the inviter must still be a member
 * holding `members:invite` and every permission of the roles it grants now (the no-escalation
 * rule, applied when the grant takes effect): an inviter demoted since sending it cannot pass on
 * what they lost. 403 `invitation_inviter_not_permitted` otherwise; which permission is missing
 * is the organization's business, not the invitee's.
 */
export async function assertInviterMayGrant(
  tx: DbOrTx,
  orgId: string,
  inviter: Inviter | null,
  roles: readonly ResolvedRole[],
): Promise<void> {
  let holds = PermissionSet.empty();
  if (inviter) {
    const held = await findRoles(tx, orgId, await roleIdsOfMember(tx, orgId, inviter.memberId));
    holds = effectivePermissions(
      inviter.isOwner,
      held.map((r) => r.permissions),
    );
  }
  const needed = roles.reduce((acc, r) => acc.union(r.permissions), PermissionSet.of(["members:invite"]));
  if (!inviter || needed.missingFrom(holds).length > 0) {
    throw forbidden(
      "invitation_inviter_not_permitted",
      "The person who sent this invitation can no longer grant this access. Ask an administrator for a new invitation.",
    );
  }
}
