/**
 * One cell of a CSV file people open in a spreadsheet: every export (activity today, contacts
 * later) writes its cells through here.
 */

/** Quoted when the cell holds a quote, a line break, or a separator: `,` and `;` (Excel's separator in many locales). */
const NEEDS_QUOTES = /[",;\r\n]/;
/**
 * A cell a spreadsheet would run as a formula (OWASP "CSV injection"): one starting with
 * = + - @ TAB or CR, also after leading whitespace, which spreadsheets skip before looking for `=`.
 */
const FORMULA_START = /^[\s]*[=+\-@\t\r]/;

/**
 * RFC 4180 quoting (quotes doubled), and a formula-looking cell gets a leading `'` so spreadsheets
 * show it as text.
 */
export function csvCell(value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
