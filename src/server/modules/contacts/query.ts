import { and, asc, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { hasNul } from "../../../shared/schemas/common.js";
import { CONTACT_SORTS, type ContactFilter, type ListContactsQuery } from "../../../shared/schemas/contacts.js";
import type { DbOrTx } from "../../db/client.js";
import { contacts, contactTags, listContacts } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, isPgTimestampText } from "../../http/cursor.js";
import { badRequest } from "../../http/problem.js";
import type { ContactDto } from "./schemas.js";

export type ContactRow = typeof contacts.$inferSelect;

/** The name's sort and search key: the expression of contacts_org_name_idx (collation "C"). */
const NAME_KEY = sql`lower(coalesce(${contacts.name}, '')) collate "C"`;

/** `%`, `_` and `\` typed by a user are literal characters, not wildcards. */
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * What a search text means: digits (spaces, dots, dashes and parentheses dropped; a leading
 * `+` or `00` optional) search the phone by prefix, since every stored phone is `+` and digits;
 * anything else searches the name by prefix, case-insensitively. Both are index range scans
 * (contacts_org_phone_search_idx, text_pattern_ops; contacts_org_name_idx and
 * contacts_org_name_search_idx, collation "C").
 */
export function searchCondition(q: string): SQL | null {
  return searchOf(q)?.where ?? null;
}

/**
 * The search's condition, and the order of its index (the selectivity probe orders by it, so the
 * planner counts the matches through the index instead of scanning the table until it has seen
 * enough of them). Phone prefixes are a range in text_pattern_ops order (`~>=~`, `~<~`): every
 * stored phone is `+` and digits, and `:` follows `9`.
 */
function searchOf(q: string): { where: SQL; indexOrder: SQL } | null {
  const text = q.trim();
  if (!text) return null;
  const compact = text.replace(/[\s.()-]/g, "");
  const digits = /^(?:\+|00)?(\d+)$/.exec(compact);
  if (digits) {
    const prefix = `+${digits[1]}`;
    return {
      where: sql`${contacts.phone} ~>=~ ${prefix} and ${contacts.phone} ~<~ ${`${prefix}:`}`,
      indexOrder: sql`${contacts.phone} using ~<~`,
    };
  }
  return { where: sql`${NAME_KEY} like ${`${escapeLike(text.toLowerCase())}%`}`, indexOrder: NAME_KEY };
}

/** The conditions of a filter, organization first. */
export function filterWhere(orgId: string, f: ContactFilter): SQL[] {
  const out: SQL[] = [eq(contacts.orgId, orgId)];
  const search = f.q ? searchCondition(f.q) : null;
  if (search) out.push(search);
  if (f.tagId) {
    out.push(sql`exists (select 1 from ${contactTags} where ${contactTags.orgId} = ${orgId}
      and ${contactTags.tagId} = ${f.tagId} and ${contactTags.contactId} = ${contacts.id})`);
  }
  if (f.listId) {
    out.push(sql`exists (select 1 from ${listContacts} where ${listContacts.orgId} = ${orgId}
      and ${listContacts.listId} = ${f.listId} and ${listContacts.contactId} = ${contacts.id})`);
  }
  return out;
}

/**
 * Sort keys, each the expression of an index of contacts (org_id first, id last) so a page is
 * an index range scan: created newest first, name A→Z (no name first), last message most
 * recent first with never-messaged contacts last. The key travels in the cursor as text.
 */
const TEXT = sql`text`;
const TIMESTAMPTZ = sql`timestamptz`;
const SORTS = {
  created: { key: sql`${contacts.createdAt}`, dir: "desc", cast: TIMESTAMPTZ },
  name: { key: NAME_KEY, dir: "asc", cast: TEXT },
  lastMessage: {
    key: sql`coalesce(${contacts.lastMessageAt}, '-infinity'::timestamptz)`,
    dir: "desc",
    cast: TIMESTAMPTZ,
  },
} as const;
type Sort = keyof typeof SORTS;

const cursorSchema = z
  .object({ s: z.enum(CONTACT_SORTS), k: z.string().max(800), id: z.uuid() })
  .refine((c) => !hasNul(c.k))
  .refine((c) => c.s === "name" || isPgTimestampText(c.k));
type Cursor = z.output<typeof cursorSchema>;

function afterCondition(key: SQL, sort: Sort, after: Cursor): SQL {
  const s = SORTS[sort];
  const op = s.dir === "asc" ? sql`>` : sql`<`;
  return sql`(${key}, ${contacts.id}) ${op} (${after.k}::${s.cast}, ${after.id}::uuid)`;
}

/**
 * How a page is found. Walking the sort order's index and filtering finds a page fast when
 * matches are dense and spread out, which is what the planner assumes; when a selective search
 * matches contacts at the far end of that order (a phone prefix of the oldest contacts) it
 * reads most of the organization: 976 ms p95 at 1,000,000 contacts. So each filter is first
 * counted, up to a bound, through its own index (index-only, a millisecond or two); when one is
 * under its bound, the matches are ranked by an expression no index orders (`key + interval
 * '0'`, `key || ''`) and only the page's rows are read. A phone or name search ranks up to
 * SEARCH_RANK_LIMIT matches inside its index (INCLUDE columns, migration 0006); a tag or list
 * reads each match's row, so its bound is lower.
 */
export const SEARCH_RANK_LIMIT = 20_000;
/**
 * Walking the sort order reads about page / density rows to fill a page; ranking reads each match.
 * The two cost the same near matches = sqrt(page × contacts): 5,000 for a page of 25 among
 * 1,000,000. At 1,000 a tag on 0.1 % of a million contacts (exactly 1,000) walked: 71 ms p95, 166
 * ms sorted by name (`npm run bench contacts`).
 */
export const MEMBERSHIP_RANK_LIMIT = 5_000;

const countUpTo = async (db: DbOrTx, from: SQL, bound: number): Promise<number> => {
  const res = await db.execute(sql`select count(*)::int as n from (select 1 ${from} limit ${bound}) s`);
  return Number((res as unknown as { rows: { n: number }[] }).rows[0]?.n ?? 0);
};

/** True when one of the filters matches fewer contacts than its bound. */
async function selective(db: DbOrTx, orgId: string, f: ContactFilter): Promise<boolean> {
  const search = f.q ? searchOf(f.q) : null;
  const probes: [SQL, number][] = [];
  if (search) {
    probes.push([
      sql`from ${contacts} where ${contacts.orgId} = ${orgId} and ${search.where} order by ${search.indexOrder}`,
      SEARCH_RANK_LIMIT,
    ]);
  }
  if (f.tagId) {
    probes.push([
      sql`from ${contactTags} where ${contactTags.orgId} = ${orgId} and ${contactTags.tagId} = ${f.tagId}`,
      MEMBERSHIP_RANK_LIMIT,
    ]);
  }
  if (f.listId) {
    probes.push([
      sql`from ${listContacts} where ${listContacts.orgId} = ${orgId} and ${listContacts.listId} = ${f.listId}`,
      MEMBERSHIP_RANK_LIMIT,
    ]);
  }
  for (const [from, bound] of probes) if ((await countUpTo(db, from, bound)) < bound) return true;
  return false;
}

/** The same order, as an expression no index matches: the planner must use the filter's index. */
function unindexed(sort: Sort): SQL {
  const s = SORTS[sort];
  return s.cast === TEXT ? sql`(${s.key} || '')` : sql`(${s.key} + interval '0')`;
}

/** One page of contacts in `sort` order after `after`: rows with their sort key as text. */
export async function contactPage(
  db: DbOrTx,
  orgId: string,
  f: ContactFilter,
  sort: Sort,
  after: Cursor | null,
  limit: number,
) {
  const s = SORTS[sort];
  const order = (key: SQL) => (s.dir === "asc" ? [asc(key), asc(contacts.id)] : [desc(key), desc(contacts.id)]);
  const columns = { row: contacts, sortKey: sql<string>`(${s.key})::text` };
  const where = filterWhere(orgId, f);
  if (await selective(db, orgId, f)) {
    const key = unindexed(sort);
    if (after) where.push(afterCondition(key, sort, after));
    const ranked = db
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(...where))
      .orderBy(...order(key))
      .limit(limit);
    return db
      .select(columns)
      .from(contacts)
      .where(and(eq(contacts.orgId, orgId), inArray(contacts.id, ranked)))
      .orderBy(...order(s.key));
  }
  if (after) where.push(afterCondition(s.key, sort, after));
  return db
    .select(columns)
    .from(contacts)
    .where(and(...where))
    .orderBy(...order(s.key))
    .limit(limit);
}

export async function listContactPage(
  db: DbOrTx,
  orgId: string,
  query: ListContactsQuery,
): Promise<{ items: ContactDto[]; nextCursor: string | null }> {
  const after = decodeCursor(query.cursor, cursorSchema);
  if (after && after.s !== query.sort) {
    throw badRequest("invalid_cursor", "The cursor belongs to another sort order; start again without it.", [
      { path: "cursor", message: "Invalid cursor.", in: "query" },
    ]);
  }
  const rows = await contactPage(db, orgId, query, query.sort, after, query.limit + 1);
  const page = rows.slice(0, query.limit);
  const items = await withMemberships(
    db,
    orgId,
    page.map((r) => r.row),
  );
  const last = page.at(-1);
  return {
    items,
    nextCursor:
      rows.length > query.limit && last ? encodeCursor({ s: query.sort, k: last.sortKey, id: last.row.id }) : null,
  };
}

/** Tag ids and list ids of `ids`, in two index lookups. */
export async function membershipsOf(db: DbOrTx, orgId: string, ids: string[]) {
  const tags = new Map<string, string[]>();
  const lists = new Map<string, string[]>();
  if (ids.length === 0) return { tags, lists };
  const [t, l] = await Promise.all([
    db
      .select({ contactId: contactTags.contactId, id: contactTags.tagId })
      .from(contactTags)
      .where(and(eq(contactTags.orgId, orgId), inArray(contactTags.contactId, ids))),
    db
      .select({ contactId: listContacts.contactId, id: listContacts.listId })
      .from(listContacts)
      .where(and(eq(listContacts.orgId, orgId), inArray(listContacts.contactId, ids))),
  ]);
  for (const r of t) tags.set(r.contactId, [...(tags.get(r.contactId) ?? []), r.id]);
  for (const r of l) lists.set(r.contactId, [...(lists.get(r.contactId) ?? []), r.id]);
  return { tags, lists };
}

export async function withMemberships(db: DbOrTx, orgId: string, rows: ContactRow[]): Promise<ContactDto[]> {
  const m = await membershipsOf(
    db,
    orgId,
    rows.map((r) => r.id),
  );
  return rows.map((r) => contactDto(r, m.tags.get(r.id) ?? [], m.lists.get(r.id) ?? []));
}

export function contactDto(r: ContactRow, tagIds: string[], listIds: string[]): ContactDto {
  return {
    id: r.id,
    phone: r.phone,
    waId: r.waId,
    name: r.name,
    attributes: r.attributes,
    tagIds: [...tagIds].sort(),
    listIds: [...listIds].sort(),
    optedOut: r.optedOutAt !== null,
    optedOutAt: r.optedOutAt?.toISOString() ?? null,
    optOutSource: r.optOutSource,
    lastMessageAt: r.lastMessageAt?.toISOString() ?? null,
    createdByMemberId: r.createdByMemberId,
    updatedByMemberId: r.updatedByMemberId,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export async function getContactRow(db: DbOrTx, orgId: string, id: string, lock = false) {
  const q = db
    .select()
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, id)));
  const [row] = lock ? await q.for("update") : await q;
  return row ?? null;
}

export async function getContact(db: DbOrTx, orgId: string, id: string): Promise<ContactDto | null> {
  const row = await getContactRow(db, orgId, id);
  if (!row) return null;
  const [dto] = await withMemberships(db, orgId, [row]);
  return dto!;
}
