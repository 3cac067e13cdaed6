import { sql } from "drizzle-orm";
import type { Db } from "../../src/server/db/client.js";
import { defineJob } from "../../src/server/jobs/define.js";

/** A job type of the tests' own: each run is recorded in `job_probe`. */
export const probeJob = defineJob<{ key: string; failTimes?: number; holdFirstMs?: number }>({
  name: "test.probe",
  queue: { retryLimit: 3, retryDelay: 1, expireInSeconds: 2 },
  work: { batchSize: 10, pollingIntervalSeconds: 0.5 },
});

export async function createProbeTable(db: Db): Promise<void> {
  await db.execute(sql`create table if not exists job_probe (
    key text not null, event text not null, pid int not null, at timestamptz not null default now())`);
}

/** The handler: records start, fails `failTimes` times, holds the first attempt `holdFirstMs`, records done. */
export function probeHandler(db: Db) {
  return async ({
    data,
    attempt,
  }: {
    data: { key: string; failTimes?: number; holdFirstMs?: number };
    attempt: number;
  }) => {
    await db.execute(sql`insert into job_probe (key, event, pid) values (${data.key}, 'started', ${process.pid})`);
    if (attempt < (data.failTimes ?? 0)) throw new Error(`probe ${data.key} fails attempt ${attempt}`);
    if (attempt === 0 && data.holdFirstMs) await new Promise((r) => setTimeout(r, data.holdFirstMs));
    await db.execute(sql`insert into job_probe (key, event, pid) values (${data.key}, 'done', ${process.pid})`);
  };
}

export async function probeEvents(db: Db, key?: string): Promise<{ key: string; event: string; pid: number }[]> {
  const res = await db.execute(
    sql`select key, event, pid from job_probe ${key ? sql`where key = ${key}` : sql``} order by at, event desc`,
  );
  return (res as unknown as { rows: { key: string; event: string; pid: number }[] }).rows;
}
