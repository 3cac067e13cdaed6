import { and, eq } from "drizzle-orm";
import type { UpdateMemberInput } from "../../../shared/schemas/members.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { pgCode, pgConstraint } from "../../db/pg-errors.js";
import { memberRoles, memberships } from "../../db/schema/index.js";
import { AppError, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { revokeInvitationsSentBy } from "../invitations/inviter.js";
import { roleIdsOfMember } from "../roles/repo.js";
import { assertOutranksHolders, resolveGrantableRoles } from "../roles/rules.js";
import { emitMemberRemoved } from "./events.js";
import { getMember } from "./list.js";
import { assertNotOwner, assertNotOwnRoles, assertNotSelf, sameRoleSet } from "./rules.js";
import type { MemberDto } from "./schemas.js";

const memberNotFound = () => notFound("member", "member_not_found");

/** Locks the target's membership row for the rest of the transaction (removal vs transfer vs edit). */
async function lockTarget(tx: DbOrTx, orgId: string, memberId: string) {
  const [row] = await tx
    .select()
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)))
    .for("update");
  if (!row) throw memberNotFound();
  return row;
}

/**
 * One can only change (roles or name) or remove a member whose permissions one holds all of:
 * otherwise a member with `members:update` could demote or rename (or `members:remove` could
 * remove) an Administrator. The owner and Administrators hold everything grantable, so pass.
 */
async function assertOutranks(tx: DbOrTx, actor: OrgMember, orgId: string, targetRoleIds: string[]) {
  await assertOutranksHolders(tx, { orgId, permissions: actor.permissions }, targetRoleIds);
}

/** member_roles → roles: the role assigned is gone when the row is written. */
const MEMBER_ROLE_FK = "member_roles_org_id_role_id_roles_org_id_id_fk";

export async function updateMember(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  memberId: string,
  input: UpdateMemberInput,
): Promise<MemberDto> {
  try {
    await applyMemberUpdate(ctx, actor, by, memberId, input);
  } catch (err) {
    // A role was deleted between our reading it and writing the assignment (deletion locks the
    // role, so the write waited, then failed on the foreign key): answer as a moment later,
    // 400 unknown_role naming it. The check throws that now that the role is gone.
    if (!(err instanceof AppError) && pgCode(err) === "23503" && pgConstraint(err) === MEMBER_ROLE_FK) {
      await resolveGrantableRoles(ctx.db, actor, input.roleIds ?? []);
    }
    throw err;
  }
  const member = await getMember(ctx.db, actor.orgId, memberId);
  if (!member) throw memberNotFound();
  return member;
}

async function applyMemberUpdate(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  memberId: string,
  input: UpdateMemberInput,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const target = await lockTarget(tx, actor.orgId, memberId);
    assertNotOwner(target);
    const rolesBefore = (await roleIdsOfMember(tx, actor.orgId, memberId)).sort();
    const rolesChange = input.roleIds !== undefined && !sameRoleSet(rolesBefore, input.roleIds);
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    if (input.firstName !== undefined && input.firstName !== target.firstName)
      changes.firstName = { before: target.firstName, after: input.firstName };
    if (input.lastName !== undefined && input.lastName !== target.lastName)
      changes.lastName = { before: target.lastName, after: input.lastName };
    const detailsChange = Object.keys(changes).length > 0;
    if (!detailsChange && !rolesChange) return; // nothing changes: no write, no record

    if (rolesChange) assertNotOwnRoles(actor.memberId, memberId);
    await assertOutranks(tx, actor, actor.orgId, rolesBefore);
    let rolesAfter = rolesBefore;
    if (rolesChange) {
      const granted = await resolveGrantableRoles(tx, actor, input.roleIds!);
      rolesAfter = granted.map((r) => r.id).sort();
      changes.roleIds = { before: rolesBefore, after: rolesAfter };
    }

    if (detailsChange) {
      await tx
        .update(memberships)
        .set({ firstName: input.firstName ?? target.firstName, lastName: input.lastName ?? target.lastName })
        .where(and(eq(memberships.orgId, actor.orgId), eq(memberships.id, memberId)));
    }
    if (rolesChange) {
      // Replace the set: the member's next request is authorized with exactly these roles.
      await tx.delete(memberRoles).where(and(eq(memberRoles.orgId, actor.orgId), eq(memberRoles.memberId, memberId)));
      if (rolesAfter.length) {
        await tx.insert(memberRoles).values(rolesAfter.map((roleId) => ({ orgId: actor.orgId, memberId, roleId })));
      }
    }
    const firstName = input.firstName ?? target.firstName;
    const lastName = input.lastName ?? target.lastName;
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      // One record per request: both kinds of change together are a member.updated.
      action: detailsChange ? "member.updated" : "member.roles_changed",
      target: { type: "member", id: memberId, label: `${firstName} ${lastName}`.trim() },
      changes,
    });
  });
}

export async function removeMember(ctx: AppContext, actor: OrgMember, by: Actor, memberId: string): Promise<void> {
  const removed = await ctx.db.transaction(async (tx) => {
    const target = await lockTarget(tx, actor.orgId, memberId);
    assertNotOwner(target);
    assertNotSelf(actor.memberId, memberId);
    const roleIds = (await roleIdsOfMember(tx, actor.orgId, memberId)).sort();
    await assertOutranks(tx, actor, actor.orgId, roleIds);
    // Access ends with the commit: the trigger retires every instance's cached membership, and
    // this request is answered only after they all have (the write barrier).
    await tx.delete(memberships).where(and(eq(memberships.orgId, actor.orgId), eq(memberships.id, memberId)));
    await revokeInvitationsSentBy(tx, by, actor.orgId, target.userId, "inviter_removed");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "member.removed",
      target: { type: "member", id: memberId, label: `${target.firstName} ${target.lastName}`.trim() },
      changes: { roleIds: { before: roleIds }, userId: { before: target.userId } },
    });
    return target;
  });
  emitMemberRemoved(ctx, { orgId: actor.orgId, userId: removed.userId, memberId, reason: "removed" });
}
