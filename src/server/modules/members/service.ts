import { and, eq, type SQL, sql } from "drizzle-orm";
import { PermissionSet } from "../../../shared/permissions.js";
import type { UpdateMemberInput } from "../../../shared/schemas/members.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { pgCode, pgConstraint } from "../../db/pg-errors.js";
import { rowsOf } from "../../db/rows.js";
import { memberRoles, memberships, roles, users } from "../../db/schema/index.js";
import { AppError, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { activityInsert, recordActivity } from "../activity/record.js";
import {
  conversationsReleased,
  type ReleasedConversation,
  releaseStatement,
  returnConversationsToQueue,
} from "../conversations/release.js";
import { revokeInvitationsSentBy } from "../invitations/inviter.js";
import { holdsChatRead } from "../roles/object-rules.js";
import { permissionsOfRole, roleIdsOfMember } from "../roles/repo.js";
import { assertNoEscalation, assertOutranksHolders, grantableRoles, resolveGrantableRoles } from "../roles/rules.js";
import { emitMemberRemoved } from "./events.js";
import { type MemberRow, toDto } from "./list.js";
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

/**
 * Edits a member (names, role set). Issue 12 trimmed it from 11 statements to 5 (+1 when names
 * change): BEGIN; the target locked with what its answer shows; the roles it holds and the roles
 * asked for, with their permissions, in one read; the role set changed by its difference in one
 * statement; the activity record; COMMIT. The answer is built from what the transaction wrote
 * instead of read again. Every rule stays, in the same order: owner protected, nothing to change
 * → no write and no record, not one's own roles, outranking the member as they are, unknown
 * roles 400, no escalation; the member_roles trigger retires every instance's cached membership
 * and the write barrier (http/guard.ts) answers after they have.
 */
export async function updateMember(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  memberId: string,
  input: UpdateMemberInput,
): Promise<MemberDto> {
  try {
    return await applyMemberUpdate(ctx, actor, by, memberId, input);
  } catch (err) {
    // A role was deleted between our reading it and writing the assignment (deletion locks the
    // role, so the write waited, then failed on the foreign key): answer as a moment later,
    // 400 unknown_role naming it. The check throws that now that the role is gone.
    if (!(err instanceof AppError) && pgCode(err) === "23503" && pgConstraint(err) === MEMBER_ROLE_FK) {
      await resolveGrantableRoles(ctx.db, actor, input.roleIds ?? []);
    }
    throw err;
  }
}

/** A timestamp as ISO 8601 text: both drivers return the same string (a Date on one, text on the other otherwise). */
const isoText = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const when = (iso: string | null) => (iso === null ? null : new Date(iso));

/**
 * The target locked for the rest of the transaction (removal vs transfer vs edit), with its
 * user's columns: `memberDtoColumns`, in plain SQL (no query builder on every edit; issue 12).
 */
async function lockTargetForEdit(tx: DbOrTx, orgId: string, memberId: string): Promise<MemberRow> {
  const res = await tx.execute(sql`
    select m.id as "memberId", m.user_id as "userId", m.first_name as "firstName", m.last_name as "lastName",
      m.is_owner as "isOwner", ${isoText(sql`m.joined_at`)} as "joinedAt",
      ${isoText(sql`m.last_active_at`)} as "lastActiveAt", u.email, u.picture_url as "pictureUrl",
      ${isoText(sql`u.totp_enabled_at`)} as "totpEnabledAt"
    from ${memberships} m join ${users} u on u.id = m.user_id
    where m.org_id = ${orgId} and m.id = ${memberId}
    for update of m`);
  const [row] = rowsOf<
    Omit<MemberRow, "joinedAt" | "lastActiveAt" | "totpEnabledAt"> & {
      joinedAt: string;
      lastActiveAt: string | null;
      totpEnabledAt: string | null;
    }
  >(res);
  if (!row) throw memberNotFound();
  return {
    ...row,
    joinedAt: new Date(row.joinedAt),
    lastActiveAt: when(row.lastActiveAt),
    totpEnabledAt: when(row.totpEnabledAt),
  };
}

/** A text[] parameter (drizzle spreads a plain array into a list). */
const textArray = (xs: readonly string[]) => sql`${sql.param([...xs])}::text[]`;

/**
 * The roles of the organization the member holds (`held`) or that are asked for, with their
 * permission sets: in one read what `roleIdsOfMember`, `findRoles` (held, for outranking) and
 * `findRoles` (asked, for granting) read in three. Read after the lock: a concurrent edit of
 * the same member has committed by then.
 */
async function heldAndAskedRoles(tx: DbOrTx, orgId: string, memberId: string, asked: readonly string[]) {
  // Plain SQL, not the query builder: built on every role change, inside its transaction (issue 12).
  const res = await tx.execute(sql`
    select r.id, r.is_system as "isSystem", r.permissions, mr.member_id is not null as held
    from ${roles} r
    left join ${memberRoles} mr on mr.org_id = r.org_id and mr.role_id = r.id and mr.member_id = ${memberId}
    where r.org_id = ${orgId} and (mr.member_id is not null or r.id = any(${textArray(asked)}))`);
  const rows = rowsOf<{ id: string; isSystem: boolean; permissions: string[]; held: boolean }>(res);
  return rows.map((r) => ({ id: r.id, held: r.held, permissions: permissionsOfRole(r) }));
}

async function applyMemberUpdate(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  memberId: string,
  input: UpdateMemberInput,
): Promise<MemberDto> {
  const orgId = actor.orgId;
  return ctx.db.transaction(async (tx) => {
    const target = await lockTargetForEdit(tx, orgId, memberId);
    assertNotOwner(target);
    const roleRows = await heldAndAskedRoles(tx, orgId, memberId, input.roleIds ?? []);
    const heldRoles = roleRows.filter((r) => r.held);
    const rolesBefore = heldRoles.map((r) => r.id).sort();
    const rolesChange = input.roleIds !== undefined && !sameRoleSet(rolesBefore, input.roleIds);
    const changes: Record<string, { before: unknown; after: unknown }> = {};
    if (input.firstName !== undefined && input.firstName !== target.firstName)
      changes.firstName = { before: target.firstName, after: input.firstName };
    if (input.lastName !== undefined && input.lastName !== target.lastName)
      changes.lastName = { before: target.lastName, after: input.lastName };
    const detailsChange = Object.keys(changes).length > 0;
    if (!detailsChange && !rolesChange) return toDto(target, rolesBefore); // nothing changes: no write, no record

    if (rolesChange) assertNotOwnRoles(actor.memberId, memberId);
    // Outranking the member as they are (assertOutranksHolders on the roles held).
    assertNoEscalation(
      actor,
      heldRoles.reduce((acc, r) => acc.union(r.permissions), PermissionSet.empty()),
    );
    let rolesAfter = rolesBefore;
    if (rolesChange) {
      rolesAfter = grantableRoles(actor, input.roleIds!, roleRows)
        .map((r) => r.id)
        .sort();
      changes.roleIds = { before: rolesBefore, after: rolesAfter };
    }

    const firstName = input.firstName ?? target.firstName;
    const lastName = input.lastName ?? target.lastName;
    const record = activityInsert(by, {
      orgId,
      // One record per request: both kinds of change together are a member.updated.
      action: detailsChange ? "member.updated" : "member.roles_changed",
      target: { type: "member", id: memberId, label: `${firstName} ${lastName}`.trim() },
      changes,
    });
    if (detailsChange) {
      await tx
        .update(memberships)
        .set({ firstName, lastName })
        .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
    }
    if (!rolesChange) {
      await tx.execute(record);
      return toDto({ ...target, firstName, lastName }, rolesAfter);
    }
    // The set replaced by its difference, the activity record, and (without a chat-read
    // permission now) their open conversations back to the queue: one statement, one round trip
    // (issue 12). The member's next request is authorized with exactly these roles. Whether chat
    // access goes is known from the roles read above, so a change that keeps it touches no
    // conversation.
    const removed = rolesBefore.filter((id) => !rolesAfter.includes(id));
    const added = rolesAfter.filter((id) => !rolesBefore.includes(id));
    const after = roleRows
      .filter((r) => rolesAfter.includes(r.id))
      .reduce((acc, r) => acc.union(r.permissions), PermissionSet.empty());
    const losesChat = !holdsChatRead({ isOwner: false, permissions: after });
    const result = await tx.execute(sql`with removed as (
          delete from ${memberRoles}
          where ${memberRoles.orgId} = ${orgId} and ${memberRoles.memberId} = ${memberId}
            and ${memberRoles.roleId} = any(${textArray(removed)})),
        added as (
          insert into ${memberRoles} (org_id, member_id, role_id)
          select ${orgId}::uuid, ${memberId}::uuid, unnest(${textArray(added)})),
        recorded as (${record})${losesChat ? sql`, released as (${releaseStatement(orgId, memberId)})` : sql``}
      ${
        losesChat
          ? sql`select id, "channelId", "contactId" from released`
          : sql`select null::uuid as id, null::uuid as "channelId", null::uuid as "contactId" where false`
      }`);
    await conversationsReleased(tx, by, orgId, memberId, "lost_chat_access", rowsOf<ReleasedConversation>(result));
    return toDto({ ...target, firstName, lastName }, rolesAfter);
  });
}

export async function removeMember(ctx: AppContext, actor: OrgMember, by: Actor, memberId: string): Promise<void> {
  const removed = await ctx.db.transaction(async (tx) => {
    const target = await lockTarget(tx, actor.orgId, memberId);
    assertNotOwner(target);
    assertNotSelf(actor.memberId, memberId);
    const roleIds = (await roleIdsOfMember(tx, actor.orgId, memberId)).sort();
    await assertOutranks(tx, actor, actor.orgId, roleIds);
    await returnConversationsToQueue(tx, by, actor.orgId, memberId, "removed");
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
