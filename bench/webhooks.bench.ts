// `npm run bench webhooks`: signed WhatsApp webhook ingest on PostgreSQL (BENCH_DATABASE_URL,
// default postgres://postgres@127.0.0.1:5432/test; a fresh database is created and dropped).
// One app instance listening on loopback (no workers: the request path only — verify the
// HMAC over the raw body, store the event, enqueue its job, answer 200); CONCURRENCY keep-alive
// connections post distinct Meta-shaped, signed payloads. Figures: acknowledged requests/s,
// p50/p99 latency. Then redelivery: DISTINCT messages each posted 2–5 times concurrently, in
// shuffled order and in differently-ordered envelopes, applied by the worker; exactly DISTINCT
// messages must be stored. Load generator and server share the machine's 2 cores.
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { eq, sql } from "drizzle-orm";
import pg from "pg";
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { openDatabase } from "../src/server/db/client.js";
import { messages, organizations, waChannels } from "../src/server/db/schema/index.js";
import { appSecretOf } from "../src/server/modules/channels/repo.js";
import { createChannel } from "../src/server/modules/channels/service.js";
import { webhookJob } from "../src/server/modules/whatsapp/ingest.js";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const DISTINCT = Number(process.env.BENCH_DISTINCT ?? 1_000);

const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `chorus_bench_webhooks_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;

const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: url.toString() });
const database = await openDatabase({ url: url.toString(), poolSize: 20 });
await database.migrate();
const app = await buildApp({ config, database, logger: pino({ level: "silent" }), workers: false });
await app.ready();
await app.ctx.jobs.start();
await app.listen({ port: 0, host: "127.0.0.1" });
const port = (app.server.address() as AddressInfo).port;

const actor = { type: "system" as const, id: null, name: "bench", ip: null, userAgent: null, requestId: null };
async function channel(label: string) {
  const [org] = await database.db.insert(organizations).values({ name: label }).returning();
  const dto = await createChannel(app.ctx, org!.id, actor, {
    name: label,
    mode: "simulator",
    displayPhoneNumber: "+1 555 010 0000",
  });
  const [row] = await database.db.select().from(waChannels).where(eq(waChannels.id, dto.id));
  return {
    orgId: org!.id,
    path: `/api/v1/webhooks/whatsapp/${row!.webhookKey}`,
    secret: appSecretOf(config, row!),
    pnid: row!.phoneNumberId,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function post(path: string, body: string, secret: string): Promise<{ status: number; ms: number }> {
  const sig = `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-hub-signature-256": sig,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

let seq = 0;
function payload(
  pnid: string,
  from: string,
  wamid = `wamid.BENCH${(seq++).toString(36)}${randomBytes(6).toString("hex")}`,
  order = 0,
) {
  const message = {
    from,
    id: wamid,
    timestamp: String(Math.floor(Date.now() / 1000)),
    type: "text",
    text: { body: `caf\u00e9 #${seq}` },
  };
  const value = {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "15550100000", phone_number_id: pnid },
    contacts: [{ profile: { name: "Bench Customer" }, wa_id: from }],
    messages: [message],
  };
  // Meta escapes non-ASCII; `order` varies key order so redeliveries are different bytes.
  const json =
    order % 2
      ? JSON.stringify({
          entry: [{ changes: [{ field: "messages", value }], id: "1" }],
          object: "whatsapp_business_account",
        })
      : JSON.stringify({
          object: "whatsapp_business_account",
          entry: [{ id: "1", changes: [{ value, field: "messages" }] }],
        });
  return json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

// ---- 1. acknowledged ingest rate ----
const a = await channel("Bench ingest");
const bodies = Array.from({ length: REQUESTS }, (_, i) =>
  payload(a.pnid, `1555${String(1_000_000 + (i % 5000)).slice(-7)}`),
);
// Warm-up (JIT, pool connections, the channel cache).
await Promise.all(Array.from({ length: 200 }, () => post(a.path, payload(a.pnid, "15550000001"), a.secret)));
const latencies: number[] = [];
let ok = 0;
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const r = await post(a.path, bodies[next++]!, a.secret);
      latencies.push(r.ms);
      if (r.status === 200) ok++;
    }
  }),
);
const elapsed = performance.now() - t0;
latencies.sort((x, y) => x - y);
console.log(`node ${process.version}; PostgreSQL; ${REQUESTS} signed webhooks, ${CONCURRENCY} connections\n`);
console.log("| phase | requests | 200 | acknowledged / s | p50 ms | p99 ms |");
console.log("| ----- | -------: | --: | ---------------: | -----: | -----: |");
console.log(
  `| ingest | ${REQUESTS} | ${ok} | ${Math.round((ok * 1000) / elapsed).toLocaleString("en")} | ${pct(latencies, 50).toFixed(1)} | ${pct(latencies, 99).toFixed(1)} |`,
);

// ---- 2. redelivery: each message 2–5 times, concurrently, shuffled ----
const b = await channel("Bench redelivery");
const sends: { body: string }[] = [];
for (let i = 0; i < DISTINCT; i++) {
  const wamid = `wamid.DUP${i}${randomBytes(6).toString("hex")}`;
  const from = `1555${String(2_000_000 + (i % 300)).slice(-7)}`;
  const copies = 2 + (i % 4);
  for (let k = 0; k < copies; k++) sends.push({ body: payload(b.pnid, from, wamid, k) });
}
for (let i = sends.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [sends[i], sends[j]] = [sends[j]!, sends[i]!];
}
let dupOk = 0;
next = 0;
const t1 = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < sends.length) {
      const r = await post(b.path, sends[next++]!.body, b.secret);
      if (r.status === 200) dupOk++;
    }
  }),
);
const dupMs = performance.now() - t1;
console.log(
  `| redelivery | ${sends.length} | ${dupOk} | ${Math.round((dupOk * 1000) / dupMs).toLocaleString("en")} | | |`,
);

// Apply everything queued (both phases) with this process as the worker.
const t2 = performance.now();
const jobsRun = await app.ctx.jobs.drain(webhookJob, 100);
const applyMs = performance.now() - t2;
const counted = (await database.db.execute(
  sql`select count(*)::int as n from wa_webhook_events where processed_at is not null`,
)) as unknown as { rows: { n: number }[] };
const applied = counted.rows[0]!.n;
const stored = await database.db.select({ id: messages.id }).from(messages).where(eq(messages.orgId, b.orgId));
console.log(
  `\napplied ${applied} stored events (${jobsRun} jobs) in ${(applyMs / 1000).toFixed(1)} s (${Math.round((applied * 1000) / applyMs)} events/s, one drain loop);` +
    ` redelivery: ${DISTINCT} distinct messages sent ${sends.length} times → ${stored.length} stored ${stored.length === DISTINCT ? "(exactly once)" : "(WRONG)"}`,
);

await app.close();
agent.destroy();
await database.close();
await admin.query(`drop database if exists ${name} with (force)`);
await admin.end();
process.exit(stored.length === DISTINCT ? 0 : 1);
