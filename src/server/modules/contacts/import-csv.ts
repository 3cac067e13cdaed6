import { parse as parseSync } from "csv-parse/sync";
import { ATTRIBUTE_KEY } from "../../../shared/schemas/contacts.js";
import { badRequest } from "../../http/problem.js";

/**
 * The import format: a header row read by name (any order, case-insensitive), then one contact
 * per row. `phone` is required; `name`, `tags` and `lists` (names separated by `;`, created
 * when new, matched case-insensitively), `opted_out` (true/false, yes/no, 1/0; empty: unchanged)
 * and `attr.<key>` columns are optional. The export's
 * read-only columns (`wa_id`, `opted_out_at`, `created_at`, …) are accepted and ignored, so an
 * export imports back as is. Any other column is refused with its name: a misspelt column
 * would otherwise be dropped silently.
 */
export type Column =
  | { kind: "phone" | "name" | "tags" | "lists" | "opted_out" | "ignored" }
  | { kind: "attr"; key: string };

/** Written by the export, ignored by the import. */
export const READ_ONLY_COLUMNS = [
  "id",
  "wa_id",
  "opted_out_at",
  "opt_out_source",
  "last_message_at",
  "created_at",
  "updated_at",
];

const HEADER_SCAN_CHARS = 64 * 1024;

/** The columns of the CSV's header row, or 400 naming what is wrong with it. */
export function readHeader(text: string): Column[] {
  let records: string[][];
  try {
    records = parseSync(text.slice(0, HEADER_SCAN_CHARS), {
      bom: true,
      to: 1,
      relax_column_count: true,
      skip_empty_lines: true,
    });
  } catch {
    throw badRequest("invalid_csv", "The header row of the CSV document could not be read.");
  }
  const header = records[0];
  if (!header || header.every((h) => h.trim() === "")) throw badRequest("invalid_csv", "The CSV document is empty.");
  const seen = new Set<string>();
  const columns: Column[] = [];
  const unknown: string[] = [];
  for (const raw of header) {
    const name = raw.trim();
    const lower = name.toLowerCase();
    let col: Column | null = null;
    if (lower === "phone" || lower === "name" || lower === "tags" || lower === "lists" || lower === "opted_out") {
      col = { kind: lower };
    } else if (READ_ONLY_COLUMNS.includes(lower)) col = { kind: "ignored" };
    else if (lower.startsWith("attr.") && ATTRIBUTE_KEY.test(name.slice(5))) col = { kind: "attr", key: name.slice(5) };
    if (!col) {
      unknown.push(name);
      continue;
    }
    const id = col.kind === "attr" ? `attr.${col.key}` : lower;
    if (col.kind !== "ignored" && seen.has(id)) {
      throw badRequest("duplicate_column", `The column "${name}" appears twice.`, [
        { path: name, message: "Duplicate column.", in: "body" },
      ]);
    }
    seen.add(id);
    columns.push(col);
  }
  if (unknown.length) {
    throw badRequest(
      "unknown_column",
      `Unknown CSV column${unknown.length > 1 ? "s" : ""}: ${unknown.map((u) => JSON.stringify(u.slice(0, 100))).join(", ")}. ` +
        "The columns are phone, name, tags, lists, opted_out and attr.<name> (letters, digits and _).",
      unknown.slice(0, 20).map((u) => ({ path: u.slice(0, 100), message: "Unknown column.", in: "body" as const })),
    );
  }
  if (!seen.has("phone")) {
    throw badRequest("missing_column", 'The CSV document needs a "phone" column.', [
      { path: "phone", message: "Missing column.", in: "body" },
    ]);
  }
  return columns;
}
