// `npm run bench realtime`: real-time events, commit → stream, DESIGN §8 ("2 instances, 1,000
// streams: p95 < 150 ms; 0 events outside a member's visibility"). A fresh database on PostgreSQL
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test), TWO app instances (each
// its own pool, LISTEN connection and authorization cache) listening on loopback; 50 members
// (5 chat managers who see everything, 45 operators who see only what is assigned to them),
// 20 streams each = 1,000 SSE streams over real sockets, alternating between the instances.
// Writers commit transactions that reassign a conversation and publish an event (the change
// points' own `publish`), spread over both instances' pools. Latency: from just before the
// writer's COMMIT to the event parsed off each stream that must receive it. Visibility: every
// received event is checked against the assignee the writer set (an operator must only get
// conversations assigned to them); every expected delivery is counted. Load generator, two
// servers and PostgreSQL share the machine's 2 cores.
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { eq, sql } from "drizzle-orm";
import pg from "pg";
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { openDatabase } from "../src/server/db/client.js";
import {
  contacts,
  conversations,
  memberRoles,
  memberships,
  organizations,
  users,
  waChannels,
} from "../src/server/db/schema/index.js";
import { createSession } from "../src/server/modules/auth/sessions.js";
import { eventHub } from "../src/server/modules/events/hub.js";
import { publish } from "../src/server/modules/events/publish.js";
import { seedSystemRoles } from "../src/server/modules/roles/repo.js";

const MANAGERS = 5;
const OPERATORS = 45;
const STREAMS_PER_MEMBER = Number(process.env.BENCH_STREAMS_PER_MEMBER ?? 20);
const CONVERSATIONS = 200;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 400);
const RATE = Number(process.env.BENCH_RATE ?? 40); // events per second

const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `chorus_bench_realtime_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;

const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: url.toString() });
const dbA = await openDatabase({ url: url.toString(), poolSize: 10, connectTimeoutMs: 60_000 });
await dbA.migrate();
const dbB = await openDatabase({ url: url.toString(), poolSize: 10, connectTimeoutMs: 60_000 });
const apps = [];
for (const database of [dbA, dbB]) {
  const app = await buildApp({ config, database, logger: pino({ level: "silent" }), workers: false });
  await app.ready();
  await app.listen({ port: 0, host: "127.0.0.1" });
  apps.push(app);
}
const ports = apps.map((a) => (a.server.address() as AddressInfo).port);
const db = dbA.db;

// ---------------------------------------------------------------- seed
const [org] = await db.insert(organizations).values({ name: "Realtime bench" }).returning();
const orgId = org!.id;
await seedSystemRoles(db, orgId);
const [channel] = await db
  .insert(waChannels)
  .values({
    orgId,
    name: "bench",
    mode: "simulator",
    phoneNumberId: `bench${randomBytes(4).toString("hex")}`,
    wabaId: "waba",
    displayPhoneNumber: "+1 555 010 0000",
    webhookKey: randomBytes(16).toString("hex"),
    verifyTokenEnc: "x",
    accessTokenEnc: "x",
    appSecretEnc: "x",
  } as typeof waChannels.$inferInsert)
  .returning();
interface Member {
  memberId: string;
  token: string;
  manager: boolean;
}
const members: Member[] = [];
for (let i = 0; i < MANAGERS + OPERATORS; i++) {
  const manager = i < MANAGERS;
  const [u] = await db
    .insert(users)
    .values({
      email: `bench.${i}.${randomBytes(3).toString("hex")}@example.com`,
      passwordHash: "x",
      firstName: `M${i}`,
      lastName: "Bench",
      emailVerifiedAt: new Date(),
    })
    .returning();
  const [m] = await db
    .insert(memberships)
    .values({ orgId, userId: u!.id, firstName: `M${i}`, lastName: "Bench" })
    .returning();
  await db.insert(memberRoles).values({ orgId, memberId: m!.id, roleId: manager ? "chat_manager" : "operator" });
  const s = await createSession(db, {
    userId: u!.id,
    ip: "127.0.0.1",
    userAgent: "bench",
    twoFactorVerified: false,
    idleTtlMs: 3_600_000,
  });
  members.push({ memberId: m!.id, token: s.token, manager });
}
const operators = members.filter((m) => !m.manager);
const convIds: string[] = [];
for (let i = 0; i < CONVERSATIONS; i++) {
  const [c] = await db
    .insert(contacts)
    .values({ orgId, phone: `+1555${String(1_000_000 + i)}`, name: `C${i}` })
    .returning();
  const [conv] = await db.insert(conversations).values({ orgId, channelId: channel!.id, contactId: c!.id }).returning();
  convIds.push(conv!.id);
}

// ---------------------------------------------------------------- streams
interface Delivery {
  member: Member;
  seq: number;
  at: number;
}
const deliveries: Delivery[] = [];
let violations = 0;
let ended = 0;
/** seq → { t0 before commit, assignee set by that transaction } */
const sent = new Map<number, { t0: number; assignee: string | null }>();
const received = new Map<number, number>();

function openStream(member: Member, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: "127.0.0.1",
        port,
        path: `/api/v1/orgs/${orgId}/events`,
        headers: { accept: "text/event-stream", authorization: `Bearer ${member.token}` },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
        res.setEncoding("utf8");
        let buf = "";
        let opened = false;
        res.on("data", (chunk: string) => {
          const at = performance.now();
          buf += chunk;
          let i = buf.indexOf("\n\n");
          while (i >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            i = buf.indexOf("\n\n");
            if (block.startsWith(": connected") && !opened) {
              opened = true;
              resolve();
              continue;
            }
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!data) continue;
            const ev = JSON.parse(data) as { seq?: number; assigneeMemberId?: string | null; removed?: boolean };
            if (ev.seq === undefined || ev.removed) continue;
            // The oracle: an operator receives only conversations assigned to them.
            if (!member.manager && sent.get(ev.seq)?.assignee !== member.memberId) violations++;
            deliveries.push({ member, seq: ev.seq, at });
            received.set(ev.seq, (received.get(ev.seq) ?? 0) + 1);
          }
        });
        res.on("end", () => ended++);
      },
    );
    req.on("error", reject);
  });
}

const t0Open = performance.now();
const opening: Promise<void>[] = [];
let n = 0;
for (const m of members) {
  for (let i = 0; i < STREAMS_PER_MEMBER; i++) opening.push(openStream(m, ports[n++ % 2]!));
}
await Promise.all(opening);
const openMs = performance.now() - t0Open;
console.log(
  `${opening.length} streams open (${apps.map((a) => eventHub(a.ctx).streamCount).join(" + ")}) in ${openMs.toFixed(0)} ms`,
);

// ---------------------------------------------------------------- writers
const dbs = [dbA.db, dbB.db];
const writes: Promise<void>[] = [];
let inFlight = 0;
const start = performance.now();
for (let seq = 0; seq < EVENTS; seq++) {
  const due = start + (seq * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // At most 8 writers in flight (a busy machine must not pile up transactions on the pools).
  while (inFlight >= 8) await new Promise((r) => setTimeout(r, 1));
  const conv = convIds[seq % convIds.length]!;
  // Mostly assigned to an operator, sometimes unassigned (then only managers may see it).
  const assignee = seq % 5 === 4 ? null : operators[(seq * 7) % operators.length]!.memberId;
  inFlight++;
  writes.push(
    dbs[seq % 2]!.transaction(async (tx) => {
      await tx
        .update(conversations)
        .set({ assigneeMemberId: assignee, version: sql`${conversations.version} + 1` })
        .where(eq(conversations.id, conv));
      sent.set(seq, { t0: performance.now(), assignee });
      await publish(tx, { orgId, kind: "conversation.assigned", conversationId: conv, payload: { seq } });
    }).finally(() => inFlight--),
  );
}
await Promise.all(writes);
const writeSeconds = (performance.now() - start) / 1000;

// Wait until every expected delivery arrived (or 10 s of silence: then count what is missing).
const expectedPer = (assignee: string | null) => (MANAGERS + (assignee ? 1 : 0)) * STREAMS_PER_MEMBER;
const expectedTotal = [...sent.values()].reduce((a, s) => a + expectedPer(s.assignee), 0);
let last = deliveries.length;
let quiet = 0;
while (deliveries.length < expectedTotal && quiet < 100) {
  await new Promise((r) => setTimeout(r, 100));
  quiet = deliveries.length === last ? quiet + 1 : 0;
  last = deliveries.length;
}

const lat = deliveries.map((d) => d.at - sent.get(d.seq)!.t0).sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? Number.NaN;
console.log(
  `${EVENTS} events at ${(EVENTS / writeSeconds).toFixed(0)}/s over 2 instances; deliveries ${deliveries.length} of ${expectedTotal} expected`,
);
console.log(
  `commit → stream latency: p50 ${pct(50).toFixed(1)} ms, p95 ${pct(95).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${lat.at(-1)?.toFixed(1)} ms`,
);
console.log(
  `authorization cache (stream re-checks): ${apps.map((a) => `${a.ctx.authz.cache.stats.hits} hits / ${a.ctx.authz.cache.stats.misses} misses`).join("; ")}`,
);
console.log(`events delivered outside the member's visibility: ${violations}; streams ended early: ${ended}`);
const pass = pct(95) < 150 && violations === 0 && deliveries.length === expectedTotal;
console.log(pass ? "PASS (p95 < 150 ms, 0 outside visibility, none missing)" : "FAIL");

for (const a of apps) await a.close();
await dbA.close();
await dbB.close();
await admin.query(`drop database if exists ${name} with (force)`);
await admin.end();
process.exit(pass ? 0 : 1);
