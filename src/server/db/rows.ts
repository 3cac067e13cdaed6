/**
 * The rows of `db.execute(sql…)`: PGlite's driver returns them as an array, node-postgres's a
 * result with `rows`. One place that knows both.
 */
export function rowsOf<T = Record<string, unknown>>(res: unknown): T[] {
  return (Array.isArray(res) ? res : (res as { rows: T[] }).rows) as T[];
}
