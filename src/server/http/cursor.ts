import { z } from "zod";
import { badRequest } from "./problem.js";

/** Opaque cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.output<T> | null {
  if (!cursor) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the 400 below
  }
  throw badRequest("invalid_cursor", "The cursor is not valid; start again without it.", [
    { path: "cursor", message: "Invalid cursor.", in: "query" },
  ]);
}

/** Date and time fields that exist: Feb 30th or hour 25 in a forged cursor would fail the SQL cast (a 500). */
function onCalendar(y: number, mo: number, d: number, h: number, mi: number, sec: number): boolean {
  const day = new Date(Date.UTC(y, mo - 1, d));
  return (
    y >= 1 &&
    day.getUTCFullYear() === y &&
    day.getUTCMonth() === mo - 1 &&
    day.getUTCDate() === d &&
    h < 24 &&
    mi < 60 &&
    sec < 60
  );
}

/**
 * PostgreSQL's text form of a timestamptz (`2025-01-31 09:15:00.123456+00`), valid on the
 * calendar: a forged or stale cursor must answer 400, not fail the cast in SQL with a 500.
 */
const PG_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::[0-5]\d){0,2}$/;
export function isPgTimestampText(s: string): boolean {
  if (s === "-infinity" || s === "infinity") return true;
  const m = PG_TIMESTAMP.exec(s);
  if (!m) return false;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, off = 0] = m.slice(1).map(Number);
  return onCalendar(y, mo, d, h, mi, sec) && off < 16;
}

/** ISO 8601 UTC with microseconds (`2025-01-31T09:15:00.123456Z`), valid on the calendar. */
const ISO_MICROS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
export function isIsoMicros(s: string): boolean {
  const m = ISO_MICROS.exec(s);
  if (!m) return false;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = m.slice(1).map(Number);
  return onCalendar(y, mo, d, h, mi, sec);
}

const keysetAt = z.string().refine(isIsoMicros);

// Keyset positions (at, id) of the time-ordered lists, one per id type: each list refuses the
// other's ids, which its SQL cast (`::bigint`, `::uuid`) would fail on with a 500.
// `at` is ISO 8601 UTC with microseconds, as PostgreSQL stores them (a JavaScript Date would
// drop them and skip or repeat records across pages).

/** Activity: a bigint id (a safe integer: larger ones are not ids this API ever handed out). */
export const bigintKeyset = z.object({ at: keysetAt, id: z.number().int().nonnegative() });
export type BigintKeyset = z.output<typeof bigintKeyset>;
/** Login activity and sessions: a UUID id. */
export const uuidKeyset = z.object({ at: keysetAt, id: z.uuid() });
