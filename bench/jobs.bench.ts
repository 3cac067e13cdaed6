// `npm run bench jobs`: the job queue's throughput, enqueue to done, on PGlite (in memory) and on
// the PostgreSQL server of BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; a
// fresh database is created and dropped). A no-op job type; jobs are enqueued one per statement,
// as request handlers do (each with its change), from 8 concurrent producers; workers run in the
// same process. Figures: enqueue rate, jobs/s from the first enqueue to the last completion, and
// how fast a fresh worker instance empties a backlog of as many jobs (its processing capacity).
import { randomBytes } from "node:crypto";
import pg from "pg";
import pino from "pino";
import { type Database, openDatabase } from "../src/server/db/client.js";
import { defineJob } from "../src/server/jobs/define.js";
import { JobQueue } from "../src/server/jobs/queue.js";

const JOBS = Number(process.env.BENCH_JOBS ?? 3000);
const PRODUCERS = 8;
const noop = defineJob<{ i: number }>({
  name: "bench.noop",
  queue: { retryLimit: 0 },
  work: { batchSize: 50, localConcurrency: 2 },
});

/** A worker instance whose no-op handler resolves `allDone` at the `n`th job. */
function workerCountingTo(database: Database, n: number) {
  const queue = new JobQueue(database, pino({ level: "warn" }), { workers: true });
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    finished = r;
  });
  queue.register(noop, async () => {
    if (++done === n) finished();
  });
  return { queue, allDone };
}

async function measure(label: string, database: Database): Promise<void> {
  await database.migrate();
  const { queue, allDone } = workerCountingTo(database, JOBS);
  await queue.start();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (next < JOBS) await queue.enqueue(database.db, noop, { i: next++ });
    }),
  );
  const enqueued = performance.now() - t0;
  await allDone;
  const total = performance.now() - t0;
  await queue.stop();

  // A backlog: the same number of jobs already queued (one transaction), then workers start.
  const producer = new JobQueue(database, pino({ level: "warn" }), { workers: false });
  producer.register(noop, async () => {});
  await producer.start();
  await database.db.transaction(async (tx) => {
    for (let i = 0; i < JOBS; i++) await producer.enqueue(tx, noop, { i });
  });
  await producer.stop();
  const { queue: worker, allDone: allDrained } = workerCountingTo(database, JOBS);
  const t1 = performance.now();
  await worker.start();
  await allDrained;
  const drainMs = performance.now() - t1;
  await worker.stop();

  const rate = (ms: number) => Math.round((JOBS * 1000) / ms).toLocaleString("en");
  console.log(`| ${label.padEnd(10)} | ${JOBS} | ${rate(enqueued)} | ${rate(total)} | ${rate(drainMs)} |`);
}

console.log(`node ${process.version}; ${JOBS} no-op jobs, ${PRODUCERS} producers\n`);
console.log("| database   | jobs | enqueued / s | enqueue-to-done jobs / s | backlog drained jobs / s |");
console.log("| ---------- | ---: | -----------: | -----------------------: | -----------------------: |");

const pglite = await openDatabase({});
await measure("PGlite", pglite);
await pglite.close();

const server = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `chorus_bench_jobs_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;
const postgres = await openDatabase({ url: url.toString(), poolSize: 10 });
try {
  await measure("PostgreSQL", postgres);
} finally {
  await postgres.close();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
