import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { z } from "zod";
import { resolveNotificationPreferences } from "../../../shared/notifications.js";
import type { updateMeBody } from "../../../shared/schemas/me.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { memberRoles, memberships, organizations, recoveryCodes, users } from "../../db/schema/index.js";
import { notFound } from "../../http/problem.js";
import { toUserDto } from "../auth/schemas.js";
import type { MeDto } from "./schemas.js";

export async function getMe(db: DbOrTx, userId: string): Promise<MeDto> {
  const [user] = await db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw notFound("user", "user_not_found");
  const [remaining] = user.totpEnabledAt
    ? await db
        .select({ n: sql<number>`count(*)::int` })
        .from(recoveryCodes)
        .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
    : [null];
  return {
    ...toUserDto(user),
    notificationPreferences: resolveNotificationPreferences(user.notificationPrefs),
    recoveryCodesRemaining: remaining ? remaining.n : null,
    memberships: await membershipsOf(db, userId),
  };
}

async function membershipsOf(db: DbOrTx, userId: string): Promise<MeDto["memberships"]> {
  const rows = await db
    .select({
      orgId: memberships.orgId,
      orgName: organizations.name,
      memberId: memberships.id,
      isOwner: memberships.isOwner,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(eq(memberships.userId, userId))
    .orderBy(organizations.name, memberships.orgId);
  if (rows.length === 0) return [];
  const roles = await db
    .select({ orgId: memberRoles.orgId, memberId: memberRoles.memberId, roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(
      and(
        inArray(
          memberRoles.orgId,
          rows.map((r) => r.orgId),
        ),
        inArray(
          memberRoles.memberId,
          rows.map((r) => r.memberId),
        ),
      ),
    );
  return rows.map((r) => ({
    ...r,
    roleIds: roles
      .filter((x) => x.orgId === r.orgId && x.memberId === r.memberId)
      .map((x) => x.roleId)
      .sort(),
  }));
}

export async function updateMe(db: Db, userId: string, patch: z.output<typeof updateMeBody>): Promise<void> {
  await db.transaction(async (tx) => {
    const [user] = await tx
      .select({ prefs: users.notificationPrefs })
      .from(users)
      .where(eq(users.id, userId))
      .for("update")
      .limit(1);
    if (!user) throw notFound("user", "user_not_found");
    const { notificationPreferences, ...profile } = patch;
    // Stored whole per kind once touched, so a later change of defaults does not flip a choice made here.
    const current = resolveNotificationPreferences(user.prefs);
    const prefs = { ...user.prefs };
    for (const [kind, channels] of Object.entries(notificationPreferences ?? {})) {
      prefs[kind] = { ...current[kind as keyof typeof current], ...channels };
    }
    await tx
      .update(users)
      .set({ ...profile, notificationPrefs: prefs, updatedAt: sql`now()` })
      .where(eq(users.id, userId));
  });
}
