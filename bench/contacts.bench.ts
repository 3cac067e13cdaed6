// Contacts benchmark (issue 13), on PostgreSQL:
//  1. first page of GET /orgs/:orgId/contacts through the real route (app.inject) with 1,000,000
//     contacts in the organization, per search / filter / sort, p50/p95 — goal: p95 < 30 ms;
//  2. a 100,000-row CSV import (POST /contacts/import, then the contacts.import job) in a child
//     process: rows/s and the process's peak resident memory — goal: RSS < 250 MB;
// The database (chorus_bench_contacts on BENCH_DATABASE_URL's server) is seeded with
// INSERT … SELECT generate_series and reused while the migrations and sizes are the same.
//   npm run bench contacts                 BENCH_CONTACTS=100000 npm run bench contacts (smaller)
//   BENCH_IMPORT_ROWS=100000 (default)     BENCH_ITERATIONS=200 (default)
//   BENCH_SKIP_PAGES=1 / BENCH_SKIP_IMPORT=1: one half only
import { execFileSync, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { openDatabase } from "../src/server/db/client.js";
import { createSession } from "../src/server/modules/auth/sessions.js";
import { seedSystemRoles } from "../src/server/modules/roles/repo.js";
import { benchDatabaseUrl, ensureSeededDatabase } from "./bench-database.js";

const DB_NAME = process.env.BENCH_CONTACTS_DB ?? "chorus_bench_contacts";
const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 1_000_000);
const IMPORT_ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200);
const ORG = "00000000-0000-4000-8000-0000000c0000";
const IMPORT_ORG = "00000000-0000-4000-8000-0000000c0001";
const USER = "00000000-0000-4000-8000-0000000c00aa";
const RARE_TAG = "00000000-0000-4000-8000-0000000c7001";
const COMMON_TAG = "00000000-0000-4000-8000-0000000c7000";
const LIST = "00000000-0000-4000-8000-0000000c1000";

const ROOT = path.resolve(import.meta.dirname, "..");
const dbUrl = () => benchDatabaseUrl(DB_NAME);
const mb = (b: number) => (b / 1e6).toFixed(0);

async function ensureSeeded(): Promise<void> {
  await ensureSeededDatabase({
    name: DB_NAME,
    version: `contacts/${CONTACTS}/v1`,
    seed: async ({ step, url }) => {
      await step(
        "organizations, owner",
        `insert into users (id, email, password_hash, first_name, last_name, email_verified_at)
           values ('${USER}', 'bench.contacts@example.com', 'x', 'Bench', 'Owner', now());
         insert into organizations (id, name) values ('${ORG}', 'contacts-1m'), ('${IMPORT_ORG}', 'contacts-import');
         insert into memberships (org_id, user_id, is_owner, first_name, last_name)
           values ('${ORG}', '${USER}', true, 'Bench', 'Owner'), ('${IMPORT_ORG}', '${USER}', true, 'Bench', 'Owner');`,
      );
      const database = await openDatabase({ url, poolSize: 2 });
      await seedSystemRoles(database.db, ORG);
      await seedSystemRoles(database.db, IMPORT_ORG);
      await database.close();
      // One INSERT … SELECT over generate_series: the server builds a million rows without a round trip each.
      await step(
        `${CONTACTS.toLocaleString("en")} contacts`,
        `insert into contacts (org_id, phone, name, attributes, last_message_at, created_at, updated_at)
         select '${ORG}', '+1' || (2000000000 + g)::text,
           case when g % 50 = 0 then null else
             (array['Ana','Ben','Carla','David','Elena','Farid','Gita','Hugo','Ines','Jon','Kemal','Lucia','Mario','Nora',
                    'Omar','Paula','Quique','Rosa','Sven','Tomas','Uma','Victor','Wen','Ximena','Yusuf','Zoe'])[1 + g % 26]
             || ' ' || (array['Garcia','Smith','Rossi','Muller','Dubois','Silva','Kowalski','Nguyen','Kim','Sato',
                    'Lopez','Brown','Ivanov','Haddad','Okafor','Jensen','Costa','Novak','Yilmaz','Chen'])[1 + (g / 26) % 20]
             || ' ' || g::text end,
           case when g % 3 = 0 then jsonb_build_object('city', 'City ' || (g % 100)::text) else '{}'::jsonb end,
           case when g % 5 < 3 then now() - (g % 100000) * interval '1 minute' end,
           now() - (${CONTACTS} - g) * interval '30 seconds', now()
         from generate_series(1, ${CONTACTS}) g`,
      );
      await step(
        "tags, lists and memberships",
        `insert into tags (org_id, id, name) values ('${ORG}', '${COMMON_TAG}', 'Common'), ('${ORG}', '${RARE_TAG}', 'Rare');
         insert into tags (org_id, name) select '${ORG}', 'Tag ' || g from generate_series(1, 18) g;
         insert into contact_lists (org_id, id, name) values ('${ORG}', '${LIST}', 'Newsletter');
         insert into contact_tags (org_id, contact_id, tag_id)
           select org_id, id, '${COMMON_TAG}' from contacts where org_id = '${ORG}' and abs(hashtext(id::text)) % 10 < 3;
         insert into contact_tags (org_id, contact_id, tag_id)
           select org_id, id, '${RARE_TAG}' from contacts where org_id = '${ORG}' and abs(hashtext(id::text)) % 1000 = 7;
         insert into list_contacts (org_id, list_id, contact_id)
           select org_id, '${LIST}', id from contacts where org_id = '${ORG}' and abs(hashtext(id::text || 'l')) % 5 = 0;`,
      );
      await step("vacuum analyze", "vacuum analyze");
    },
  });
}

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

// --- child: the API server alone (compiled, as `npm start` runs it, with job workers), sampling
// its own resident memory every 10 ms.
if (process.argv.includes("--serve")) {
  const database = await openDatabase({ url: dbUrl(), poolSize: 10 });
  const config = loadConfig({
    NODE_ENV: "test",
    APP_URL: "http://bench.test",
    LOG_LEVEL: "silent",
    DATABASE_URL: dbUrl(),
  });
  const app = await buildApp({ config, database, logger: pino({ level: "silent" }), workers: true });
  await app.listen({ port: 0, host: "127.0.0.1" });
  await app.ctx.jobs.start();
  // The previous run's contacts: on a plain connection, without the app's statement timeout
  // (100,000 contacts and their tags take longer than it on a busy machine).
  const cleaner = new pg.Client({ connectionString: dbUrl() });
  await cleaner.connect();
  await cleaner.query(`delete from contacts where org_id = '${IMPORT_ORG}'`);
  await cleaner.query(`delete from contact_imports where org_id = '${IMPORT_ORG}'`);
  await cleaner.end();
  let peak = 0;
  // What the process held when its RSS peaked (V8 heap, external buffers): where the memory went.
  let atPeak: NodeJS.MemoryUsage = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak) {
      peak = m.rss;
      atPeak = m;
    }
  }, 10);
  process.on("message", async (m) => {
    if (m === "reset") {
      atPeak = process.memoryUsage();
      peak = atPeak.rss;
      process.send?.("ok");
    } else if (m === "peak") process.send?.({ peak, atPeak });
    else if (m === "exit") {
      clearInterval(sampler);
      await app.close();
      await database.close();
      process.exit(0);
    }
  });
  const address = app.server.address();
  process.send?.({ port: typeof address === "object" && address ? address.port : 0, rss: process.memoryUsage().rss });
  await new Promise(() => {});
}

// --- parent -----------------------------------------------------------------------------------
await ensureSeeded();
async function pages(): Promise<void> {
  const database = await openDatabase({ url: dbUrl(), poolSize: 10 });
  const config = loadConfig({
    NODE_ENV: "test",
    APP_URL: "http://bench.test",
    LOG_LEVEL: "silent",
    DATABASE_URL: dbUrl(),
  });
  const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
  await app.ready();
  const session = await createSession(database.db, {
    userId: USER,
    ip: null,
    userAgent: "bench",
    twoFactorVerified: false,
    idleTtlMs: 3_600_000,
  });
  const headers = { authorization: `Bearer ${session.token}` };
  const page2 = async (qs: string) => {
    const r = await app.inject({ method: "GET", url: `/api/v1/orgs/${ORG}/contacts?${qs}`, headers });
    return r.json().nextCursor as string;
  };
  const cases: [string, string][] = [
    ["newest first (default)", ""],
    ["sort=name", "sort=name"],
    ["sort=lastMessage", "sort=lastMessage"],
    ["q=name prefix 'mario'", "q=mario"],
    ["q=name prefix 'a' (common)", "q=a"],
    ["q=name prefix 'zoe garcia 25' (rare)", "q=zoe%20garcia%2025"],
    ["q=phone prefix '+1200012'", "q=%2B1200012"],
    ["q=phone prefix without + '12000'", "q=12000"],
    ["q=name + sort=name", "q=mario&sort=name"],
    ["tagId common (30%)", `tagId=${COMMON_TAG}`],
    ["tagId rare (0.1%)", `tagId=${RARE_TAG}`],
    ["tagId rare + sort=name", `tagId=${RARE_TAG}&sort=name`],
    ["listId (20%)", `listId=${LIST}`],
    ["listId + tagId common + sort=name", `listId=${LIST}&tagId=${COMMON_TAG}&sort=name`],
    ["q=phone + tagId", `q=%2B12000&tagId=${COMMON_TAG}`],
  ];
  cases.push(["page 2 (cursor), newest first", `cursor=${await page2("")}`]);
  cases.push(["page 2 (cursor), sort=name", `sort=name&cursor=${await page2("sort=name")}`]);

  console.log(
    `\nGET /contacts first page (25), ${CONTACTS.toLocaleString("en")} contacts, ${ITERATIONS} requests each:`,
  );
  console.log("case | p50 ms | p95 ms | items");
  let worst: [string, number, string] = ["", 0, ""];
  for (const [label, qs] of cases) {
    const times: number[] = [];
    let items = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const s = performance.now();
      const r = await app.inject({ method: "GET", url: `/api/v1/orgs/${ORG}/contacts?${qs}`, headers });
      times.push(performance.now() - s);
      if (r.statusCode !== 200) throw new Error(`${label}: ${r.statusCode} ${r.body}`);
      items = r.json().items.length;
    }
    const p95 = pct(times, 95);
    if (p95 > worst[1]) worst = [label, p95, qs];
    console.log(`${label} | ${pct(times, 50).toFixed(1)} | ${p95.toFixed(1)} | ${items}`);
  }
  console.log(`slowest: ${worst[0]} (p95 ${worst[1].toFixed(1)} ms)`);
  await app.close();
  await database.close();
}
if (!process.env.BENCH_SKIP_PAGES) await pages();
if (process.env.BENCH_SKIP_IMPORT) process.exit(0);

console.log(
  `\nImport of ${IMPORT_ROWS.toLocaleString("en")} rows (phone, name, 2 tags, 1 list, 2 attributes) over HTTP, ` +
    "server compiled and alone in its own process with job workers:",
);
execFileSync(process.execPath, [path.join(ROOT, "scripts/build-server.mjs"), "--with-bench"], { stdio: "inherit" });
// Plain Node (not the tsx loader this process runs under), as `npm start` runs the server.
// With the V8 flags `npm start` gives the server (package.json "start"), so the figure is production's.
const startFlags = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.start as string)
  .split(" ")
  .filter((w) => w.startsWith("--max-"));
const child = fork(path.join(ROOT, "dist/node/bench/contacts.bench.js"), ["--serve"], {
  stdio: "inherit",
  execArgv: startFlags,
});
const ask = <T>(msg: string) =>
  new Promise<T>((resolve) => {
    child.once("message", (m) => resolve(m as T));
    child.send(msg);
  });
const { port, rss: idleRss } = await new Promise<{ port: number; rss: number }>((resolve) =>
  child.once("message", (m) => resolve(m as never)),
);
const lines = ["phone,name,tags,lists,attr.city,attr.plan"];
for (let i = 0; i < IMPORT_ROWS; i++) {
  const n = String(1_000_000 + i);
  lines.push(
    `+1 303 ${n.slice(0, 3)} ${n.slice(3)},Imported Person ${i},vip;t${i % 10},spring,City ${i % 100},${i % 2 ? "gold" : "free"}`,
  );
}
const csv = lines.join("\n");
const raw = await openDatabase({ url: dbUrl(), poolSize: 1 });
const importSession = await createSession(raw.db, {
  userId: USER,
  ip: null,
  userAgent: "bench",
  twoFactorVerified: false,
  idleTtlMs: 3_600_000,
});
await raw.close();
const auth = { authorization: `Bearer ${importSession.token}` };
await ask("reset");
const t0 = performance.now();
const posted = await fetch(`http://127.0.0.1:${port}/api/v1/orgs/${IMPORT_ORG}/contacts/import`, {
  method: "POST",
  headers: { ...auth, "content-type": "text/csv" },
  body: csv,
});
const accepted = performance.now() - t0;
if (posted.status !== 202) throw new Error(`import refused: ${posted.status} ${await posted.text()}`);
const { id } = (await posted.json()) as { id: string };
let state: Record<string, unknown> = {};
for (;;) {
  await new Promise((r) => setTimeout(r, 250));
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/orgs/${IMPORT_ORG}/contacts/imports/${id}`, { headers: auth });
  state = (await r.json()) as Record<string, unknown>;
  if (state.state === "completed" || state.state === "failed") break;
}
const ms = performance.now() - t0;
const { peak, atPeak } = await ask<{ peak: number; atPeak: NodeJS.MemoryUsage }>("peak");
child.send("exit");
await new Promise((r) => child.once("exit", r));
console.log(
  `  CSV ${mb(Buffer.byteLength(csv))} MB; 202 after ${accepted.toFixed(0)} ms; completed in ${(ms / 1000).toFixed(1)} s`,
);
console.log(
  `  ${Math.round(IMPORT_ROWS / (ms / 1000)).toLocaleString("en")} rows/s; server RSS idle ${mb(idleRss)} MB, ` +
    `peak ${mb(peak)} MB (goal < 250 MB) ${peak < 250e6 ? "OK" : "MISSED"}`,
);
console.log(
  `  at the peak: V8 heap ${mb(atPeak.heapUsed)} MB used of ${mb(atPeak.heapTotal)} MB, ` +
    `external ${mb(atPeak.external)} MB (array buffers ${mb(atPeak.arrayBuffers)} MB); server flags ${startFlags.join(" ") || "(none)"}, NODE_OPTIONS ${process.env.NODE_OPTIONS ?? "(none)"}`,
);
const { state: s, total, created, updated, failed, createdAt, finishedAt } = state;
const jobSeconds = (Date.parse(String(finishedAt)) - Date.parse(String(createdAt))) / 1000;
console.log(
  `  the import itself (queued → completed, without the client's polling): ${jobSeconds.toFixed(1)} s, ` +
    `${Math.round(IMPORT_ROWS / jobSeconds).toLocaleString("en")} rows/s`,
);
console.log(`  result: ${JSON.stringify({ state: s, total, created, updated, failed })}`);
