import pino, { type Logger } from "pino";
import type { Database } from "../../src/server/db/client.js";
import { JobQueue } from "../../src/server/jobs/queue.js";
import { Outbox, type OutboxOptions } from "../../src/server/modules/mail/outbox.js";

export interface StandaloneOutbox {
  outbox: Outbox;
  jobs: JobQueue;
  close(): Promise<void>;
}

/**
 * An outbox outside any app, on a job queue of its own over `database` (another instance, as
 * far as the queue is concerned). With `workers`, it delivers by itself; otherwise `drain()`.
 */
export async function openOutbox(
  database: Database,
  over: Partial<Omit<OutboxOptions, "db" | "jobs">> & { workers?: boolean; log?: Logger } = {},
): Promise<StandaloneOutbox> {
  const { workers = false, ...options } = over;
  const log = options.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const jobs = new JobQueue(database, log, { workers, superviseIntervalSeconds: 1 });
  const outbox = new Outbox({
    db: database.db,
    jobs,
    from: "Chorus <no-reply@chorus.test>",
    smtpUrl: undefined,
    ...options,
    log,
  });
  await jobs.start();
  return {
    outbox,
    jobs,
    close: async () => {
      await jobs.stop();
      await outbox.stop();
    },
  };
}
