import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import {
  effectivePermissions,
  PERMISSIONS,
  PermissionSet,
  systemRolePermissions,
} from "../../../shared/permissions.js";
import type { DbOrTx } from "../../db/client.js";
import { invitations, memberRoles, memberships, organizations, roles, users } from "../../db/schema/index.js";
import type { accessReviewMember, accessReviewQuery, accessReviewResponse } from "./schemas.js";

type Member = z.output<typeof accessReviewMember>;
const DAY_MS = 86_400_000;

/**
 * Risk score, 0–100, higher = review first:
 *   50 × (effective permissions / catalogue size)   — what the account could do if taken over
 * + 30 × min(days since last activity, 365) / 365    — unused access that nobody would miss
 * + 20 when the member has no two-factor authentication.
 * "Last activity" is the latest of: a request to the organization, an activity record
 * as actor, a successful sign-in; a member never seen counts from the day they joined.
 */
export function riskScore(m: { permissionCount: number; daysSinceActive: number; twoFactorEnabled: boolean }): number {
  const perms = (50 * m.permissionCount) / PERMISSIONS.length;
  const idle = (30 * Math.min(Math.max(m.daysSinceActive, 0), 365)) / 365;
  return Math.round(perms + idle + (m.twoFactorEnabled ? 0 : 20));
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const latest = (...ds: (Date | null)[]) => ds.reduce<Date | null>((acc, d) => (d && (!acc || d > acc) ? d : acc), null);

export async function accessReview(
  db: DbOrTx,
  orgId: string,
  q: z.output<typeof accessReviewQuery>,
  now = new Date(),
): Promise<z.output<typeof accessReviewResponse>> {
  const [org] = await db
    .select({ requireTwoFactor: organizations.requireTwoFactor })
    .from(organizations)
    .where(eq(organizations.id, orgId));

  const members = await db
    .select({
      memberId: memberships.id,
      userId: memberships.userId,
      firstName: memberships.firstName,
      lastName: memberships.lastName,
      isOwner: memberships.isOwner,
      joinedAt: memberships.joinedAt,
      lastActiveAt: memberships.lastActiveAt,
      email: users.email,
      totpEnabledAt: users.totpEnabledAt,
      // Each is one backward index probe: login_attempts_user_idx, activity_org_actor_idx.
      lastSignInAt: sql<string | null>`(select max(la.at) from login_attempts la
        where la.user_id = ${memberships.userId} and la.success)`,
      lastRecordAt: sql<string | null>`(select max(a.at) from activity a
        where a.org_id = ${memberships.orgId} and a.actor_id = ${memberships.userId})`,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, orgId));

  const held = await db
    .select({
      memberId: memberRoles.memberId,
      roleId: roles.id,
      name: roles.name,
      isSystem: roles.isSystem,
      permissions: roles.permissions,
    })
    .from(memberRoles)
    .innerJoin(roles, and(eq(roles.orgId, memberRoles.orgId), eq(roles.id, memberRoles.roleId)))
    .where(eq(memberRoles.orgId, orgId));
  const rolesOf = new Map<string, typeof held>();
  for (const r of held) rolesOf.set(r.memberId, [...(rolesOf.get(r.memberId) ?? []), r]);

  const requireTwoFactor = org?.requireTwoFactor ?? false;
  const out: Member[] = members.map((m) => {
    const mine = rolesOf.get(m.memberId) ?? [];
    const permissions = effectivePermissions(
      m.isOwner,
      mine.map((r) =>
        r.isSystem ? (systemRolePermissions(r.roleId) ?? PermissionSet.empty()) : PermissionSet.of(r.permissions),
      ),
    );
    const lastSignIn = m.lastSignInAt ? new Date(m.lastSignInAt) : null;
    const lastActive = latest(m.lastActiveAt, m.lastRecordAt ? new Date(m.lastRecordAt) : null);
    const reference = latest(lastActive, lastSignIn) ?? m.joinedAt;
    const daysSinceActive = Math.max(0, Math.floor((now.getTime() - reference.getTime()) / DAY_MS));
    const twoFactorEnabled = m.totpEnabledAt !== null;
    const permissionCount = permissions.size;
    return {
      memberId: m.memberId,
      userId: m.userId,
      name: `${m.firstName} ${m.lastName}`.trim(),
      email: m.email,
      isOwner: m.isOwner,
      roles: mine.map((r) => ({ id: r.roleId, name: r.name })).sort((a, b) => a.name.localeCompare(b.name)),
      permissionCount,
      joinedAt: m.joinedAt.toISOString(),
      lastSignInAt: iso(lastSignIn),
      lastActiveAt: iso(lastActive),
      daysSinceActive,
      inactive: daysSinceActive > q.inactiveDays,
      twoFactorEnabled,
      blockedByTwoFactorPolicy: requireTwoFactor && !twoFactorEnabled,
      riskScore: riskScore({ permissionCount, daysSinceActive, twoFactorEnabled }),
    };
  });

  const byName = (a: Member, b: Member) => a.name.localeCompare(b.name) || a.memberId.localeCompare(b.memberId);
  const sorters: Record<typeof q.sort, (a: Member, b: Member) => number> = {
    risk: (a, b) => b.riskScore - a.riskScore || byName(a, b),
    name: byName,
    // Least recently active first: the stalest access is the one to question.
    lastActive: (a, b) => b.daysSinceActive - a.daysSinceActive || byName(a, b),
  };
  out.sort(sorters[q.sort]);

  const pending = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.status, "pending")))
    .orderBy(invitations.createdAt);

  return {
    generatedAt: now.toISOString(),
    inactiveDays: q.inactiveDays,
    requireTwoFactor,
    permissionCatalogueSize: PERMISSIONS.length,
    members: out,
    pendingInvitations: pending.map((i) => ({
      id: i.id,
      email: i.email,
      name: `${i.firstName} ${i.lastName}`.trim(),
      roleIds: i.roleIds,
      invitedByName: i.invitedByName,
      createdAt: i.createdAt.toISOString(),
      expiresAt: i.expiresAt.toISOString(),
      ageDays: Math.max(0, Math.floor((now.getTime() - i.createdAt.getTime()) / DAY_MS)),
      expired: i.expiresAt.getTime() <= now.getTime(),
    })),
  };
}
