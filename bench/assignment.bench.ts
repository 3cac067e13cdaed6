// `npm run bench assignment`: the assignment rules (DESIGN §7.4, §8 "assignment") on PostgreSQL
// (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a fresh database is
// created and dropped). Two app instances (two buildApp, each with its own connection pool, as
// two processes would have) share one organization with MEMBERS online operators.
//
// Phase "arrivals": ARRIVALS conversations arrive (contact + open conversation inserted, as
// ingest does); both instances, CONCURRENCY transactions each, run the ingest's assignment step
// for them in parallel: `assignArrivals`, the call a webhook job makes at the end of its
// transaction for the conversations it touched (1 per transaction: a job of one event; 10 and
// 50: jobs of that many events, as the webhook batcher forms them under load).
// Phase "backlog": ARRIVALS more arrive while everyone is offline; the members come online and
// both instances hand out the queue (`handOutBacklog`, the job's work) at the same time.
// Each phase checks: every conversation assigned at most once (one conversation.assigned record
// and one thread line), nobody over capacity, round-robin spread (max − min per member).
// The load generator and the servers share the machine's 2 cores.
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import pg from "pg";
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { type Database, openDatabase } from "../src/server/db/client.js";
import { assignArrivals, handOutBacklog } from "../src/server/modules/conversations/assignment.js";
import { seedSystemRoles } from "../src/server/modules/roles/repo.js";
import type { AssignmentSettings } from "../src/shared/schemas/settings.js";

const ARRIVALS = Number(process.env.BENCH_ARRIVALS ?? 1_000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `chorus_bench_assign_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;

const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: url.toString() });
const instances: Database[] = [];
for (let i = 0; i < 2; i++) {
  const database = await openDatabase({ url: url.toString(), poolSize: CONCURRENCY + 2 });
  if (i === 0) await database.migrate();
  const app = await buildApp({ config, database, logger: pino({ level: "silent" }), workers: false });
  await app.ready();
  instances.push(database);
}
const db = instances[0]!.db;

type Row = Record<string, unknown>;
const rows = (res: unknown) => (Array.isArray(res) ? res : (res as { rows: Row[] }).rows) as Row[];

async function setupOrg(label: string) {
  const org = rows(await db.execute(sql`insert into organizations (name) values (${label}) returning id`))[0]!;
  const orgId = String(org.id);
  await seedSystemRoles(db, orgId);
  const channel = rows(
    await db.execute(sql`
      insert into wa_channels (org_id, name, mode, phone_number_id, waba_id, display_phone_number,
        access_token_enc, app_secret_enc, verify_token_enc, webhook_key)
      values (${orgId}, 'Bench', 'simulator', ${String(Date.now()) + String(Math.floor(Math.random() * 1e4))}, '1',
        '+1 555 010 0000', 'x', 'x', 'x', ${randomBytes(16).toString("hex")})
      returning id`),
  )[0]!;
  const memberIds: string[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const u = rows(
      await db.execute(sql`
        insert into users (email, password_hash, first_name, last_name)
        values (${`op${i}.${randomBytes(4).toString("hex")}@bench.test`}, 'x', 'Op', ${String(i)}) returning id`),
    )[0]!;
    const m = rows(
      await db.execute(sql`
        insert into memberships (org_id, user_id, first_name, last_name) values (${orgId}, ${u.id}, 'Op', ${String(i)})
        returning id`),
    )[0]!;
    await db.execute(sql`insert into member_roles (org_id, member_id, role_id) values (${orgId}, ${m.id}, 'operator')`);
    memberIds.push(String(m.id));
  }
  return { orgId, channelId: String(channel.id), memberIds };
}

async function arrive(orgId: string, channelId: string, n: number, offset: number): Promise<string[]> {
  const res = rows(
    await db.execute(sql`
      with c as (
        insert into contacts (org_id, phone, wa_id, name)
        select ${orgId}, '+1555' || lpad((${offset} + g)::text, 7, '0'), '1555' || lpad((${offset} + g)::text, 7, '0'), 'Bench'
        from generate_series(1, ${n}) g
        returning id)
      insert into conversations (org_id, channel_id, contact_id, status, last_inbound_at, last_message_at, created_at)
      select ${orgId}, ${channelId}, c.id, 'open', now(), now(), clock_timestamp() from c
      returning id`),
  );
  return res.map((r) => String(r.id));
}

async function setPresence(orgId: string, memberIds: string[], status: "online" | "offline") {
  for (const id of memberIds) {
    await db.execute(sql`
      insert into member_presence (org_id, member_id, status) values (${orgId}, ${id}, ${status})
      on conflict (org_id, member_id) do update set status = excluded.status`);
  }
}

async function check(orgId: string, capacity: number, ids: string[]) {
  const perConv = rows(
    await db.execute(sql`
      select target_id, count(*)::int as n from activity
      where org_id = ${orgId} and action = 'conversation.assigned' group by target_id`),
  );
  const lines = rows(
    await db.execute(sql`
      select conversation_id, count(*)::int as n from messages
      where org_id = ${orgId} and kind = 'system' group by conversation_id`),
  );
  const loads = rows(
    await db.execute(sql`
      select m.id, count(c.id)::int as n from memberships m
      left join conversations c on c.org_id = m.org_id and c.assignee_member_id = m.id and c.status in ('open', 'pending')
      where m.org_id = ${orgId} and not m.is_owner group by m.id`),
  ).map((r) => Number(r.n));
  const assigned = rows(
    await db.execute(sql`
      select count(*)::int as n from conversations
      where org_id = ${orgId} and assignee_member_id is not null and id = any(${`{${ids.join(",")}}`}::uuid[])`),
  )[0]!;
  return {
    assigned: Number(assigned.n),
    double: perConv.filter((r) => Number(r.n) > 1).length + lines.filter((r) => Number(r.n) > 1).length,
    overCapacity: loads.filter((n) => n > capacity).length,
    spread: Math.max(...loads) - Math.min(...loads),
    maxLoad: Math.max(...loads),
  };
}

console.log(
  `node ${process.version}; PostgreSQL; 2 instances × ${CONCURRENCY} transactions; ${MEMBERS} members online; ${ARRIVALS} arrivals per phase\n`,
);
console.log("| phase | mode | capacity | assigned | assignments / s | double | over capacity | spread (max − min) |");
console.log("| ----- | ---- | -------: | -------: | --------------: | -----: | ------------: | -----------------: |");

async function arrivalsPhase(label: string, rules: AssignmentSettings, perTx = 1) {
  const o = await setupOrg(label);
  await setPresence(o.orgId, o.memberIds, "online");
  const ids = await arrive(o.orgId, o.channelId, ARRIVALS, 0);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    instances.flatMap((inst) =>
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ids.length) {
          const batch = ids.slice(next, next + perTx);
          next += perTx;
          // As a webhook job: its events in one transaction, each conversation row locked by the
          // ingest's upsert before the rules run for it.
          await inst.db.transaction(async (tx) => {
            const list = `{${batch.join(",")}}`;
            await tx.execute(
              sql`select 1 from conversations where org_id = ${o.orgId} and id = any(${list}::uuid[]) for update`,
            );
            await assignArrivals(tx, o.orgId, batch, rules);
          });
        }
      }),
    ),
  );
  const ms = performance.now() - t0;
  const r = await check(o.orgId, rules.defaultCapacity, ids);
  console.log(
    `| arrivals, ${perTx} per transaction | ${rules.mode} | ${rules.defaultCapacity} | ${r.assigned} | ${Math.round((r.assigned * 1000) / ms)} | ${r.double} | ${r.overCapacity} | ${r.spread} |`,
  );
  return r;
}

async function backlogPhase(label: string, rules: AssignmentSettings) {
  const o = await setupOrg(label);
  const ids = await arrive(o.orgId, o.channelId, ARRIVALS, 5_000_000);
  await setPresence(o.orgId, o.memberIds, "online");
  const t0 = performance.now();
  const counts = await Promise.all(instances.map((inst) => handOutBacklog(inst.db, o.orgId, rules)));
  const ms = performance.now() - t0;
  const r = await check(o.orgId, rules.defaultCapacity, ids);
  console.log(
    `| backlog (${counts.join(" + ")}) | ${rules.mode} | ${rules.defaultCapacity} | ${r.assigned} | ${Math.round((r.assigned * 1000) / ms)} | ${r.double} | ${r.overCapacity} | ${r.spread} |`,
  );
  return r;
}

const roomy = Math.ceil((ARRIVALS * 1.2) / MEMBERS);
const tight = Math.floor((ARRIVALS * 0.8) / MEMBERS);
const results = [
  await arrivalsPhase("Warm-up", { mode: "round_robin", defaultCapacity: roomy, reassignOnOffline: false }),
  await arrivalsPhase("Round robin", { mode: "round_robin", defaultCapacity: roomy, reassignOnOffline: false }),
  await arrivalsPhase("Tight", { mode: "round_robin", defaultCapacity: tight, reassignOnOffline: false }),
  await arrivalsPhase("Balanced", { mode: "balanced", defaultCapacity: roomy, reassignOnOffline: false }),
  await arrivalsPhase("Batched", { mode: "round_robin", defaultCapacity: roomy, reassignOnOffline: false }, 10),
  await arrivalsPhase("Batched 50", { mode: "round_robin", defaultCapacity: roomy, reassignOnOffline: false }, 50),
  await arrivalsPhase("Tight 50", { mode: "round_robin", defaultCapacity: tight, reassignOnOffline: false }, 50),
  await backlogPhase("Backlog", { mode: "round_robin", defaultCapacity: roomy, reassignOnOffline: false }),
];
const bad = results.filter((r) => r.double > 0 || r.overCapacity > 0);
console.log(
  `\nfirst row is a warm-up; "tight": capacity ${tight} × ${MEMBERS} < ${ARRIVALS} arrivals, the rest stays queued. ${bad.length ? "FAILED: doubles or over capacity" : "0 double assignments, 0 over capacity"}`,
);

for (const inst of instances) await inst.close();
await admin.query(`drop database if exists ${name} with (force)`);
await admin.end();
process.exit(bad.length ? 1 : 0);
