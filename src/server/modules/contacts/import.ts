import { Readable } from "node:stream";
import { parse } from "csv-parse";
import { and, desc, eq, sql } from "drizzle-orm";
import { normalizePhone } from "../../../shared/phone.js";
import { hasBidiControl, hasControlChar, hasNul } from "../../../shared/schemas/common.js";
import { type ImportErrorCode, MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTES } from "../../../shared/schemas/contacts.js";
import type { AppContext } from "../../context.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { pgCode, pgConstraint } from "../../db/pg-errors.js";
import { rowsOf } from "../../db/rows.js";
import { contactImports, memberships } from "../../db/schema/index.js";
import { AppError, conflict, notFound } from "../../http/problem.js";
import { type Actor, type OrgMember, SYSTEM_ACTOR } from "../../http/request-context.js";
import { defineJob } from "../../jobs/define.js";
import { recordActivity } from "../activity/record.js";
import { MAX_LISTS } from "../lists/service.js";
import { MAX_TAGS } from "../tags/service.js";
import { type Column, readHeader } from "./import-csv.js";
import type { ImportDto } from "./schemas.js";

/** Rows per transaction: the upserts of a chunk and the progress that counts them commit together. */
export const IMPORT_CHUNK = 500;
export const MAX_IMPORT_ROWS = 200_000;
/** 200,000 rows of phone, name, a few tags and attributes fit; the route's body limit. */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;
export const MAX_IMPORT_ERRORS = 1_000;
const MAX_NAMES_PER_CELL = 20;

export const contactImportJob = defineJob<{ orgId: string; importId: string }>({
  name: "contacts.import",
  queue: { retryLimit: 5, retryDelay: 10, retryBackoff: true, expireInSeconds: 900 },
  work: { batchSize: 1 },
});

type ImportRow = typeof contactImports.$inferSelect;

export function importDto(r: Omit<ImportRow, "csv">): ImportDto {
  return {
    id: r.id,
    state: r.state,
    total: r.total,
    processed: r.processed,
    created: r.created,
    updated: r.updated,
    failed: r.failed,
    // Errors recorded before they had codes read as `other` (their message only).
    errors: r.errors.map((e) => ({ ...e, code: e.code ?? "other" })),
    createdByMemberId: r.createdByMemberId,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

const withoutCsv = {
  orgId: contactImports.orgId,
  id: contactImports.id,
  state: contactImports.state,
  total: contactImports.total,
  processed: contactImports.processed,
  created: contactImports.created,
  updated: contactImports.updated,
  failed: contactImports.failed,
  errors: contactImports.errors,
  country: contactImports.country,
  createdByMemberId: contactImports.createdByMemberId,
  createdAt: contactImports.createdAt,
  updatedAt: contactImports.updatedAt,
  finishedAt: contactImports.finishedAt,
};

export async function getImport(db: DbOrTx, orgId: string, importId: string): Promise<ImportDto> {
  const [row] = await db
    .select(withoutCsv)
    .from(contactImports)
    .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId)));
  if (!row) throw notFound("import", "import_not_found");
  return importDto(row);
}

export async function listImports(db: DbOrTx, orgId: string): Promise<ImportDto[]> {
  const rows = await db
    .select(withoutCsv)
    .from(contactImports)
    .where(eq(contactImports.orgId, orgId))
    .orderBy(desc(contactImports.createdAt), desc(contactImports.id))
    .limit(20);
  return rows.map(importDto);
}

/**
 * Checks the header at once (400 naming an unknown column), stores the file and queues the job,
 * with the activity record, in one transaction. One import at a time per organization (409
 * `import_in_progress`, naming it).
 */
export async function startImport(
  ctx: Pick<AppContext, "db" | "jobs">,
  actor: Pick<OrgMember, "orgId" | "memberId">,
  by: Actor,
  csv: string,
  country: string | undefined,
): Promise<{ id: string; state: "queued" }> {
  readHeader(csv);
  try {
    return await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(contactImports)
        .values({ orgId: actor.orgId, csv, country: country ?? null, createdByMemberId: actor.memberId })
        .returning({ id: contactImports.id });
      await ctx.jobs.enqueue(tx, contactImportJob, { orgId: actor.orgId, importId: row!.id });
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "contact.import_started",
        target: { type: "contact_import", id: row!.id, label: "CSV import" },
        changes: { bytes: { after: Buffer.byteLength(csv) }, ...(country ? { country: { after: country } } : {}) },
      });
      return { id: row!.id, state: "queued" as const };
    });
  } catch (err) {
    if (
      !(err instanceof AppError) &&
      pgCode(err) === "23505" &&
      pgConstraint(err) === "contact_imports_one_active_key"
    ) {
      const [active] = await ctx.db
        .select({ id: contactImports.id })
        .from(contactImports)
        .where(and(eq(contactImports.orgId, actor.orgId), sql`${contactImports.state} in ('queued', 'running')`));
      throw conflict(
        "import_in_progress",
        "An import is already running in this organization; wait for it to finish.",
        {
          importId: active?.id ?? null,
        },
      );
    }
    throw err;
  }
}

// --- the job --------------------------------------------------------------------------------

/** Characters of the stored CSV read per query: the job never holds the whole file. */
const SLICE_CHARS = 64 * 1024;

/**
 * The stored CSV in slices of SLICE_CHARS characters, each read by its own query (`substr` of the
 * column), so the job holds one slice at a time, not the file (issue 13: an import's memory).
 */
async function* csvSlices(db: DbOrTx, orgId: string, importId: string): AsyncGenerator<string> {
  for (let from = 1; ; from += SLICE_CHARS) {
    const [row] = await db
      .select({ s: sql<string | null>`substr(${contactImports.csv}, ${from}, ${SLICE_CHARS})` })
      .from(contactImports)
      .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId)));
    const slice = row?.s ?? "";
    if (slice) yield slice;
    if (slice.length < SLICE_CHARS) return;
  }
}

/** The CSV's records one at a time (back-pressure: the text is fed in slices, never all records at once). */
function records(slices: AsyncIterable<string>): AsyncIterable<string[]> {
  return Readable.from(slices).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ["\r\n", "\n", "\r"] }),
  );
}

const isBlank = (r: string[]) => r.every((f) => f.trim() === "");

interface ParsedRow {
  row: number;
  phone: string;
  name: string | null;
  tags: string[];
  lists: string[];
  attributes: Record<string, string>;
  /** The `opted_out` cell: true opts out (source `import`), false clears an opt-out, null leaves it. */
  optedOut: boolean | null;
}

/** Why a row was not imported: a code and its parameters (translated by the web app), and the English text. */
export interface RowError {
  row: number;
  code: ImportErrorCode;
  params?: Record<string, string | number>;
  message: string;
}
type Problem = Omit<RowError, "row">;
const problem = (code: ImportErrorCode, message: string, params?: Problem["params"]): Problem =>
  params ? { code, params, message } : { code, message };

const badLabel = (s: string) => hasControlChar(s) || hasBidiControl(s);

function splitNames(cell: string, column: "tags" | "lists", max: number): string[] | Problem {
  const names = [
    ...new Set(
      cell
        .split(";")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length > MAX_NAMES_PER_CELL) {
    return problem("too_many_names", `${column}: at most ${MAX_NAMES_PER_CELL} names.`, {
      column,
      max: MAX_NAMES_PER_CELL,
    });
  }
  for (const n of names) {
    if (n.length > max) {
      const name = `${n.slice(0, 40)}…`;
      return problem("label_too_long", `${column}: "${name}" is longer than ${max} characters.`, { column, name, max });
    }
    if (badLabel(n)) {
      return problem("label_control_characters", `${column}: a name holds control characters.`, { column });
    }
  }
  return names;
}

const YES = new Set(["true", "yes", "y", "1"]);
const NO = new Set(["false", "no", "n", "0"]);

/** One data row → a contact to upsert, or why it is not imported. */
export function parseRow(
  columns: Column[],
  fields: string[],
  row: number,
  country: string | null,
): ParsedRow | Problem {
  if (fields.length > columns.length && fields.slice(columns.length).some((f) => f.trim() !== "")) {
    return problem("row_field_count", `The row has ${fields.length} fields; the header has ${columns.length}.`, {
      fields: fields.length,
      columns: columns.length,
    });
  }
  const out: ParsedRow = { row, phone: "", name: null, tags: [], lists: [], attributes: {}, optedOut: null };
  let attributes = 0;
  for (let i = 0; i < columns.length; i++) {
    const col = columns[i]!;
    const value = unneutralise(fields[i] ?? "");
    if (hasNul(value)) return problem("nul_character", `Column ${i + 1} holds a NUL character.`, { column: i + 1 });
    switch (col.kind) {
      case "phone": {
        const p = normalizePhone(value, country);
        if (!p.ok) {
          const shown = value.slice(0, 40);
          return problem(`phone_${p.reason}`, `phone ${JSON.stringify(shown)}: ${p.message}`, { value: shown });
        }
        out.phone = p.e164;
        break;
      }
      case "name": {
        const n = value.trim();
        if (n.length > 200) return problem("name_too_long", "name: longer than 200 characters.", { max: 200 });
        if (badLabel(n)) return problem("name_control_characters", "name: remove the control characters.");
        out.name = n || null;
        break;
      }
      case "tags":
      case "lists": {
        const names = splitNames(value, col.kind, col.kind === "tags" ? 50 : 100);
        if (!Array.isArray(names)) return names;
        out[col.kind] = names;
        break;
      }
      case "opted_out": {
        const v = value.trim().toLowerCase();
        if (v === "") break;
        if (YES.has(v)) out.optedOut = true;
        else if (NO.has(v)) out.optedOut = false;
        else {
          const shown = value.slice(0, 40);
          return problem("opted_out_value", `opted_out ${JSON.stringify(shown)}: expected true or false (or empty).`, {
            value: shown,
          });
        }
        break;
      }
      case "attr": {
        if (value.length > MAX_ATTRIBUTE_VALUE) {
          return problem("attribute_too_long", `attr.${col.key}: longer than ${MAX_ATTRIBUTE_VALUE} characters.`, {
            key: col.key,
            max: MAX_ATTRIBUTE_VALUE,
          });
        }
        if (value !== "") {
          out.attributes[col.key] = value;
          if (++attributes > MAX_ATTRIBUTES) return tooManyAttributes();
        }
        break;
      }
      case "ignored":
        break;
    }
  }
  return out;
}

const tooManyAttributes = () =>
  problem("too_many_attributes", `A contact has at most ${MAX_ATTRIBUTES} attributes.`, { max: MAX_ATTRIBUTES });

/** The export neutralises formula-looking cells with a leading `'` (lib/csv-cell.ts): reading one back undoes it. */
const unneutralise = (v: string) => (/^'\s*[=+\-@\t\r]/.test(v) ? v.slice(1) : v);

/**
 * Tags (or lists) named in a chunk, matched case-insensitively; those that do not exist yet are
 * created (with their activity records) while the organization has room under its limit
 * (MAX_TAGS, MAX_LISTS: the same as the tag and list routes). Names past the limit are left out
 * of the map: their rows are refused.
 */
async function resolveNames(
  tx: DbOrTx,
  orgId: string,
  kind: "tag" | "list",
  names: string[],
  by: Actor,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  if (!names.length) return ids;
  const table = kind === "tag" ? sql`tags` : sql`contact_lists`;
  const find = async (lowered: string[]) => {
    const found = rowsOf<{ id: string; key: string }>(
      await tx.execute(sql`select id, lower(name) as key from ${table}
        where org_id = ${orgId} and lower(name) in (${sql.join(
          lowered.map((n) => sql`${n}`),
          sql`, `,
        )})`),
    );
    for (const f of found) ids.set(f.key, f.id);
  };
  await find(names.map((n) => n.toLowerCase()));
  const missing = names.filter((n) => !ids.has(n.toLowerCase()));
  if (!missing.length) return ids;
  // The limit, counted under a lock of the organization's row (as the tag and list routes'
  // concurrent creations are): the chunk's transaction holds it until it commits.
  await tx.execute(sql`select 1 from organizations where id = ${orgId} for update`);
  const [{ n } = { n: 0 }] = rowsOf<{ n: number }>(
    await tx.execute(sql`select count(*)::int as n from ${table} where org_id = ${orgId}`),
  );
  const room = Math.max(0, (kind === "tag" ? MAX_TAGS : MAX_LISTS) - n);
  const creating = missing.slice(0, room);
  if (!creating.length) return ids;
  const values = sql.join(
    creating.map((name) => sql`(${orgId}::uuid, ${name})`),
    sql`, `,
  );
  const created = rowsOf<{ id: string; name: string }>(
    await tx.execute(sql`insert into ${table} (org_id, name) values ${values}
      on conflict (org_id, lower(name)) do nothing returning id, name`),
  );
  for (const c of created) {
    await recordActivity(tx, by, {
      orgId,
      action: `${kind}.created`,
      target: { type: kind, id: c.id, label: c.name },
      changes: { name: { after: c.name }, source: { after: "import" } },
    });
  }
  // Created by someone else meanwhile (the conflict above): found now.
  await find(creating.map((name) => name.toLowerCase()));
  return ids;
}

interface ChunkResult {
  created: number;
  updated: number;
  /** Rows refused here (a repeated phone's rows all count). */
  failed: number;
  /** One per refused phone, at its first row. */
  errors: RowError[];
}

/**
 * Upserts a chunk's valid rows, set-based: existing phones are updated (name when given,
 * attributes merged, opt-out as the `opted_out` cell says); a row is refused when a tag or list it
 * names cannot be created (the organization's limit) or when the merged attributes would pass
 * MAX_ATTRIBUTES.
 */
async function upsertChunk(
  tx: DbOrTx,
  orgId: string,
  memberId: string | null,
  rows: ParsedRow[],
  by: Actor,
): Promise<ChunkResult> {
  const errors: RowError[] = [];
  if (!rows.length) return { created: 0, updated: 0, failed: 0, errors };
  // One row per phone: a phone repeated in the chunk is one contact (later cells win, names add up).
  const byPhone = new Map<string, ParsedRow>();
  const rowsPerPhone = new Map<string, number>();
  const phoneOfRow = new Map<number, string>();
  for (const r of rows) {
    const prev = byPhone.get(r.phone);
    rowsPerPhone.set(r.phone, (rowsPerPhone.get(r.phone) ?? 0) + 1);
    if (!prev) {
      phoneOfRow.set(r.row, r.phone);
      byPhone.set(r.phone, { ...r, tags: [...r.tags], lists: [...r.lists], attributes: { ...r.attributes } });
      continue;
    }
    prev.name = r.name ?? prev.name;
    prev.optedOut = r.optedOut ?? prev.optedOut;
    Object.assign(prev.attributes, r.attributes);
    prev.tags.push(...r.tags);
    prev.lists.push(...r.lists);
  }
  const tagNames = new Map<string, string>();
  const listNames = new Map<string, string>();
  for (const r of byPhone.values()) {
    for (const t of r.tags) if (!tagNames.has(t.toLowerCase())) tagNames.set(t.toLowerCase(), t);
    for (const l of r.lists) if (!listNames.has(l.toLowerCase())) listNames.set(l.toLowerCase(), l);
  }
  const tagIds = await resolveNames(tx, orgId, "tag", [...tagNames.values()], by);
  const listIds = await resolveNames(tx, orgId, "list", [...listNames.values()], by);
  const unique: ParsedRow[] = [];
  for (const r of byPhone.values()) {
    const tag = r.tags.find((x) => !tagIds.has(x.toLowerCase()));
    const list = r.lists.find((x) => !listIds.has(x.toLowerCase()));
    if (tag !== undefined) {
      errors.push({
        row: r.row,
        ...problem("tag_limit_reached", `An organization has at most ${MAX_TAGS} tags; "${tag}" was not created.`, {
          max: MAX_TAGS,
          name: tag,
        }),
      });
    } else if (list !== undefined) {
      errors.push({
        row: r.row,
        ...problem("list_limit_reached", `An organization has at most ${MAX_LISTS} lists; "${list}" was not created.`, {
          max: MAX_LISTS,
          name: list,
        }),
      });
    } else if (Object.keys(r.attributes).length > MAX_ATTRIBUTES) {
      errors.push({ row: r.row, ...tooManyAttributes() });
    } else {
      unique.push(r);
    }
  }
  if (!unique.length) return { created: 0, updated: 0, failed: rows.length, errors };
  // The chunk travels as one JSON parameter (jsonb_to_recordset): no statement with thousands of
  // parameters to build and parse, the same on node-postgres and PGlite. An existing contact is
  // updated only while its merged attributes stay within the limit; the others are not returned.
  const payload = JSON.stringify(unique.map((r) => ({ p: r.phone, n: r.name, a: r.attributes, o: r.optedOut })));
  const upserted = rowsOf<{ id: string; phone: string; inserted: boolean }>(
    await tx.execute(sql`insert into contacts as c (org_id, phone, name, attributes, opted_out_at, opt_out_source,
        created_by_member_id, updated_by_member_id)
      select ${orgId}::uuid, x.p, x.n, x.a, case when x.o then now() end, case when x.o then 'import' end,
        ${memberId}::uuid, ${memberId}::uuid
      from jsonb_to_recordset(${payload}::jsonb) as x(p text, n text, a jsonb, o boolean)
      on conflict (org_id, phone) do update set
        name = coalesce(excluded.name, c.name),
        attributes = c.attributes || excluded.attributes,
        opted_out_at = coalesce(c.opted_out_at, excluded.opted_out_at),
        opt_out_source = case when c.opted_out_at is null then excluded.opt_out_source else c.opt_out_source end,
        updated_by_member_id = excluded.updated_by_member_id,
        updated_at = now()
      where (select count(*) from jsonb_object_keys(c.attributes || excluded.attributes)) <= ${MAX_ATTRIBUTES}
      returning c.id, c.phone, (c.xmax = 0) as inserted`),
  );
  const idOf = new Map(upserted.map((u) => [u.phone, u.id]));
  const written = unique.filter((r) => {
    if (idOf.has(r.phone)) return true;
    errors.push({ row: r.row, ...tooManyAttributes() });
    return false;
  });
  // `opted_out` false clears an opt-out the business recorded (manual, import), never one the
  // customer sent (whatsapp): a stale spreadsheet must not re-subscribe someone who said stop.
  const clearing = written.filter((r) => r.optedOut === false).map((r) => idOf.get(r.phone)!);
  if (clearing.length) {
    await tx.execute(sql`update contacts set opted_out_at = null, opt_out_source = null
      where org_id = ${orgId} and id in (select x::uuid from jsonb_array_elements_text(${JSON.stringify(clearing)}::jsonb) as t(x))
        and opt_out_source in ('manual', 'import')`);
  }
  const tagPairs: { c: string; t: string }[] = [];
  const listPairs: { c: string; l: string }[] = [];
  for (const r of written) {
    const c = idOf.get(r.phone)!;
    for (const t of new Set(r.tags.map((x) => tagIds.get(x.toLowerCase())))) if (t) tagPairs.push({ c, t });
    for (const l of new Set(r.lists.map((x) => listIds.get(x.toLowerCase())))) if (l) listPairs.push({ c, l });
  }
  if (tagPairs.length) {
    await tx.execute(sql`insert into contact_tags (org_id, contact_id, tag_id)
      select ${orgId}::uuid, x.c, x.t from jsonb_to_recordset(${JSON.stringify(tagPairs)}::jsonb) as x(c uuid, t uuid)
      on conflict do nothing`);
  }
  if (listPairs.length) {
    await tx.execute(sql`insert into list_contacts (org_id, list_id, contact_id)
      select ${orgId}::uuid, x.l, x.c from jsonb_to_recordset(${JSON.stringify(listPairs)}::jsonb) as x(c uuid, l uuid)
      on conflict do nothing`);
  }
  // Every row of a written phone counts: the first created or updated it, its repeats updated it.
  let created = 0;
  let updated = 0;
  for (const u of upserted) {
    const n = rowsPerPhone.get(u.phone) ?? 1;
    if (u.inserted) created++;
    updated += u.inserted ? n - 1 : n;
  }
  let failed = 0;
  for (const e of errors) failed += rowsPerPhone.get(phoneOfRow.get(e.row) ?? "") ?? 1;
  return { created, updated, failed, errors };
}

/** Who the import's records name: the member who started it, or Chorus when they have left. */
async function importActor(db: DbOrTx, orgId: string, memberId: string | null): Promise<Actor> {
  if (!memberId) return SYSTEM_ACTOR;
  const [m] = await db
    .select({ userId: memberships.userId, firstName: memberships.firstName, lastName: memberships.lastName })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
  if (!m) return SYSTEM_ACTOR;
  return { ...SYSTEM_ACTOR, type: "user", id: m.userId, name: `${m.firstName} ${m.lastName}`.trim() };
}

async function finish(
  db: Db,
  orgId: string,
  importId: string,
  by: Actor,
  outcome: { state: "completed" } | ({ state: "failed" } & Problem),
) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(contactImports)
      .set({
        state: outcome.state,
        csv: null,
        finishedAt: sql`now()`,
        updatedAt: sql`now()`,
        ...(outcome.state === "failed"
          ? {
              errors: sql`${contactImports.errors} || ${JSON.stringify([
                {
                  row: 0,
                  code: outcome.code,
                  ...(outcome.params ? { params: outcome.params } : {}),
                  message: outcome.message,
                },
              ])}::jsonb`,
            }
          : {}),
      })
      .where(
        and(
          eq(contactImports.orgId, orgId),
          eq(contactImports.id, importId),
          sql`${contactImports.state} in ('queued', 'running')`,
        ),
      )
      .returning(withoutCsv);
    if (!row) return;
    await recordActivity(tx, by, {
      orgId,
      action: outcome.state === "completed" ? "contact.import_completed" : "contact.import_failed",
      target: { type: "contact_import", id: importId, label: "CSV import" },
      changes: {
        total: { after: row.total },
        created: { after: row.created },
        updated: { after: row.updated },
        failed: { after: row.failed },
        ...(outcome.state === "failed" ? { error: { after: outcome.message } } : {}),
      },
    });
  });
}

/**
 * Runs (or resumes) one import. Each chunk of IMPORT_CHUNK rows is upserted in one transaction
 * together with the progress that counts it (`processed`), under a lock of the import row: a
 * run killed mid-import resumes after the last committed chunk, and a second run of the same
 * job (a lease expired) finds the chunk done and skips it, so no row is imported twice.
 */
export async function runImport(db: Db, orgId: string, importId: string, chunkSize = IMPORT_CHUNK): Promise<boolean> {
  const [imp] = await db
    .select({
      state: contactImports.state,
      hasCsv: sql<boolean>`${contactImports.csv} is not null`,
      country: contactImports.country,
      by: contactImports.createdByMemberId,
    })
    .from(contactImports)
    .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId)));
  if (!imp || imp.state === "completed" || imp.state === "failed" || !imp.hasCsv) return false;
  const by = await importActor(db, orgId, imp.by);
  const slices = () => csvSlices(db, orgId, importId);
  let columns: Column[];
  try {
    // The header is within the first slice (readHeader reads at most that much).
    const first = await slices().next();
    columns = readHeader(first.done ? "" : first.value);
  } catch (err) {
    const detail = err instanceof Error ? err.message : "Unreadable CSV.";
    await finish(db, orgId, importId, by, { state: "failed", ...problem("csv_unreadable", detail, { detail }) });
    return true;
  }

  // The first run counts the rows (the progress bar's total) and refuses a file past the limit.
  if (imp.state === "queued") {
    let total = 0;
    try {
      let header = true;
      for await (const r of records(slices())) {
        if (isBlank(r)) continue;
        if (header) {
          header = false;
          continue;
        }
        total++;
      }
    } catch (err) {
      const detail = (err as Error).message;
      await finish(db, orgId, importId, by, {
        state: "failed",
        ...problem("csv_unreadable", `The CSV document could not be read: ${detail}`, { detail }),
      });
      return true;
    }
    if (total > MAX_IMPORT_ROWS) {
      await finish(db, orgId, importId, by, {
        state: "failed",
        ...problem(
          "too_many_rows",
          `An import holds at most ${MAX_IMPORT_ROWS.toLocaleString("en")} rows; this one has ${total.toLocaleString("en")}.`,
          { max: MAX_IMPORT_ROWS, total },
        ),
      });
      return true;
    }
    await db
      .update(contactImports)
      .set({ state: "running", total, updatedAt: sql`now()` })
      .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId), eq(contactImports.state, "queued")));
  }

  const [progress] = await db
    .select({ processed: contactImports.processed })
    .from(contactImports)
    .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId)));
  let start = progress?.processed ?? 0;
  let index = 0; // data rows read so far
  let chunk: { row: number; fields: string[] }[] = [];

  const commit = async (rows: { row: number; fields: string[] }[]): Promise<boolean> => {
    return db.transaction(async (tx) => {
      const [locked] = await tx
        .select({
          processed: contactImports.processed,
          state: contactImports.state,
          errorCount: sql<number>`jsonb_array_length(${contactImports.errors})`,
        })
        .from(contactImports)
        .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId)))
        .for("update");
      // Another run got here first (or finished): this one stops, nothing is imported twice.
      if (locked?.state !== "running" || locked.processed !== start) return false;
      const valid: ParsedRow[] = [];
      const errors: RowError[] = [];
      for (const r of rows) {
        const parsed = parseRow(columns, r.fields, r.row, imp.country);
        if ("code" in parsed) errors.push({ row: r.row, ...parsed });
        else valid.push(parsed);
      }
      const failed = errors.length;
      const result = await upsertChunk(tx, orgId, imp.by, valid, by);
      const { created, updated } = result;
      errors.push(...result.errors);
      errors.sort((a, b) => a.row - b.row);
      const room = Math.max(0, MAX_IMPORT_ERRORS - locked.errorCount);
      await tx
        .update(contactImports)
        .set({
          processed: start + rows.length,
          created: sql`${contactImports.created} + ${created}`,
          updated: sql`${contactImports.updated} + ${updated}`,
          failed: sql`${contactImports.failed} + ${failed + result.failed}`,
          ...(errors.length && room
            ? { errors: sql`${contactImports.errors} || ${JSON.stringify(errors.slice(0, room))}::jsonb` }
            : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(contactImports.orgId, orgId), eq(contactImports.id, importId)));
      start += rows.length;
      return true;
    });
  };

  try {
    let header = true;
    for await (const r of records(slices())) {
      if (isBlank(r)) continue;
      if (header) {
        header = false;
        continue;
      }
      index++;
      if (index <= start) continue; // committed by an earlier run
      chunk.push({ row: index, fields: r });
      if (chunk.length >= chunkSize) {
        if (!(await commit(chunk))) return true;
        chunk = [];
      }
    }
  } catch (err) {
    if (err instanceof Error && "code" in err && String((err as { code: unknown }).code).startsWith("CSV_")) {
      const detail = `Row ${index + 1}: ${err.message}`;
      await finish(db, orgId, importId, by, { state: "failed", ...problem("csv_unreadable", detail, { detail }) });
      return true;
    }
    throw err;
  }
  if (chunk.length && !(await commit(chunk))) return true;
  await finish(db, orgId, importId, by, { state: "completed" });
  return true;
}

export function registerContactImportJob(ctx: Pick<AppContext, "db" | "log" | "jobs">): void {
  ctx.jobs.register(contactImportJob, async ({ data, lastAttempt }) => {
    try {
      return await runImport(ctx.db, data.orgId, data.importId);
    } catch (err) {
      ctx.log.error({ err, importId: data.importId }, "contact import failed");
      if (lastAttempt) {
        await finish(ctx.db, data.orgId, data.importId, SYSTEM_ACTOR, {
          state: "failed",
          ...problem("internal_error", "The import stopped on an internal error; the rows before it were imported."),
        });
        return true;
      }
      throw err;
    }
  });
}
