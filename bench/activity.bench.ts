// Activity benchmark (issue 5), on PostgreSQL:
//  1. a filtered page of GET /orgs/:orgId/activity through the real HTTP route (app.inject),
//     p50/p95 per filter — goal: p95 < 30 ms with 1,000,000 records in the organization;
//  2. GET /orgs/:orgId/activity/export of the whole organization over a real port,
//     rows/s and peak resident memory — goal: ≥ 100,000 rows/s, RSS < 200 MB;
//  3. EXPLAIN of each filter's page query, to show which index answers it.
// Data: bench/seed-activity.ts (run first automatically; reused when already seeded).
import { execFileSync, fork } from "node:child_process";
import http from "node:http";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { openDatabase } from "../src/server/db/client.js";
import { activityPageQuery } from "../src/server/modules/activity/query.js";
import type { ActivityFilters } from "../src/server/modules/activity/schemas.js";
import { createSession } from "../src/server/modules/auth/sessions.js";
import { actorId, BIG_ORG_ID, BIG_ROWS, ensureBenchDatabase } from "./seed-activity.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

if (process.argv.includes("--serve")) {
  // Child: the API server alone, sampling its own resident memory every 10 ms.
  const url = await ensureBenchDatabase(() => {});
  const database = await openDatabase({ url, poolSize: 10 });
  const config = loadConfig({ NODE_ENV: "test", APP_URL: "http://bench.test", LOG_LEVEL: "silent", DATABASE_URL: url });
  const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  process.on("message", async (m) => {
    if (m === "reset") {
      peak = process.memoryUsage().rss;
      process.send?.("ok");
    } else if (m === "peak") process.send?.(Math.max(peak, process.memoryUsage().rss));
    else if (m === "exit") {
      clearInterval(sampler);
      await app.close();
      await app.ctx.outbox.stop();
      await database.close();
      process.exit(0);
    }
  });
  const port = typeof address === "object" && address ? address.port : 0;
  // Warm up: one small export, so code is compiled before the memory baseline is read.
  const session = await createSession(database.db, {
    userId: actorId(0),
    ip: null,
    userAgent: "bench",
    twoFactorVerified: false,
    idleTtlMs: 60_000,
  });
  await app.inject({
    method: "GET",
    url: `/api/v1/orgs/${BIG_ORG_ID}/activity/export?format=csv&to=${new Date(Date.now() - 360 * 86_400_000).toISOString()}`,
    headers: { authorization: `Bearer ${session.token}` },
  });
  process.send?.({ port, rss: process.memoryUsage().rss });
  await new Promise(() => {}); // serve until told to exit
}

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const url = await ensureBenchDatabase();
const database = await openDatabase({ url, poolSize: 10 });
const config = loadConfig({ NODE_ENV: "test", APP_URL: "http://bench.test", LOG_LEVEL: "silent", DATABASE_URL: url });
const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
await app.ready();
const db = database.db;

// The caller: actor 0, owner of bench-000, with a fresh Bearer session.
const session = await createSession(db, {
  userId: actorId(0),
  ip: null,
  userAgent: "bench",
  twoFactorVerified: false,
  idleTtlMs: 3_600_000,
});
const auth = { authorization: `Bearer ${session.token}` };
const base = `/api/v1/orgs/${BIG_ORG_ID}/activity`;
const raw = new pg.Client({ connectionString: url });
await raw.connect();
const total = (await raw.query("select count(*)::int as n from activity where org_id = $1", [BIG_ORG_ID])).rows[0]
  .n as number;
console.log(
  `activity records in the organization: ${total.toLocaleString("en")} (seeded ${BIG_ROWS.toLocaleString("en")})`,
);

const now = Date.now();
const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const scenarios: { name: string; filters: ActivityFilters & { limit?: number } }[] = [
  { name: "newest page (no filter)", filters: {} },
  { name: "actorId", filters: { actorId: actorId(42) } },
  { name: "action exact (member.removed)", filters: { action: "member.removed" } },
  { name: "action prefix (member.)", filters: { action: "member." } },
  { name: "action prefix (member.r*)", filters: { action: "member.r*" } },
  { name: "target (contact #1234)", filters: { targetType: "contact", targetId: "1234" } },
  { name: "time range (a week, 3 months ago)", filters: { from: iso(now - 97 * day), to: iso(now - 90 * day) } },
  {
    name: "actor + action prefix + range",
    filters: { actorId: actorId(7), action: "contact.", from: iso(now - 180 * day) },
  },
];

function qs(f: Record<string, unknown>): string {
  return Object.entries(f)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join("&");
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

if (!process.env.BENCH_EXPORT_ONLY) await pages();

// Export over a real port. The server runs in its own process as `npm start` runs it (the
// compiled JavaScript under plain Node: Fastify, node-postgres), so its resident memory is
// measured alone; this process is the client and only counts lines.
console.log("\nExport of the whole organization over HTTP, server in its own process:");
execFileSync(process.execPath, [path.join(ROOT, "scripts/build-server.mjs"), "--with-bench"], { stdio: "inherit" });
const child = fork(path.join(ROOT, "dist/node/bench/activity.bench.js"), ["--serve"], {
  execArgv: process.env.BENCH_SERVER_NODE_FLAGS?.split(" ").filter(Boolean) ?? [],
  stdio: "inherit",
});
const ask = <T>(msg: string) =>
  new Promise<T>((resolve) => {
    child.once("message", (m) => resolve(m as T));
    child.send(msg);
  });
const { port, rss: idleRss } = await new Promise<{ port: number; rss: number }>((resolve) =>
  child.once("message", (m) => resolve(m as { port: number; rss: number })),
);
console.log(
  `server process resident memory when idle (after start and one warm-up export of 5,000 rows): ${mb(idleRss)} MB`,
);
console.log("| export | rows | seconds | rows/s | MB/s | server peak RSS MB |");
console.log("|---|---:|---:|---:|---:|---:|");
// A tenth of the records, then all of them: the same peak shows memory does not follow size.
const lastMonth = `&from=${new Date(Date.now() - 36.5 * 86_400_000).toISOString()}`;
const exports = [
  { name: "csv, last 36 days", format: "csv", q: lastMonth },
  { name: "csv, everything", format: "csv", q: "" },
  { name: "jsonl, everything", format: "jsonl", q: "" },
] as const;
let worstRate = Number.POSITIVE_INFINITY;
let peakRss = 0;
for (const { name, format, q } of exports) {
  await ask("reset");
  const t0 = performance.now();
  const { newlines, bytes } = await download(`http://127.0.0.1:${port}${base}/export?format=${format}${q}`);
  const seconds = (performance.now() - t0) / 1000;
  const peak = await ask<number>("peak");
  // CSV has a header line; names and labels of the seed hold no line breaks.
  const rows = format === "csv" ? newlines - 1 : newlines;
  const rate = rows / seconds;
  if (!q) worstRate = Math.min(worstRate, rate);
  peakRss = Math.max(peakRss, peak);
  console.log(
    `| ${name} | ${rows.toLocaleString("en")} | ${seconds.toFixed(2)} | ${Math.round(rate).toLocaleString("en")} | ${(bytes / 1e6 / seconds).toFixed(0)} | ${mb(peak)} |`,
  );
}
console.log(
  `export of everything: slowest ${Math.round(worstRate).toLocaleString("en")} rows/s (goal ≥ 100,000) ${worstRate >= 100_000 ? "OK" : "MISSED"}; ` +
    `server peak RSS ${mb(peakRss)} MB (goal < 200 MB) ${peakRss < 200e6 ? "OK" : "MISSED"}`,
);
child.send("exit");
await new Promise((r) => child.once("exit", r));

await raw.end();
await app.close();
await app.ctx.outbox.stop();
await database.close();

function download(href: string): Promise<{ newlines: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(href, { headers: auth }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`export: ${res.statusCode}`));
        let newlines = 0;
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          let i = chunk.indexOf(10);
          while (i !== -1) {
            newlines++;
            i = chunk.indexOf(10, i + 1);
          }
        });
        res.on("end", () => resolve({ newlines, bytes }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

async function pages(): Promise<void> {
  console.log(`\nFiltered page (limit 25), ${ITERATIONS} requests each through app.inject, after 20 warm-up requests:`);
  console.log("| filter | p50 ms | p95 ms | rows |");
  console.log("|---|---:|---:|---:|");
  let worstP95 = 0;
  for (const s of scenarios) {
    const path = `${base}?${qs({ limit: 25, ...s.filters })}`;
    let rows = 0;
    for (let i = 0; i < 20; i++) await app.inject({ method: "GET", url: path, headers: auth });
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t0 = performance.now();
      const res = await app.inject({ method: "GET", url: path, headers: auth });
      times.push(performance.now() - t0);
      if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${res.body}`);
      rows = res.json().items.length;
    }
    worstP95 = Math.max(worstP95, pct(times, 95));
    console.log(`| ${s.name} | ${pct(times, 50).toFixed(1)} | ${pct(times, 95).toFixed(1)} | ${rows} |`);
  }

  // A deep page: follow the cursor 200 pages down (5,000 records) and time the next page.
  {
    let cursor: string | null = null;
    for (let i = 0; i < 200; i++) {
      const page = `${base}?limit=25${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await app.inject({ method: "GET", url: page, headers: auth });
      cursor = res.json().nextCursor as string | null;
    }
    const path = `${base}?limit=25&cursor=${cursor}`;
    const times: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t0 = performance.now();
      await app.inject({ method: "GET", url: path, headers: auth });
      times.push(performance.now() - t0);
    }
    worstP95 = Math.max(worstP95, pct(times, 95));
    console.log(
      `| page 201 via cursor (no filter) | ${pct(times, 50).toFixed(1)} | ${pct(times, 95).toFixed(1)} | 25 |`,
    );
  }
  console.log(`worst p95: ${worstP95.toFixed(1)} ms (goal < 30 ms) ${worstP95 < 30 ? "OK" : "MISSED"}`);

  console.log("\nQuery plans (EXPLAIN ANALYZE of each page query, first line and index used):");
  for (const s of scenarios) {
    const q = activityPageQuery(db, BIG_ORG_ID, s.filters, null, 26).toSQL();
    const res = await raw.query(`explain (analyze, buffers, format text) ${q.sql}`, q.params);
    const lines = (res.rows as { "QUERY PLAN": string }[]).map((r) => r["QUERY PLAN"]);
    const scan = lines.find((l) => /Index|Seq Scan|Bitmap/.test(l))?.trim() ?? "";
    const sort = lines.some((l) => /\bSort\b/.test(l)) ? " + Sort" : "";
    const time = lines.find((l) => l.startsWith("Execution Time"))?.trim() ?? "";
    console.log(`- ${s.name}: ${scan.replace(/\s+\(cost.*$/, "")}${sort}; ${time}`);
  }
}
