/** A PostgreSQL error code (`23505` unique violation, …), whether thrown as is or wrapped by Drizzle. */
export function pgCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as never, i++) {
    if (typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** The constraint a violation names (node-postgres and PGlite both report it). */
export function pgConstraint(err: unknown): string | undefined {
  for (
    let e = err as { constraint?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    e = e.cause as never, i++
  ) {
    if (typeof e.constraint === "string") return e.constraint;
  }
  return undefined;
}

/** Socket errors on the way to the server: it is down, restarting or unreachable. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs of a server that cannot serve right now: 08 connection exceptions, 53 insufficient
 * resources (53300 too many connections), 57P01–57P03 shut down or starting up, 57014 a statement
 * cancelled (by statement_timeout: the server is too slow to answer in time).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|53...|57P0[1-3]|57014)$/;

/** node-postgres and pg-pool report a lost or never-made connection by message only. */
const UNAVAILABLE_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end)/;

/**
 * The database cannot be reached or did not answer in time, as opposed to refusing a query:
 * a 503 with Retry-After, not a 500. Looks through Drizzle's wrapping (`cause`) and Node's
 * AggregateError (one error per address tried).
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  if (typeof e.message === "string" && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
