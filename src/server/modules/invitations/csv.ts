import { badRequest } from "../../http/problem.js";

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  const src = text.replace(/^\uFEFF/, ""); // spreadsheet exports often start with a BOM
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      fields.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      fields.push(field);
      out.push({ line: recordLine, fields });
      fields = [];
      field = "";
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) throw badRequest("invalid_csv", `Line ${recordLine}: a quoted field is not closed.`);
  if (field !== "" || fields.length) {
    fields.push(field);
    out.push({ line: recordLine, fields });
  }
  // Blank lines are not rows.
  return out.filter((r) => r.fields.some((f) => f.trim() !== ""));
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

/**
 * The import format of the web app: header `email,firstName,lastName,roles` (any order,
 * case and separators in the names ignored: `First name` works), roles separated by `;` or `|`.
 */
export function parseInvitationCsv(text: string, maxRows: number): CsvInvitationRow[] {
  const [header, ...rows] = parseCsvRecords(text);
  if (!header) throw badRequest("invalid_csv", "The CSV document is empty.");
  const cols = header.fields.map(norm);
  const at = (name: string) => cols.indexOf(name);
  const missing = ["email", "firstname", "lastname"].filter((c) => at(c) < 0);
  if (missing.length) {
    throw badRequest(
      "invalid_csv",
      `The CSV header must name the columns email, firstName, lastName and (optionally) roles; missing: ${missing.join(", ")}.`,
    );
  }
  if (rows.length === 0) throw badRequest("invalid_csv", "The CSV document has a header but no rows.");
  if (rows.length > maxRows) {
    throw badRequest("too_many_rows", `A CSV import holds at most ${maxRows} rows; this one has ${rows.length}.`);
  }
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
