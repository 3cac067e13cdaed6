import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { JobQueue } from "../../src/server/jobs/queue.js";
import { createTestDatabase, onPostgres } from "../helpers/db.js";
import { createProbeTable, probeEvents, probeHandler, probeJob } from "./support.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const silent = pino({ level: "silent" });

let database: Database;
beforeAll(async () => {
  database = await createTestDatabase();
  await createProbeTable(database.db);
});
afterAll(async () => {
  await database?.close();
});

async function openQueue(workers: boolean, superviseIntervalSeconds = 1): Promise<JobQueue> {
  const queue = new JobQueue(database, silent, { workers, superviseIntervalSeconds });
  queue.register(probeJob, probeHandler(database.db));
  await queue.start();
  return queue;
}

async function until(check: () => Promise<boolean>, what: string, tries = 1200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("job queue", () => {
  it("a job enqueued in a rolled-back transaction never runs; one committed with its change runs once", async () => {
    const queue = await openQueue(false);
    try {
      await database.db
        .transaction(async (tx) => {
          await queue.enqueue(tx, probeJob, { key: "rolled-back" });
          tx.rollback();
        })
        .catch(() => {});
      await database.db.transaction(async (tx) => {
        await queue.enqueue(tx, probeJob, { key: "committed" });
      });
      expect(await queue.drain(probeJob)).toBe(1);
      expect(await queue.drain(probeJob)).toBe(0);
      expect(await probeEvents(database.db, "rolled-back")).toEqual([]);
      expect((await probeEvents(database.db, "committed")).map((e) => e.event)).toEqual(["started", "done"]);
    } finally {
      await queue.stop();
    }
  });

  it("retries a failing job with its delay, then fails it for good with its last error, shown to operators", async () => {
    const queue = await openQueue(false);
    try {
      await queue.enqueue(database.db, probeJob, { key: "always-fails", failTimes: 99 });
      expect(await queue.drain(probeJob)).toBe(0); // attempt 0 fails; the retry waits retryDelay (1 s)
      expect((await queue.counts()).find((c) => c.name === "test.probe")).toMatchObject({ deferred: 1, failed: 0 });
      for (let attempt = 1; attempt <= 3; attempt++) {
        await until(async () => (await probeEvents(database.db, "always-fails")).length > attempt - 1, "a retry");
        await new Promise((r) => setTimeout(r, 1100));
        await queue.drain(probeJob);
      }
      const events = await probeEvents(database.db, "always-fails");
      expect(events.map((e) => e.event)).toEqual(["started", "started", "started", "started"]); // 1 + retryLimit 3
      expect((await queue.counts()).find((c) => c.name === "test.probe")).toMatchObject({ deferred: 0, failed: 1 });
      const [failed] = await queue.failed();
      expect(failed).toMatchObject({ name: "test.probe", attempts: 4, error: "probe always-fails fails attempt 3" });
    } finally {
      await queue.stop();
    }
  });

  it.skipIf(!onPostgres)(
    "two instances share one queue: 300 jobs, each run exactly once, both instances working",
    async () => {
      const a = await openQueue(true);
      const b = await openQueue(true);
      try {
        await database.db.transaction(async (tx) => {
          for (let i = 0; i < 300; i++) await a.enqueue(tx, probeJob, { key: `shared-${i}` });
        });
        const doneCount = async () =>
          (await probeEvents(database.db)).filter((e) => e.key.startsWith("shared-") && e.event === "done").length;
        await until(async () => (await doneCount()) >= 300, "300 jobs done");
        const done = (await probeEvents(database.db)).filter((e) => e.key.startsWith("shared-") && e.event === "done");
        const keys = done.map((e) => e.key);
        expect(new Set(keys).size).toBe(300);
        expect(keys.length).toBe(300);
      } finally {
        await a.stop();
        await b.stop();
      }
    },
    120_000,
  );

  it.skipIf(!onPostgres)(
    "a job whose worker process is killed (SIGKILL) mid-run runs again after a restart, and completes once",
    async () => {
      const producer = await openQueue(false);
      const probeCounts = async () => (await producer.counts()).find((c) => c.name === "test.probe")!;
      const failedBefore = (await probeCounts()).failed; // an earlier test leaves a failed job
      let first: ChildProcess | null = null;
      let second: ChildProcess | null = null;
      try {
        first = await startWorkerProcess();
        await producer.enqueue(database.db, probeJob, { key: "killed", holdFirstMs: 600_000 });
        await until(async () => (await probeEvents(database.db, "killed")).length === 1, "the first start");
        first.kill("SIGKILL");
        await once(first, "exit");
        // The restarted instance takes the job again once its lease (expireInSeconds 2) is over.
        second = await startWorkerProcess();
        await until(async () => (await probeEvents(database.db, "killed")).some((e) => e.event === "done"), "done");
        const events = await probeEvents(database.db, "killed");
        expect(events).toEqual([
          { key: "killed", event: "started", pid: first.pid },
          { key: "killed", event: "started", pid: second.pid },
          { key: "killed", event: "done", pid: second.pid },
        ]);
        await until(
          async () => (await producer.counts()).find((c) => c.name === "test.probe")?.active === 0,
          "the job to complete",
        );
        expect(await probeCounts()).toMatchObject({ failed: failedBefore, queued: 0, deferred: 0 });
      } finally {
        first?.kill("SIGKILL");
        second?.kill("SIGKILL");
        await producer.stop();
      }
    },
    120_000,
  );
});

async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/jobs/worker-process.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", DATABASE_URL: database.url! },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on("line", (l) => l === "ready" && resolve());
    child.on("exit", (code) => reject(new Error(`worker process exited (${code}) before it was ready`)));
  });
  return child;
}
