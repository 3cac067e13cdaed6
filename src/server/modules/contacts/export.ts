import { Readable } from "node:stream";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { ContactFilter } from "../../../shared/schemas/contacts.js";
import type { DbOrTx } from "../../db/client.js";
import { contactLists, contacts, contactTags, listContacts, tags } from "../../db/schema/index.js";
import { csvCell } from "../../lib/csv-cell.js";
import { type ContactRow, contactPage, filterWhere } from "./query.js";

const BATCH = 2_000;
const CHUNK_CHARS = 32 * 1024;
/** The export's attribute columns: the first this many keys, A→Z. */
const MAX_ATTRIBUTE_COLUMNS = 200;

/** The attribute keys of the matching contacts, A→Z: one scan, the export's first step. */
async function attributeKeys(db: DbOrTx, orgId: string, f: ContactFilter): Promise<string[]> {
  const res = await db.execute(sql`select distinct k from ${contacts}, jsonb_object_keys(${contacts.attributes}) k
    where ${and(...filterWhere(orgId, f))} order by k limit ${MAX_ATTRIBUTE_COLUMNS}`);
  return (res as unknown as { rows: { k: string }[] }).rows.map((r) => r.k);
}

async function namesOf(db: DbOrTx, orgId: string, ids: string[]) {
  const [t, l] = await Promise.all([
    db
      .select({ contactId: contactTags.contactId, name: tags.name })
      .from(contactTags)
      .innerJoin(tags, and(eq(tags.orgId, contactTags.orgId), eq(tags.id, contactTags.tagId)))
      .where(and(eq(contactTags.orgId, orgId), inArray(contactTags.contactId, ids))),
    db
      .select({ contactId: listContacts.contactId, name: contactLists.name })
      .from(listContacts)
      .innerJoin(
        contactLists,
        and(eq(contactLists.orgId, listContacts.orgId), eq(contactLists.id, listContacts.listId)),
      )
      .where(and(eq(listContacts.orgId, orgId), inArray(listContacts.contactId, ids))),
  ]);
  const group = (rows: { contactId: string; name: string }[]) => {
    const m = new Map<string, string[]>();
    for (const r of rows) m.set(r.contactId, [...(m.get(r.contactId) ?? []), r.name]);
    return m;
  };
  return { tags: group(t), lists: group(l) };
}

/**
 * Every contact matching the filters as CSV, newest first, read through the keyset in batches
 * of 2,000 (never all rows in memory; the next batch is read when the client has taken the
 * previous one). The columns are the import's (phone, name, tags, lists, attr.<key>) followed
 * by read-only ones the import accepts and ignores, so an export imports back as is. Every
 * cell goes through csvCell (formula-looking cells are neutralised).
 */
export function exportContacts(db: DbOrTx, orgId: string, f: ContactFilter): Readable {
  async function* chunks(): AsyncGenerator<string> {
    const keys = await attributeKeys(db, orgId, f);
    const header = [
      "phone",
      "name",
      "tags",
      "lists",
      ...keys.map((k) => `attr.${k}`),
      // `opted_out` as the import reads it, so an exported file imports back with its opt-outs.
      "opted_out",
      "wa_id",
      "opted_out_at",
      "opt_out_source",
      "created_at",
    ];
    yield `${header.map(csvCell).join(",")}\r\n`;
    let after: { s: "created"; k: string; id: string } | null = null;
    for (;;) {
      const page = await contactPage(db, orgId, f, "created", after, BATCH);
      if (!page.length) return;
      const rows: ContactRow[] = page.map((p) => p.row);
      const names = await namesOf(
        db,
        orgId,
        rows.map((r) => r.id),
      );
      let out = "";
      for (const r of rows) {
        const cells = [
          r.phone,
          r.name,
          (names.tags.get(r.id) ?? []).sort().join(";"),
          (names.lists.get(r.id) ?? []).sort().join(";"),
          ...keys.map((k) => r.attributes[k] ?? ""),
          r.optedOutAt ? "true" : "false",
          r.waId,
          r.optedOutAt?.toISOString() ?? "",
          r.optOutSource,
          r.createdAt.toISOString(),
        ];
        out += `${cells.map(csvCell).join(",")}\r\n`;
        if (out.length >= CHUNK_CHARS) {
          yield out;
          out = "";
        }
      }
      if (out) yield out;
      if (page.length < BATCH) return;
      const last = page.at(-1)!;
      after = { s: "created", k: last.sortKey, id: last.row.id };
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
}
