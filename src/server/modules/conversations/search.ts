import { type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { contacts, conversations, messages } from "../../db/schema/index.js";
import { searchCondition } from "../contacts/query.js";

/**
 * The inbox's `q` (issue 15, docs/decisions.md "Inbox search"): a conversation matches when its
 * contact's name or phone starts with `q` (the contacts module's prefix search), or when one of
 * its messages or private notes contains `q` (case-insensitive substring, 3 characters or more;
 * system lines are not searched). The result is only a condition on `conversations`: the caller
 * ANDs it with `visibleWhere` and the view's filters, so a search never finds what the caller
 * may not see.
 *
 * How it stays fast at 100k conversations and 1M messages: each side is first counted through
 * its own index, up to a bound (contacts: their prefix indexes; messages: the trigram GIN index
 * `messages_body_trgm_idx`).
 * - Under the bound (sparse): the matching ids become `= any(array)` conditions, and the page is
 *   ordered by an expression no index has (`sparse: true`), so the planner fetches those few
 *   conversations by key and sorts them instead of walking the whole inbox in order.
 * - Over it (dense): an `exists` probe per conversation (contact by key, the conversation's
 *   messages through `messages_thread_idx`) while walking the list's own index in order: with
 *   that many matches, the first page fills after a few rows.
 */
export const SPARSE_CONTACTS = 500;
export const SPARSE_MESSAGES = 500;
export const MIN_TEXT_SEARCH = 3;

export interface InboxSearch {
  where: SQL;
  /** Order by an expression no index matches (few candidates: sort them, do not walk the index). */
  sparse: boolean;
}

/** `%`, `_` and `\` typed by a user are literal characters, not wildcards. */
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const uuidArray = (ids: string[]) => sql`${`{${ids.join(",")}}`}::uuid[]`;

export async function inboxSearch(
  db: DbOrTx,
  orgId: string,
  q: string,
  bounds: { contacts: number; messages: number } = { contacts: SPARSE_CONTACTS, messages: SPARSE_MESSAGES },
): Promise<InboxSearch | null> {
  const text = q.trim();
  if (!text) return null;
  const parts: SQL[] = [];
  let dense = false;

  const contactCond = searchCondition(text);
  if (contactCond) {
    const ids = rowsOf<{ id: string }>(
      await db.execute(
        sql`select ${contacts.id} as id from ${contacts} where ${contacts.orgId} = ${orgId} and ${contactCond} limit ${bounds.contacts + 1}`,
      ),
    ).map((r) => r.id);
    if (ids.length > bounds.contacts) {
      dense = true;
      parts.push(sql`exists (select 1 from ${contacts} where ${contacts.orgId} = ${conversations.orgId}
        and ${contacts.id} = ${conversations.contactId} and ${contactCond})`);
    } else if (ids.length > 0) {
      parts.push(sql`${conversations.contactId} = any(${uuidArray(ids)})`);
    }
  }

  if ([...text].length >= MIN_TEXT_SEARCH) {
    const pattern = `%${escapeLike(text)}%`;
    const bodyMatches = sql`${messages.kind} <> 'system' and ${messages.body} ilike ${pattern}`;
    // One probe: how many messages match (up to the bound), and their conversations.
    const [probe] = rowsOf<{ n: number | string; ids: string[] | string | null }>(
      await db.execute(sql`select count(*) as n, array_agg(distinct conversation_id)::text[] as ids from (
        select ${messages.conversationId} from ${messages}
        where ${messages.orgId} = ${orgId} and ${bodyMatches} limit ${bounds.messages + 1}) m`),
    );
    const n = Number(probe?.n ?? 0);
    if (n > bounds.messages) {
      dense = true;
      parts.push(sql`exists (select 1 from ${messages} where ${messages.orgId} = ${conversations.orgId}
        and ${messages.conversationId} = ${conversations.id} and ${bodyMatches})`);
    } else if (n > 0) {
      parts.push(sql`${conversations.id} = any(${uuidArray(pgArray(probe?.ids))})`);
    }
  }

  if (parts.length === 0) return { where: sql`false`, sparse: true };
  return { where: sql`(${sql.join(parts, sql` or `)})`, sparse: !dense };
}

/** A text[] as node-postgres (array) or PGlite (array) or a literal `{a,b}` returns it. */
function pgArray(v: string[] | string | null | undefined): string[] {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return v
    .replace(/^\{|\}$/g, "")
    .split(",")
    .filter(Boolean);
}
