// `npm run bench broadcast`: one broadcast of BENCH_RECIPIENTS (100,000) recipients on
// PostgreSQL (BENCH_DATABASE_URL; a fresh database, dropped after), sent by a separate worker
// process (bench/broadcast-worker.ts, Chorus with job workers) through the fake Graph API at
// BENCH_RATE messages/s (the channel's mps). Figures: freeze time (INSERT … SELECT of the
// audience), achieved rate vs configured over the steady part of the run (requests the fake
// Graph API accepted, sampled every second), time from a committed pause to the last request,
// then the worker is killed with SIGKILL mid-run and started again: duplicates (recipients
// requested more than once, must be 0), recipients interrupted (claimed by the dead worker:
// failed with code -1, never repeated), peak RSS of the worker. Status webhooks are off (the
// fake Graph API posts none) so the figures are the sender's alone.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import pg from "pg";
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { openDatabase } from "../src/server/db/client.js";
import { organizations } from "../src/server/db/schema/index.js";
import {
  createBroadcast,
  pauseBroadcast,
  resumeBroadcast,
  sendBroadcast,
} from "../src/server/modules/broadcasts/service.js";
import { createChannel } from "../src/server/modules/channels/service.js";
import { startSimulator } from "../src/server/modules/whatsapp/simulator/server.js";
import { approvedTemplate, registerNumber, startBroadcastWorker } from "./broadcast-fixture.js";

const N = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `chorus_bench_broadcast_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;

const sim = await startSimulator({ settings: { delays: { sent: null, delivered: null, read: null }, mps: 0 } });
const config = loadConfig({
  NODE_ENV: "test",
  LOG_LEVEL: "silent",
  DATABASE_URL: url.toString(),
  WA_GRAPH_URL: sim.url,
});
// Setup inserts 100k contacts: longer statement limits than the app's 15 s on this shared machine.
const database = await openDatabase({ url: url.toString(), poolSize: 5, statementTimeoutMs: 300_000 });
await database.migrate();
const app = await buildApp({ config, database, logger: pino({ level: "silent" }), workers: false });
await app.ready();
await app.ctx.jobs.start();
const db = database.db;
const rows = (r: unknown) => (r as { rows: Record<string, unknown>[] }).rows;

const actor = { type: "system" as const, id: null, name: "bench", ip: null, userAgent: null, requestId: null };
const [org] = await db.insert(organizations).values({ name: "Broadcast bench" }).returning();
const orgId = org!.id;
const acting = { orgId, memberId: "00000000-0000-4000-8000-000000000001" };
const ch = await createChannel(app.ctx, orgId, actor, {
  name: "Bench line",
  mode: "cloud",
  phoneNumberId: "100200300400500",
  wabaId: "900800700600500",
  displayPhoneNumber: "+1 555 010 0000",
  accessToken: "EAAGbenchTOKEN0123456789abcdefghij",
  appSecret: "benchsecret0123456789abcdef012345",
  mpsLimit: RATE,
} as never);
registerNumber(sim, {
  phoneNumberId: "100200300400500",
  wabaId: "900800700600500",
  displayPhoneNumber: "+1 555 010 0000",
  verifiedName: "Bench",
  accessToken: "EAAGbenchTOKEN0123456789abcdefghij",
  appSecret: "benchsecret0123456789abcdef012345",
});
const tpl = await approvedTemplate(db, sim, {
  orgId,
  channelId: ch.id,
  wabaId: "900800700600500",
  name: "bench_promo",
  metaId: "424242",
  components: [{ type: "BODY", text: "Hi {{1}}, see you soon.", example: { body_text: [["Ann"]] } }],
});
// N contacts in one list, 1 % opted out (left out of the audience).
await db.execute(sql`
  insert into contacts (org_id, phone, name, opted_out_at)
  select ${orgId}::uuid, '+1555' || lpad(i::text, 7, '0'), 'Person ' || i, case when i % 100 = 0 then now() end
  from generate_series(1, ${Math.ceil(N / 0.99)}) i`);
const [list] = rows(
  await db.execute(sql`insert into contact_lists (org_id, name) values (${orgId}::uuid, 'Everyone') returning id`),
);
await db.execute(sql`
  insert into list_contacts (org_id, list_id, contact_id)
  select org_id, ${String(list!.id)}::uuid, id from contacts where org_id = ${orgId}::uuid`);
const draft = await createBroadcast(app.ctx, acting, actor, {
  name: "Bench",
  channelId: ch.id,
  templateId: tpl.id,
  variables: { "1": { field: "first_name", fallback: "there" } },
  audience: { listIds: [String(list!.id)] },
});

// ---- the worker process ----
const startWorker = () => startBroadcastWorker({ databaseUrl: url.toString(), graphUrl: sim.url, env: process.env });
const peakRss = (pid: number) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
};
const accepted = () => sim.state.accepted;
async function status(): Promise<string> {
  const [r] = rows(await db.execute(sql`select status from broadcasts where id = ${draft.id}::uuid`));
  return String(r!.status);
}

let worker = await startWorker();
const t0 = performance.now();
const answer = await sendBroadcast(app.ctx, acting, actor, draft.id, {});
const answerMs = performance.now() - t0;
// An audience above one freeze chunk is frozen by the worker's job: wait for it to start sending.
while ((await status()) === "scheduled") await sleep(20);
const freezeMs = performance.now() - t0;
const [{ n: frozen }] = rows(
  await db.execute(sql`select count(*)::int as n from broadcast_recipients where broadcast_id = ${draft.id}::uuid`),
) as [{ n: number }];
console.log(
  `send answered in ${(answerMs / 1000).toFixed(2)} s (${answer.status}); audience frozen: ${frozen} recipients ${(freezeMs / 1000).toFixed(2)} s after the send`,
);

// Steady rate: skip the first 3 s (the bucket's initial burst, the worker's warm-up), then 10 s.
while (accepted() === 0) await sleep(50);
await sleep(3000);
const a1 = accepted();
const s1 = performance.now();
await sleep(10_000);
const rate = ((accepted() - a1) / (performance.now() - s1)) * 1000;
console.log(
  `rate: ${rate.toFixed(0)} messages/s achieved vs ${RATE} configured (${(((rate - RATE) / RATE) * 100).toFixed(1)} %)`,
);

// Pause: from the committed pause to the last request the fake Graph API receives.
const before = accepted();
const p0 = performance.now();
await pauseBroadcast(app.ctx, acting, actor, draft.id);
let last = accepted();
let lastAt = performance.now();
while (performance.now() - lastAt < 2000) {
  await sleep(5);
  if (accepted() !== last) {
    last = accepted();
    lastAt = performance.now();
  }
}
const pauseMs = last === before ? 0 : lastAt - p0;
console.log(`pause: last request ${pauseMs.toFixed(0)} ms after the pause committed (${last - before} in flight)`);
await resumeBroadcast(app.ctx, acting, actor, draft.id);

// Kill -9 mid-run, start again.
await sleep(4000);
const rssBefore = peakRss(worker.pid!);
worker.kill("SIGKILL");
await new Promise((r) => worker.once("exit", r));
const atKill = accepted();
console.log(`worker killed with SIGKILL after ${atKill} sends (peak RSS ${rssBefore} MB)`);
const k0 = performance.now();
worker = await startWorker();
while (accepted() === atKill) await sleep(100);
console.log(
  `sending again ${((performance.now() - k0) / 1000).toFixed(1)} s after the restart (the dead worker's lease lapses first)`,
);
while ((await status()) === "sending") await sleep(500);
const rssAfter = peakRss(worker.pid!);

const dupes = [...sim.state.sendsTo.values()].filter((n) => n > 1).length;
const [c] = rows(
  await db.execute(sql`
    select count(*) filter (where status = 'sent')::int as sent,
      count(*) filter (where status = 'failed' and error_code = -1)::int as interrupted,
      count(*) filter (where status = 'failed' and error_code <> -1)::int as failed,
      count(*) filter (where status in ('queued', 'sending'))::int as open
    from broadcast_recipients where broadcast_id = ${draft.id}::uuid`),
);
console.log(
  `final: ${await status()}; ${c!.sent} sent, ${c!.interrupted} interrupted by the kill, ${c!.failed} failed, ${c!.open} open`,
);
console.log(`requests accepted by the fake Graph API: ${accepted()}; recipients requested twice or more: ${dupes}`);
console.log(`worker peak RSS: ${rssBefore} MB before the kill, ${rssAfter} MB after the restart`);

worker.kill("SIGKILL");
await app.close();
await database.close();
await sim.close();
await admin.query(`drop database ${name} with (force)`);
await admin.end();
if (dupes > 0) process.exit(1);
