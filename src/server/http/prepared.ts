import type { Db } from "../db/client.js";

/**
 * Statements the guard runs on a cache miss are built once per database handle: Drizzle's
 * query building costs more than the PostgreSQL execution of a prepared plan. The handle is
 * a weak key, so test databases that close take their statements with them.
 */
export function perDatabase<T>(build: (db: Db) => T): (db: Db) => T {
  const built = new WeakMap<Db, T>();
  return (db) => {
    let value = built.get(db);
    if (!value) {
      value = build(db);
      built.set(db, value);
    }
    return value;
  };
}
