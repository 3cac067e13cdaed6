import { and, asc, eq, getTableColumns, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { OWNER_ONLY_PERMISSIONS } from "../../../shared/permissions.js";
import type { CreateOrgInput, TransferOwnershipInput, UpdateOrgInput } from "../../../shared/schemas/orgs.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { memberRoles, memberships, organizations, roles, teamMembers, teams, users } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor } from "../../http/cursor.js";
import { perDatabase } from "../../http/prepared.js";
import { forbidden, notFound } from "../../http/problem.js";
import type { Actor, AuthUser, OrgMember, SignedIn } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { passedTwoFactor } from "../auth/sessions.js";
import { returnConversationsToQueue } from "../conversations/release.js";
import { revokeInvitationsSentBy } from "../invitations/inviter.js";
import { toLocale } from "../mail/templates.js";
import { emitMemberRemoved } from "../members/events.js";
import { inRolesPageOrder, permissionsOfRole, seedSystemRoles } from "../roles/repo.js";
import { reauthenticate } from "./reauth.js";
import { getOrg, orgsOfUser, roleIdsOfUserByOrg, seatsUsed } from "./repo.js";
import {
  assertCanLeave,
  assertMayChangeFields,
  assertTransferTarget,
  assertTwoFactorPolicyKeepsAuthorIn,
} from "./rules.js";
import { orgDto } from "./schemas.js";

const orgNotFound = () => notFound("organization", "org_not_found");

export async function createOrg(ctx: AppContext, user: AuthUser, by: Actor, input: CreateOrgInput) {
  return ctx.db.transaction(async (tx) => {
    const [org] = await tx
      .insert(organizations)
      .values({
        name: input.name,
        logoUrl: input.logoUrl ?? null,
        defaultLanguage: input.defaultLanguage ?? user.language ?? "en",
        timezone: input.timezone ?? "UTC",
      })
      .returning();
    const created = org!;
    await seedSystemRoles(tx, created.id);
    const [m] = await tx
      .insert(memberships)
      .values({ orgId: created.id, userId: user.id, isOwner: true, firstName: user.firstName, lastName: user.lastName })
      .returning({ id: memberships.id });
    await recordActivity(tx, by, {
      orgId: created.id,
      action: "org.created",
      target: { type: "organization", id: created.id, label: created.name },
      changes: asCreated({ name: created.name, defaultLanguage: created.defaultLanguage, timezone: created.timezone }),
    });
    return { ...orgDto(created), membership: { memberId: m!.id, isOwner: true, roleIds: [] as string[] } };
  });
}

const orgCursor = z.object({ n: z.string(), id: z.uuid() });

export async function listMyOrgs(ctx: AppContext, userId: string, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor, orgCursor);
  const rows = await orgsOfUser(ctx.db, userId, limit, after ? { name: after.n, id: after.id } : null);
  const page = rows.slice(0, limit);
  const roleIds = await roleIdsOfUserByOrg(
    ctx.db,
    userId,
    page.map((r) => r.org.id),
  );
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      ...orgDto(r.org),
      membership: { memberId: r.memberId, isOwner: r.isOwner, roleIds: roleIds.get(r.org.id) ?? [] },
    })),
    nextCursor: rows.length > limit && last ? encodeCursor({ n: last.org.name.toLowerCase(), id: last.org.id }) : null,
  };
}

export async function getOrgDetail(ctx: AppContext, orgId: string) {
  const org = await getOrg(ctx.db, orgId);
  if (!org) throw orgNotFound();
  const seats = await seatsUsed(ctx.db, orgId);
  return { ...orgDto(org), memberCount: seats.members, pendingInvitationCount: seats.pending };
}

export async function updateOrg(ctx: AppContext, member: OrgMember, auth: SignedIn, by: Actor, input: UpdateOrgInput) {
  // The author's session must pass the rule it turns on, or its next request is refused.
  assertTwoFactorPolicyKeepsAuthorIn(input.requireTwoFactor, passedTwoFactor(auth));
  return ctx.db.transaction(async (tx) => {
    const org = await getOrg(tx, member.orgId, true);
    if (!org) throw orgNotFound();
    const changes = diff(
      {
        name: org.name,
        logoUrl: org.logoUrl,
        defaultLanguage: org.defaultLanguage,
        timezone: org.timezone,
        requireTwoFactor: org.requireTwoFactor,
        memberLimit: org.memberLimit,
      },
      input,
    );
    if (!changes) return orgDto(org); // nothing changes: no write, no record
    // Only fields that change need their permission: a form sending the limit as it is passes.
    assertMayChangeFields(member, Object.keys(changes));
    const [updated] = await tx
      .update(organizations)
      .set({ ...input, updatedAt: sql`now()` })
      .where(eq(organizations.id, member.orgId))
      .returning();
    await recordActivity(tx, by, {
      orgId: member.orgId,
      action: "org.updated",
      target: { type: "organization", id: member.orgId, label: updated!.name },
      changes,
    });
    return orgDto(updated!);
  });
}

export async function deleteOrg(
  ctx: AppContext,
  member: OrgMember,
  input: { password: string; code?: string | undefined },
): Promise<void> {
  await reauthenticate(ctx, member.userId, input);
  const removed = await ctx.db.transaction(async (tx) => {
    // Locks the organization: invitations and joins wait, then find it gone.
    const org = await getOrg(tx, member.orgId, true);
    if (!org) throw orgNotFound();
    const people = await tx
      .select({ userId: memberships.userId, memberId: memberships.id })
      .from(memberships)
      .where(eq(memberships.orgId, member.orgId));
    // Everything of the organization goes with it (ON DELETE CASCADE), its activity log included.
    await tx.delete(organizations).where(eq(organizations.id, member.orgId));
    return people;
  });
  for (const p of removed) {
    emitMemberRemoved(ctx, {
      orgId: member.orgId,
      userId: p.userId,
      memberId: p.memberId,
      reason: "organization_deleted",
    });
  }
}

/**
 * Everything `GET /orgs/:orgId/me` reads, in one prepared statement (issue 12: the page load of
 * every screen asks it): the organization, when the member joined, every role of the
 * organization (held ones and grantable ones are picked from them) and the member's teams.
 */
const orgMeQuery = perDatabase((db) =>
  db
    .select({
      org: getTableColumns(organizations),
      joinedAt: memberships.joinedAt,
      roles: sql<{ id: string; name: string; isSystem: boolean; permissions: string[] }[] | null>`(
        select json_agg(json_build_object('id', r.id, 'name', r.name, 'isSystem', r.is_system, 'permissions', r.permissions)
          order by r.is_system desc, lower(r.name))
        from ${roles} r where r.org_id = ${organizations.id})`,
      teams: sql<{ id: string; name: string }[] | null>`(
        select json_agg(json_build_object('id', t.id, 'name', t.name) order by lower(t.name), t.id)
        from ${teamMembers} tm join ${teams} t on t.org_id = tm.org_id and t.id = tm.team_id
        where tm.org_id = ${organizations.id} and tm.member_id = ${sql.placeholder("memberId")})`,
    })
    .from(organizations)
    .leftJoin(
      memberships,
      and(eq(memberships.orgId, organizations.id), eq(memberships.id, sql.placeholder("memberId"))),
    )
    .where(eq(organizations.id, sql.placeholder("orgId")))
    .prepare("chorus_org_me"),
);

export async function orgMe(ctx: AppContext, member: OrgMember, auth: SignedIn) {
  const [row] = await orgMeQuery(ctx.db).execute({ orgId: member.orgId, memberId: member.memberId });
  if (!row) throw orgNotFound();
  const org = row.org;
  const allRoles = row.roles ?? [];
  const permissions: string[] = member.permissions.toArray();
  if (member.isOwner) permissions.push(...OWNER_ONLY_PERMISSIONS);
  return {
    organization: orgDto(org),
    memberId: member.memberId,
    userId: member.userId,
    firstName: member.firstName,
    lastName: member.lastName,
    isOwner: member.isOwner,
    roleIds: [...member.roleIds].sort(),
    roles: allRoles
      .filter((r) => member.roleIds.includes(r.id))
      .map((r) => ({ id: r.id, name: r.name, isSystem: r.isSystem }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    // The rule of roles/rules.ts (no escalation, outranking), asked per role: listed in the roles page's order.
    grantableRoles: inRolesPageOrder(allRoles)
      .filter((r) => permissionsOfRole(r).missingFrom(member.permissions).length === 0)
      .map((r) => ({ id: r.id, name: r.name, isSystem: r.isSystem })),
    permissions,
    joinedAt: (row.joinedAt ?? new Date()).toISOString(),
    teams: row.teams ?? [],
    twoFactorBlocked: org.requireTwoFactor && !passedTwoFactor(auth),
  };
}

/** Locks the membership row of `memberId` in the organization (or null when it is gone). */
async function lockMembership(tx: DbOrTx, orgId: string, memberId: string) {
  const [row] = await tx
    .select()
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)))
    .for("update");
  return row ?? null;
}

export async function leaveOrg(ctx: AppContext, member: OrgMember, by: Actor): Promise<void> {
  assertCanLeave(member);
  const left = await ctx.db.transaction(async (tx) => {
    const row = await lockMembership(tx, member.orgId, member.memberId);
    if (!row) throw orgNotFound();
    // Ownership may have been handed to this member after the request was authorized.
    assertCanLeave(row);
    const held = await tx
      .select({ roleId: memberRoles.roleId })
      .from(memberRoles)
      .where(and(eq(memberRoles.orgId, member.orgId), eq(memberRoles.memberId, member.memberId)));
    await returnConversationsToQueue(tx, by, member.orgId, member.memberId, "left");
    await tx.delete(memberships).where(and(eq(memberships.orgId, member.orgId), eq(memberships.id, member.memberId)));
    await revokeInvitationsSentBy(tx, by, member.orgId, row.userId, "inviter_left");
    await recordActivity(tx, by, {
      orgId: member.orgId,
      action: "member.left",
      target: { type: "member", id: member.memberId, label: `${row.firstName} ${row.lastName}`.trim() },
      changes: { roleIds: { before: held.map((r) => r.roleId).sort() } },
    });
    return row;
  });
  emitMemberRemoved(ctx, { orgId: member.orgId, userId: left.userId, memberId: left.id, reason: "left" });
}

/**
 * Atomic swap of the owner flag. Every membership row of the organization is locked (in id
 * order, so concurrent transfers queue instead of deadlocking) and the facts are re-read
 * under the lock: a second transfer finds its author no longer owner, a removal racing the
 * transfer either removes the target first (404 here) or finds it owner (403 there). The
 * partial unique index is the last line: two owners cannot be committed.
 */
export async function transferOwnership(ctx: AppContext, member: OrgMember, by: Actor, input: TransferOwnershipInput) {
  assertTransferTarget(member.memberId, input.memberId);
  await reauthenticate(ctx, member.userId, input);
  return ctx.db.transaction(async (tx) => {
    const org = await getOrg(tx, member.orgId);
    if (!org) throw orgNotFound();
    const rows = await tx
      .select({ id: memberships.id, userId: memberships.userId, isOwner: memberships.isOwner })
      .from(memberships)
      .where(eq(memberships.orgId, member.orgId))
      .orderBy(asc(memberships.id))
      .for("update");
    const me = rows.find((r) => r.id === member.memberId);
    if (!me?.isOwner) throw forbidden("owner_only", "Only the organization owner can do this.");
    const target = rows.find((r) => r.id === input.memberId);
    if (!target) throw notFound("member", "member_not_found");

    // Unset first: the one-owner index never sees two owners, even inside the transaction.
    await tx
      .update(memberships)
      .set({ isOwner: false })
      .where(and(eq(memberships.orgId, member.orgId), eq(memberships.id, me.id)));
    await tx
      .update(memberships)
      .set({ isOwner: true })
      .where(and(eq(memberships.orgId, member.orgId), eq(memberships.id, target.id)));
    // The old owner stays in charge as an Administrator.
    await tx
      .insert(memberRoles)
      .values({ orgId: member.orgId, memberId: me.id, roleId: "administrator" })
      .onConflictDoNothing();

    const people = await tx
      .select({
        memberId: memberships.id,
        firstName: memberships.firstName,
        lastName: memberships.lastName,
        email: users.email,
        language: users.language,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, member.orgId), inArray(memberships.id, [me.id, target.id])));
    const oldOwner = people.find((p) => p.memberId === me.id)!;
    const newOwner = people.find((p) => p.memberId === target.id)!;
    const newOwnerName = `${newOwner.firstName} ${newOwner.lastName}`.trim();
    await recordActivity(tx, by, {
      orgId: member.orgId,
      action: "ownership.transferred",
      target: { type: "member", id: target.id, label: newOwnerName },
      changes: {
        ownerMemberId: { before: me.id, after: target.id },
        previousOwnerRoles: { after: ["administrator"] },
      },
    });
    for (const p of [oldOwner, newOwner]) {
      await ctx.outbox.enqueue(tx, {
        to: p.email,
        template: "ownershipTransferred",
        locale: toLocale(p.language),
        orgId: member.orgId,
        data: { firstName: p.firstName, orgName: org.name, newOwnerName, youAreNewOwner: p === newOwner },
      });
    }
    return { previousOwnerMemberId: me.id, newOwnerMemberId: target.id };
  });
}
