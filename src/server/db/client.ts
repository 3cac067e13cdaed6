import { mkdirSync } from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import pg from "pg";
import { projectRoot } from "../lib/project-root.js";
import * as schema from "./schema/index.js";

export type Schema = typeof schema;
/** One type for both drivers: every query in the project is written against it. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema>;
/** Functions that may run inside or outside a transaction take this. */
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** The embedded database's client (its LISTEN feeds the authorization cache). */
  pglite?: PGlite;
  /** The server's connection URL (the authorization cache opens its own LISTEN connection). */
  url?: string;
  /** Where the data lives, for the start-up log (never includes a password). */
  location: string;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = path.join(projectRoot(), "migrations");

// Any constant works: it only has to be the same for every instance of the app.
const MIGRATION_LOCK_KEY = 7_283_114_001;

export interface OpenOptions {
  /** A PostgreSQL URL; when absent an embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite directory; absent = in memory (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
  /** PostgreSQL: wait this long for a connection (0 = no limit). */
  connectTimeoutMs?: number;
  /** PostgreSQL: the server cancels a statement running longer (0 = no limit). */
  statementTimeoutMs?: number;
  /** PostgreSQL: the server ends a session whose transaction sits idle this long (0 = no limit). */
  idleInTransactionTimeoutMs?: number;
}

/** The defaults of DATABASE_CONNECT_TIMEOUT, DATABASE_STATEMENT_TIMEOUT and DATABASE_IDLE_IN_TRANSACTION_TIMEOUT. */
export const DEFAULT_DB_TIMEOUTS = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 15_000,
  idleInTransactionTimeoutMs: 60_000,
};

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, { ...DEFAULT_DB_TIMEOUTS, poolSize: 10, ...definedOnly(opts) });
  return openPglite(opts.dataDir);
}

const definedOnly = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

async function openPglite(dataDir: string | undefined): Promise<Database> {
  // Loaded on demand: PGlite's WebAssembly module costs ~45 MB of resident memory, which a
  // deployment on a PostgreSQL server should not pay.
  const [{ PGlite }, { pg_trgm }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import("@electric-sql/pglite"),
    // The trigram extension (message text search, migration 0011): a contrib module PGlite ships.
    import("@electric-sql/pglite/contrib/pg_trgm"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite({ ...(dataDir ? { dataDir } : {}), extensions: { pg_trgm } });
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    pglite: client,
    location: dataDir ? path.resolve(dataDir) : "memory",
    migrate: () => migratePglite(db as never, { migrationsFolder: MIGRATIONS_DIR }),
    ping: async () => {
      await client.query("select 1");
    },
    close: () => client.close(),
  };
}

/** How much longer than the server's statement_timeout the client waits for an answer. */
const READ_TIMEOUT_MARGIN_MS = 5_000;

/**
 * A pooled connection that survives the server going away: a socket error while the connection
 * is checked out (a transaction in flight) is reported to the query, not thrown as an unhandled
 * 'error' event; and a query the server never answered (read timeout: server hung) ends the
 * connection, which could not serve another query in order anyway. The pool drops it on release.
 */
class ResilientClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on("error", () => {});
  }

  // biome-ignore lint/suspicious/noExplicitAny: forwards every overload of pg.Client#query
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((err: Error) => {
        if (err?.message === "Query read timeout") this.#abandon();
      });
    }
    return result;
  }

  #abandon(): void {
    (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

async function openPostgres(url: string, opts: Required<Omit<OpenOptions, "url" | "dataDir">>): Promise<Database> {
  const connection = {
    connectionString: url,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    keepAlive: true,
  };
  const pool = new pg.Pool({
    ...connection,
    max: opts.poolSize,
    Client: ResilientClient,
    // Sent at connection start-up: the server enforces them on every statement and transaction.
    statement_timeout: opts.statementTimeoutMs,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs,
    // The client's own limit, for a server that hangs and cannot even cancel.
    ...(opts.statementTimeoutMs > 0 ? { query_timeout: opts.statementTimeoutMs + READ_TIMEOUT_MARGIN_MS } : {}),
  });
  // An idle client that errors (server restart) must not crash the process.
  pool.on("error", () => {});
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  const safe = new URL(url);
  safe.password = "";
  return {
    db,
    kind: "postgres",
    url,
    location: safe.toString(),
    migrate: async () => {
      // Its own connection, without statement limits: a migration may rightly run long, and
      // waits for the advisory lock while another instance migrates.
      const client = new pg.Client(connection);
      client.on("error", () => {});
      await client.connect();
      try {
        // Several instances may start at once: the advisory lock lets one migrate at a time.
        await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_DIR });
      } finally {
        await client.end().catch(() => {});
      }
    },
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => pool.end(),
  };
}
