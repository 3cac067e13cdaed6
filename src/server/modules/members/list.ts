import { and, asc, desc, eq, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { hasNul } from "../../../shared/schemas/common.js";
import { INACTIVE_AFTER_DAYS, type ListMembersQuery, MEMBER_SORTS } from "../../../shared/schemas/members.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { memberRoles, memberships, teamMembers, users } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, isPgTimestampText } from "../../http/cursor.js";
import { perDatabase } from "../../http/prepared.js";
import { badRequest } from "../../http/problem.js";
import { roleIdsByMember } from "../orgs/repo.js";
import type { MemberDto } from "./schemas.js";

/** The columns of a member's answer (`toDto`); memberships ⋈ users. */
export const memberDtoColumns = {
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

export type MemberRow = {
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

export function toDto(r: MemberRow, roleIds: string[]): MemberDto {
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

type ListFilters = Pick<ListMembersQuery, "sort" | "q" | "roleId" | "teamId" | "status" | "twoFactor"> & {
  after: boolean;
};

/**
 * One prepared statement per shape of the list query (sort × which filters × cursor or not: at most
 * 288, each built on first use), its values as placeholders: a page costs no query building (issue
 * 12). Each shape stays the plain query its index serves (no `$x is null or …` generic plan).
 */
const pageQueries = perDatabase((db) => {
  const built = new Map<string, ReturnType<typeof buildPageQuery>>();
  return (f: ListFilters) => {
    const key = `${f.sort}:${f.q ? "q" : ""}:${f.roleId ? "r" : ""}:${f.teamId ? "t" : ""}:${f.status ?? ""}:${f.twoFactor ?? ""}:${f.after ? "a" : ""}`;
    let q = built.get(key);
    if (!q) {
      q = buildPageQuery(db, f, `chorus_members_${key.replaceAll(":", "_")}`);
      built.set(key, q);
    }
    return q;
  };
});

function buildPageQuery(db: Db, f: ListFilters, name: string) {
  const sort = SORTS[f.sort];
  const orgId = sql.placeholder("orgId");
  const conditions: (SQL | undefined)[] = [eq(memberships.orgId, orgId)];
  if (f.q) {
    const p = sql.placeholder("pattern");
    conditions.push(
      sql`(lower(${memberships.firstName} || ' ' || ${memberships.lastName}) like ${p} or ${users.email} like ${p})`,
    );
  }
  if (f.roleId) {
    conditions.push(
      sql`exists (select 1 from ${memberRoles} where ${memberRoles.orgId} = ${orgId}
            and ${memberRoles.memberId} = ${memberships.id} and ${memberRoles.roleId} = ${sql.placeholder("roleId")})`,
    );
  }
  if (f.teamId) {
    conditions.push(
      sql`exists (select 1 from ${teamMembers} where ${teamMembers.orgId} = ${orgId}
            and ${teamMembers.memberId} = ${memberships.id} and ${teamMembers.teamId} = ${sql.placeholder("teamId")})`,
    );
  }
  if (f.status) {
    const seen = sql`coalesce(${memberships.lastActiveAt}, ${memberships.joinedAt})`;
    const since = sql`now() - make_interval(days => ${sql.raw(String(INACTIVE_AFTER_DAYS))})`;
    conditions.push(f.status === "active" ? sql`${seen} >= ${since}` : sql`${seen} < ${since}`);
  }
  if (f.twoFactor) conditions.push(f.twoFactor === "on" ? isNotNull(users.totpEnabledAt) : isNull(users.totpEnabledAt));
  if (f.after) {
    const op = sort.dir === "asc" ? sql`>` : sql`<`;
    conditions.push(
      sql`(${sort.key}, ${memberships.id}) ${op} (${sql.placeholder("afterKey")}::${sort.cast}, ${sql.placeholder("afterId")}::uuid)`,
    );
  }
  const order = sort.dir === "asc" ? [asc(sort.key), asc(memberships.id)] : [desc(sort.key), desc(memberships.id)];
  return db
    .select({ ...memberDtoColumns, sortKey: sql<string>`(${sort.key})::text` })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(...conditions))
    .orderBy(...order)
    .limit(sql.placeholder("limit"))
    .prepare(name);
}

export async function listMembers(
  db: Db,
  orgId: string,
  query: ListMembersQuery,
): Promise<{ items: MemberDto[]; nextCursor: string | null }> {
  const after = decodeCursor(query.cursor, cursorSchema);
  if (after && after.s !== query.sort) {
    throw badRequest("invalid_cursor", "The cursor belongs to another sort order; start again without it.", [
      { path: "cursor", message: "Invalid cursor.", in: "query" },
    ]);
  }
  const page$ = pageQueries(db)({
    sort: query.sort,
    q: query.q,
    roleId: query.roleId,
    teamId: query.teamId,
    status: query.status,
    twoFactor: query.twoFactor,
    after: !!after,
  });
  const rows = await page$.execute({
    orgId,
    limit: query.limit + 1,
    ...(query.q ? { pattern: likePattern(query.q) } : {}),
    ...(query.roleId ? { roleId: query.roleId } : {}),
    ...(query.teamId ? { teamId: query.teamId } : {}),
    ...(after ? { afterKey: after.k, afterId: after.id } : {}),
  });
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
    .select(memberDtoColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
  if (!row) return null;
  const roles = await roleIdsByMember(db, orgId, [memberId]);
  return toDto(row, roles.get(memberId) ?? []);
}
