import { CsvError, parse } from "csv-parse/sync";
import { AppError, badRequest } from "../../http/problem.js";

const CR = 0x0d;
const LF = 0x0a;

/**
 * What went wrong, in the words of someone editing a spreadsheet export. csv-parse's own
 * line numbers drift after a quoted CRLF (it counts both characters), so they are only a hint.
 */
function csvProblem(err: CsvError): string {
  const at = typeof err.lines === "number" ? `Line ${err.lines}: ` : "";
  switch (err.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return `${at}a quoted field is not closed.`;
    case "INVALID_OPENING_QUOTE":
      return `${at}a quote appears inside an unquoted field. Quote the whole field and double the quote inside ("").`;
    case "CSV_INVALID_CLOSING_QUOTE":
      return `${at}a quoted field is followed by other characters. Put a comma right after the closing quote.`;
    default:
      return `The CSV document could not be read: ${err.message}`;
  }
}

/** Thrown by parseCsvRecords at the first record past its limit: the rest is never read. */
export class CsvRecordLimitExceeded extends Error {
  constructor(readonly maxRecords: number) {
    super(`More than ${maxRecords} CSV records.`);
  }
}

const isBlankRecord = (fields: readonly string[]) => fields.every((f) => f.trim() === "");

/**
 * RFC 4180 records (csv-parse): quoted fields may hold commas, doubled quotes and line breaks;
 * CRLF, LF and CR line ends may be mixed, as in files edited on several systems. `line` is where
 * the record starts (1-based), counted here from csv-parse's byte offsets.
 *
 * Parsing runs on the event loop, so it stops at the first record past `maxRecords` (blank ones
 * do not count) with CsvRecordLimitExceeded: a 1 MB body of a million rows costs what its first
 * rows cost, and a malformed tail past the limit is never read.
 */
export function parseCsvRecords(
  text: string,
  maxRecords = Number.POSITIVE_INFINITY,
): { line: number; fields: string[] }[] {
  const buf = Buffer.from(text, "utf8");
  let records: { record: string[]; info: { bytes: number } }[];
  let counted = 0;
  try {
    records = parse(buf, {
      // Called as each record completes (with `info: true`, as {record, info}, whatever the types
      // say); throwing here ends the parse: csv-parse returns the error and reads no further.
      on_record: (r) => {
        const fields = (r as unknown as { record: string[] }).record;
        if (!isBlankRecord(fields) && ++counted > maxRecords) throw new CsvRecordLimitExceeded(maxRecords);
        return r;
      },
      bom: true, // spreadsheet exports often start with one
      info: true,
      relax_column_count: true, // a short row is reported per row (missing fields), not as a broken file
      skip_empty_lines: true,
      record_delimiter: ["\r\n", "\n", "\r"],
      // csv-parse's types do not follow `info: true` (records become {record, info}).
    }) as unknown as typeof records;
  } catch (err) {
    if (err instanceof CsvError) throw badRequest("invalid_csv", csvProblem(err));
    throw err;
  }
  const out: { line: number; fields: string[] }[] = [];
  let pos = 0;
  let line = 1;
  let recordEnd = 0;
  const advanceTo = (end: number) => {
    for (; pos < end; pos++) {
      const b = buf[pos];
      if (b === LF || (b === CR && buf[pos + 1] !== LF)) line++;
    }
  };
  for (const { record, info } of records) {
    // Skipped blank lines sit between the previous record and this one.
    let start = recordEnd;
    while (start < buf.length && (buf[start] === CR || buf[start] === LF)) start++;
    advanceTo(start);
    out.push({ line, fields: record });
    recordEnd = info.bytes;
  }
  // Lines holding only blanks or commas are not rows.
  return out.filter((r) => !isBlankRecord(r.fields));
}

export interface CsvInvitationRow {
  line: number;
  email: string;
  firstName: string;
  lastName: string;
  /** Role ids or names as typed; resolved against the organization's roles by the caller. */
  roles: string[];
}

const norm = (h: string) => h.toLowerCase().replace(/[^a-z]/g, "");
/** Header names as normalized by `norm`, and the column each means. */
const COLUMNS: Record<string, "email" | "firstname" | "lastname" | "roles"> = {
  email: "email",
  firstname: "firstname",
  lastname: "lastname",
  roles: "roles",
  role: "roles",
  roleids: "roles",
  roleid: "roles",
};

/**
 * The import format (the web app sends the file as is): header `email,firstName,lastName,roles`
 * in any order, case and separators in the names ignored (`First name` works; `role` and
 * `roleIds` mean `roles`), roles by id or name separated by `;` or `|`.
 */
export function parseInvitationCsv(text: string, maxRows: number): CsvInvitationRow[] {
  let records: { line: number; fields: string[] }[];
  try {
    records = parseCsvRecords(text, maxRows + 1); // the header, then at most maxRows rows
  } catch (err) {
    if (!(err instanceof CsvRecordLimitExceeded)) throw err;
    throw new AppError(400, "too_many_rows", `A CSV import holds at most ${maxRows} rows; this one has more.`, {
      maxRows,
    });
  }
  const [header, ...rows] = records;
  if (!header) throw badRequest("invalid_csv", "The CSV document is empty.");
  // An unknown column is refused rather than ignored: a misspelt "roles" column would otherwise
  // invite everyone with no role at all, and the importer would not know.
  const unknown = header.fields.filter((f) => f.trim() !== "" && !COLUMNS[norm(f)]);
  if (unknown.length) {
    throw badRequest(
      "invalid_csv",
      `Unknown CSV column${unknown.length > 1 ? "s" : ""}: ${unknown.map((u) => JSON.stringify(u.trim())).join(", ")}. ` +
        "The columns are email, firstName, lastName and (optionally) roles.",
    );
  }
  const cols = header.fields.map((f) => COLUMNS[norm(f)]);
  const at = (name: string) => cols.indexOf(name as never);
  const missing = ["email", "firstname", "lastname"].filter((c) => at(c) < 0);
  if (missing.length) {
    throw badRequest(
      "invalid_csv",
      `The CSV header must name the columns email, firstName, lastName and (optionally) roles; missing: ${missing.join(", ")}.`,
    );
  }
  if (rows.length === 0) throw badRequest("invalid_csv", "The CSV document has a header but no rows.");
  const rolesAt = at("roles");
  return rows.map((r) => ({
    line: r.line,
    email: (r.fields[at("email")] ?? "").trim(),
    firstName: (r.fields[at("firstname")] ?? "").trim(),
    lastName: (r.fields[at("lastname")] ?? "").trim(),
    roles:
      rolesAt < 0
        ? []
        : (r.fields[rolesAt] ?? "")
            .split(/[;|]/)
            .map((s) => s.trim())
            .filter(Boolean),
  }));
}
