import { and, eq, inArray, isNull, or, type SQL } from "drizzle-orm";
import { PermissionSet } from "../../../shared/permissions.js";
import type { DbOrTx } from "../../db/client.js";
import { conversations, memberRoles, memberships } from "../../db/schema/index.js";
import { conversationVisibility, type InboxRuleSettings, type RuleMember } from "../roles/object-rules.js";
import { findRoles } from "../roles/repo.js";
import { getWorkspaceSettings } from "../settings/service.js";

/**
 * The one place the inbox turns DESIGN §7.3 into SQL: every conversation query (list, single
 * reads, writes) goes through `visibleWhere`, built from `conversationVisibility`
 * (roles/object-rules.ts), so a list never shows what a single read would refuse.
 */

/** The organization's inbox settings, from its workspace settings (off until an admin turns it on). */
export async function inboxSettings(db: DbOrTx, orgId: string): Promise<InboxRuleSettings> {
  const { operatorsSeeUnassigned } = await getWorkspaceSettings(db, orgId);
  return { operatorsSeeUnassigned };
}

/**
 * The WHERE clause of what `member` may see, or null when nothing. Always with the org id,
 * which leads every conversation index.
 */
export function visibleWhere(member: RuleMember & { orgId: string }, settings: InboxRuleSettings): SQL | null {
  const org = eq(conversations.orgId, member.orgId);
  const v = conversationVisibility(member, settings);
  switch (v.kind) {
    case "all":
      return org;
    case "assignedTo": {
      const mine = eq(conversations.assigneeMemberId, v.memberId);
      return and(org, v.orUnassigned ? or(mine, isNull(conversations.assigneeMemberId)) : mine) ?? null;
    }
    default:
      return null;
  }
}

/** Effective permissions of members (the owner holds all), for assignment targets. */
export async function memberAccessOf(
  db: DbOrTx,
  orgId: string,
  memberIds: readonly string[],
): Promise<Map<string, { isOwner: boolean; permissions: PermissionSet; name: string }>> {
  const out = new Map<string, { isOwner: boolean; permissions: PermissionSet; name: string }>();
  if (memberIds.length === 0) return out;
  const rows = await db
    .select({
      id: memberships.id,
      isOwner: memberships.isOwner,
      firstName: memberships.firstName,
      lastName: memberships.lastName,
    })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), inArray(memberships.id, [...memberIds])));
  const held = await db
    .select({ memberId: memberRoles.memberId, roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(and(eq(memberRoles.orgId, orgId), inArray(memberRoles.memberId, [...memberIds])));
  const roles = new Map((await findRoles(db, orgId, [...new Set(held.map((h) => h.roleId))])).map((r) => [r.id, r]));
  for (const r of rows) {
    let permissions = r.isOwner ? PermissionSet.all() : PermissionSet.empty();
    for (const h of held) {
      const role = h.memberId === r.id ? roles.get(h.roleId) : undefined;
      if (role) permissions = permissions.union(role.permissions);
    }
    out.set(r.id, { isOwner: r.isOwner, permissions, name: `${r.firstName} ${r.lastName}`.trim() });
  }
  return out;
}
