import { and, asc, count, eq, gt, inArray, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client.js";
import { invitations, memberRoles, memberships, organizations } from "../../db/schema/index.js";
import { perDatabase } from "../../http/prepared.js";

export async function getOrg(db: DbOrTx, orgId: string, forUpdate = false) {
  const q = db.select().from(organizations).where(eq(organizations.id, orgId));
  const [row] = forUpdate ? await q.for("update") : await q;
  return row ?? null;
}

/** Seats in use: members plus pending invitations that have not expired. */
export async function seatsUsed(db: DbOrTx, orgId: string): Promise<{ members: number; pending: number }> {
  const [[m], [p]] = await Promise.all([
    db.select({ n: count() }).from(memberships).where(eq(memberships.orgId, orgId)),
    db
      .select({ n: count() })
      .from(invitations)
      .where(
        and(eq(invitations.orgId, orgId), eq(invitations.status, "pending"), gt(invitations.expiresAt, sql`now()`)),
      ),
  ]);
  return { members: Number(m?.n ?? 0), pending: Number(p?.n ?? 0) };
}

/** The organizations a user belongs to, by name then id (keyset after `after`). */
export async function orgsOfUser(
  db: DbOrTx,
  userId: string,
  limit: number,
  after: { name: string; id: string } | null,
) {
  const rows = await db
    .select({ org: organizations, memberId: memberships.id, isOwner: memberships.isOwner })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(
      and(
        eq(memberships.userId, userId),
        after
          ? sql`(lower(${organizations.name}), ${organizations.id}) > (${after.name}, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(sql`lower(${organizations.name})`, asc(organizations.id))
    .limit(limit + 1);
  return rows;
}

/** Role ids held by each of `memberIds` in the organization (members without roles are absent). */
// Prepared (issue 12): the member list asks it on every page.
const roleIdsByMemberQuery = perDatabase((db) =>
  db
    .select({ memberId: memberRoles.memberId, roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(
      and(
        eq(memberRoles.orgId, sql.placeholder("orgId")),
        sql`${memberRoles.memberId} = any(${sql.placeholder("memberIds")}::uuid[])`,
      ),
    )
    .orderBy(memberRoles.roleId)
    .prepare("chorus_role_ids_by_member"),
);

export async function roleIdsByMember(db: DbOrTx, orgId: string, memberIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (memberIds.length === 0) return out;
  const rows = await roleIdsByMemberQuery(db as Db).execute({ orgId, memberIds });
  for (const r of rows) {
    const held = out.get(r.memberId);
    if (held) held.push(r.roleId);
    else out.set(r.memberId, [r.roleId]);
  }
  return out;
}

/** Role ids of a user's memberships, by organization (for the list of their organizations). */
export async function roleIdsOfUserByOrg(db: DbOrTx, userId: string, orgIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (orgIds.length === 0) return out;
  const rows = await db
    .select({ orgId: memberRoles.orgId, roleId: memberRoles.roleId })
    .from(memberships)
    .innerJoin(memberRoles, and(eq(memberRoles.orgId, memberships.orgId), eq(memberRoles.memberId, memberships.id)))
    .where(and(eq(memberships.userId, userId), inArray(memberships.orgId, orgIds)))
    .orderBy(memberRoles.roleId);
  for (const r of rows) out.set(r.orgId, [...(out.get(r.orgId) ?? []), r.roleId]);
  return out;
}
