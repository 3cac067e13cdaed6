// The seeded databases of the benchmarks (activity, contacts, inbox). Inserting a million rows
// takes minutes on the shared machine, so each data set stays on the server between runs and is
// rebuilt only when its marker (bench_meta 'seed') no longer matches.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { MIGRATIONS_DIR, openDatabase } from "../src/server/db/client.js";

export const BENCH_SERVER_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** The URL of database `name` on the benchmarks' server. */
export function benchDatabaseUrl(name: string): string {
  const u = new URL(BENCH_SERVER_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs one seeding statement and prints how long it took. */
export type SeedStep = (label: string, sql: string, params?: unknown[]) => Promise<void>;

export interface SeededDatabase {
  name: string;
  /** The seed's version (sizes, shape of the data): a database seeded under another is rebuilt. */
  version: string;
  /**
   * Keep the data when migrations change and apply the new ones to it, for a seed that takes
   * too long to rebuild for each new index. Otherwise a changed migration means a new seed.
   */
  migrateReused?: boolean;
  /** Fills the new, migrated database at `url` over `c`, a plain connection outside the app's pool. */
  seed: (on: { c: pg.Client; step: SeedStep; url: string }) => Promise<void>;
  log?: (line: string) => void;
}

/** Ensures database `name` is seeded (reusing it when its marker matches); returns its URL. */
export async function ensureSeededDatabase(opts: SeededDatabase): Promise<string> {
  const { name, log = console.log } = opts;
  const url = benchDatabaseUrl(name);
  // A seed kept across migrations must not be invalidated by them: its marker is the version alone.
  const want = opts.migrateReused ? opts.version : migrationsHash(opts.version);
  const exists = await admin(
    async (c) => (await c.query("select 1 from pg_database where datname = $1", [name])).rowCount,
  );
  if (exists) {
    const seeded = await seedMarker(url);
    if (seeded === want && !opts.migrateReused) {
      log(`bench database ${name} already seeded (${want})`);
      return url;
    }
    if (seeded === want) {
      log(`bench database ${name} already seeded (${want}); applying new migrations`);
      // A new index over millions of rows outlasts the app's statement timeout.
      const database = await openDatabase({ url, poolSize: 2, statementTimeoutMs: 0 });
      await database.migrate();
      await database.close();
      return url;
    }
    log(`bench database ${name} is stale: recreating`);
    await admin((c) => c.query(`drop database ${name} with (force)`));
  }
  await admin((c) => c.query(`create database ${name}`));
  const database = await openDatabase({ url, poolSize: 2 });
  await database.migrate();
  await database.close();

  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const t0 = performance.now();
    const step: SeedStep = async (label, sql, params = []) => {
      const s = performance.now();
      await c.query(sql, params);
      log(`  ${label}: ${((performance.now() - s) / 1000).toFixed(1)} s`);
    };
    await opts.seed({ c, step, url });
    // Written last: a seed interrupted half-way leaves no marker and is redone next time.
    await c.query("create table bench_meta (key text primary key, value text not null)");
    await c.query("insert into bench_meta values ('seed', $1)", [want]);
    log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await c.end();
  }
  return url;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: BENCH_SERVER_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function seedMarker(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c
      .query("select value from bench_meta where key = 'seed'")
      .then((r) => r.rows[0]?.value as string | undefined)
      .catch(() => undefined);
  } finally {
    await c.end();
  }
}

function migrationsHash(version: string): string {
  const h = createHash("sha256");
  for (const f of readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    h.update(readFileSync(path.join(MIGRATIONS_DIR, f)));
  }
  return h.update(version).digest("hex").slice(0, 16);
}
