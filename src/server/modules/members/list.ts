import { and, asc, desc, eq, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { hasNul } from "../../../shared/schemas/common.js";
import { INACTIVE_AFTER_DAYS, type ListMembersQuery, MEMBER_SORTS } from "../../../shared/schemas/members.js";
import type { DbOrTx } from "../../db/client.js";
import { memberRoles, memberships, users } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, isPgTimestampText } from "../../http/cursor.js";
import { badRequest } from "../../http/problem.js";
import { roleIdsByMember } from "../orgs/repo.js";
import type { MemberDto } from "./schemas.js";

const memberColumns = {
  memberId: memberships.id,
  userId: memberships.userId,
  firstName: memberships.firstName,
  lastName: memberships.lastName,
  isOwner: memberships.isOwner,
  joinedAt: memberships.joinedAt,
  lastActiveAt: memberships.lastActiveAt,
  email: users.email,
  pictureUrl: users.pictureUrl,
  totpEnabledAt: users.totpEnabledAt,
};

type MemberRow = {
  memberId: string;
  userId: string;
  firstName: string;
  lastName: string;
  isOwner: boolean;
  joinedAt: Date;
  lastActiveAt: Date | null;
  email: string;
  pictureUrl: string | null;
  totpEnabledAt: Date | null;
};

function toDto(r: MemberRow, roleIds: string[]): MemberDto {
  return {
    memberId: r.memberId,
    userId: r.userId,
    firstName: r.firstName,
    lastName: r.lastName,
    name: `${r.firstName} ${r.lastName}`.trim(),
    email: r.email,
    pictureUrl: r.pictureUrl,
    roleIds,
    isOwner: r.isOwner,
    twoFactorEnabled: r.totpEnabledAt !== null,
    joinedAt: r.joinedAt.toISOString(),
    lastActiveAt: r.lastActiveAt?.toISOString() ?? null,
  };
}

/**
 * Sort keys, each matching an index of memberships (org_id first): name A→Z, joined newest
 * first, last active most recent first with never-active members last. The key travels in
 * the cursor as PostgreSQL text, so timestamps keep their microseconds.
 */
const SORTS = {
  name: { key: sql`lower(${memberships.firstName} || ' ' || ${memberships.lastName})`, dir: "asc", cast: sql`text` },
  joined: { key: sql`${memberships.joinedAt}`, dir: "desc", cast: sql`timestamptz` },
  lastActive: {
    key: sql`coalesce(${memberships.lastActiveAt}, '-infinity'::timestamptz)`,
    dir: "desc",
    cast: sql`timestamptz`,
  },
} as const;

/** The sort travels in the cursor: a cursor of one sort given with another cannot be read as its key. */
const cursorSchema = z
  .object({ s: z.enum(MEMBER_SORTS), k: z.string().max(500), id: z.uuid() })
  .refine((c) => !hasNul(c.k))
  .refine((c) => c.s === "name" || isPgTimestampText(c.k));

/** `%`, `_` and `\` typed by a user are literal characters in the search, not wildcards. */
const likePattern = (q: string) => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listMembers(
  db: DbOrTx,
  orgId: string,
  query: ListMembersQuery,
): Promise<{ items: MemberDto[]; nextCursor: string | null }> {
  const sort = SORTS[query.sort];
  const after = decodeCursor(query.cursor, cursorSchema);
  if (after && after.s !== query.sort) {
    throw badRequest("invalid_cursor", "The cursor belongs to another sort order; start again without it.", [
      { path: "cursor", message: "Invalid cursor.", in: "query" },
    ]);
  }
  const conditions: (SQL | undefined)[] = [eq(memberships.orgId, orgId)];
  if (query.q) {
    const p = likePattern(query.q);
    conditions.push(
      sql`(lower(${memberships.firstName} || ' ' || ${memberships.lastName}) like ${p} or ${users.email} like ${p})`,
    );
  }
  if (query.roleId) {
    conditions.push(
      sql`exists (select 1 from ${memberRoles} where ${memberRoles.orgId} = ${orgId}
            and ${memberRoles.memberId} = ${memberships.id} and ${memberRoles.roleId} = ${query.roleId})`,
    );
  }
  if (query.status) {
    const seen = sql`coalesce(${memberships.lastActiveAt}, ${memberships.joinedAt})`;
    const since = sql`now() - make_interval(days => ${INACTIVE_AFTER_DAYS})`;
    conditions.push(query.status === "active" ? sql`${seen} >= ${since}` : sql`${seen} < ${since}`);
  }
  if (after) {
    const op = sort.dir === "asc" ? sql`>` : sql`<`;
    conditions.push(sql`(${sort.key}, ${memberships.id}) ${op} (${after.k}::${sort.cast}, ${after.id}::uuid)`);
  }
  const order = sort.dir === "asc" ? [asc(sort.key), asc(memberships.id)] : [desc(sort.key), desc(memberships.id)];
  const rows = await db
    .select({ ...memberColumns, sortKey: sql<string>`(${sort.key})::text` })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(...conditions))
    .orderBy(...order)
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const roles = await roleIdsByMember(
    db,
    orgId,
    page.map((r) => r.memberId),
  );
  const last = page.at(-1);
  return {
    items: page.map((r) => toDto(r, roles.get(r.memberId) ?? [])),
    nextCursor:
      rows.length > query.limit && last ? encodeCursor({ s: query.sort, k: last.sortKey, id: last.memberId }) : null,
  };
}

export async function getMember(db: DbOrTx, orgId: string, memberId: string): Promise<MemberDto | null> {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
  if (!row) return null;
  const roles = await roleIdsByMember(db, orgId, [memberId]);
  return toDto(row, roles.get(memberId) ?? []);
}
