import { sql } from "drizzle-orm";
import { fromDrizzle, fromPglite, type Job, type JobResult, PgBoss, type SendOptions } from "pg-boss";
import type { Logger } from "pino";
import type { Database, DbOrTx } from "../db/client.js";
import { rowsOf } from "../db/rows.js";
import { type JobHandler, type JobType, toRun } from "./define.js";

/** pg-boss's own tables live in this schema, created and migrated by pg-boss at start. */
export const JOBS_SCHEMA = "pgboss";

/** pg-boss's default when a job type names none. */
const DEFAULT_RETRY_LIMIT = 2;

export interface JobQueueOptions {
  /**
   * Run workers and schedules in this process (`npm start`). Off, the queue only accepts jobs
   * (tests, scripts); `drain()` then runs what is due, on demand.
   */
  workers: boolean;
  /** node-postgres pool size of pg-boss's own connections (PostgreSQL only). */
  poolSize?: number;
  /**
   * How often an instance with workers looks for jobs whose worker died (lease over) and
   * retries them. A crashed instance's job runs again after its lease plus at most this.
   */
  superviseIntervalSeconds?: number;
  /** PostgreSQL: how long pg-boss's connections wait to connect (DATABASE_CONNECT_TIMEOUT). */
  connectTimeoutMs?: number;
}

export interface JobCounts {
  name: string;
  queued: number;
  deferred: number;
  active: number;
  failed: number;
}

export interface FailedJob {
  id: string;
  name: string;
  failedAt: string | null;
  attempts: number;
  error: string | null;
}

interface Registration<T extends object> {
  type: JobType<T>;
  handler: JobHandler<T>;
}

/**
 * The one durable job queue for all background work, on the application's PostgreSQL
 * (pg-boss). `enqueue(tx, …)` writes the job in the caller's transaction, so a job exists
 * exactly when the change that caused it commits. Several instances share the work: pg-boss
 * claims jobs with `FOR UPDATE SKIP LOCKED`, and a job whose worker died is retried when its
 * lease (`expireInSeconds`) runs out.
 */
export class JobQueue {
  private readonly boss: PgBoss;
  private readonly registrations = new Map<string, Registration<object>>();
  private started = false;
  private starting: Promise<void> | null = null;
  private stopped = false;
  private wakeRetry: (() => void) | null = null;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly opts: JobQueueOptions,
  ) {
    const common = {
      schema: JOBS_SCHEMA,
      // Schedules and maintenance belong to instances that work; a producer only inserts.
      supervise: opts.workers,
      // Expiry of dead workers' jobs is part of pg-boss's per-queue monitor pass, which runs at
      // most every monitorIntervalSeconds: keep both on one clock.
      superviseIntervalSeconds: opts.superviseIntervalSeconds ?? 30,
      monitorIntervalSeconds: opts.superviseIntervalSeconds ?? 30,
      schedule: opts.workers,
      migrate: true,
      useListenNotify: opts.workers,
      // Finished jobs stay 7 days by default; failed ones are what operators look at.
      warningQueueSize: 10_000,
    };
    this.boss = database.pglite
      ? new PgBoss({ ...common, db: fromPglite(database.pglite), backend: "pglite" })
      : new PgBoss({
          ...common,
          connectionString: database.url,
          max: opts.poolSize ?? 4,
          application_name: "chorus-jobs",
          connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
        });
    this.boss.on("error", (err) => log.error({ err }, "job queue error"));
    this.boss.on("warning", (w) => log.warn({ warning: w.message }, "job queue warning"));
  }

  /** Declares a job type and the function that does it; before `start()`. */
  register<T extends object>(type: JobType<T>, handler: JobHandler<T>): void {
    if (this.started) throw new Error(`job type ${type.name} registered after the queue started`);
    if (this.registrations.has(type.name)) throw new Error(`job type ${type.name} registered twice`);
    this.registrations.set(type.name, { type, handler } as unknown as Registration<object>);
  }

  /**
   * Creates pg-boss's schema when missing, a queue per job type, then workers and schedules.
   * A database that does not answer does not stop the app: the queue keeps trying in the
   * background (1 s, doubling to 30 s) and everything that needs it waits for it. Resolves
   * once started; rejects only when stopped first.
   */
  start(): Promise<void> {
    this.starting ??= this.startUntilStarted();
    return this.starting;
  }

  private async startUntilStarted(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new Error("the job queue was stopped before it started");
      try {
        await this.startOnce();
        if (attempt > 0) this.log.info({ attempts: attempt + 1 }, "job queue started");
        return;
      } catch (err) {
        if (this.stopped) throw err;
        const delayMs = Math.min(30_000, 1_000 * 2 ** attempt);
        this.log.warn({ err: (err as Error).message, retryInMs: delayMs }, "job queue could not start; retrying");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delayMs);
          timer.unref();
          this.wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeRetry = null;
      }
    }
  }

  private async startOnce(): Promise<void> {
    await this.boss.start();
    for (const { type } of this.registrations.values()) {
      // notify: an insert wakes the workers at once (LISTEN/NOTIFY); polling stays as a backstop.
      await this.boss.createQueue(type.name, { ...type.queue, policy: type.queue.policy ?? "standard", notify: true });
      // createQueue leaves an existing queue as it is: keep its settings in step with the code.
      const { policy: _policy, ...settings } = type.queue;
      await this.boss.updateQueue(type.name, { ...settings, notify: true });
    }
    this.started = true;
    if (!this.opts.workers) return;
    for (const reg of this.registrations.values()) {
      const { type } = reg;
      await this.boss.work<object>(
        type.name,
        {
          batchSize: type.work?.batchSize ?? 10,
          // A full batch means more is waiting: fetch again at once instead of after the poll.
          burstWhenBatchFull: true,
          localConcurrency: type.work?.localConcurrency ?? 1,
          pollingIntervalSeconds: type.work?.pollingIntervalSeconds ?? 2,
          // A notification announces new jobs only: retries and delayed jobs come due unannounced,
          // so polling keeps its own pace instead of pg-boss's 30 s backstop.
          notifyPollingIntervalSeconds: type.work?.pollingIntervalSeconds ?? 2,
          perJobResults: true,
        },
        (jobs: Job<object>[]) => this.runBatch(reg, jobs),
      );
      if (type.cron) await this.boss.schedule(type.name, type.cron, {}, { tz: "UTC" });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeRetry?.();
    await this.starting?.catch(() => {});
    if (!this.started) return;
    this.started = false;
    // Graceful: workers finish the job in hand (bounded by the timeout), nothing new is fetched.
    await this.boss.stop({ graceful: true, timeout: 10_000, close: true });
  }

  /**
   * Adds a job inside `tx` (or alone when given the database): it commits or rolls back with
   * the caller's change. Returns the job id, or null when a singleton key suppressed it.
   */
  async enqueue<T extends object>(
    tx: DbOrTx,
    type: JobType<T>,
    data: T,
    options: Pick<SendOptions, "priority" | "startAfter" | "singletonKey" | "singletonSeconds" | "id"> = {},
  ): Promise<string | null> {
    this.assertRegistered(type);
    await this.start();
    return this.boss.send(type.name, data, { ...options, db: fromDrizzle(tx as never, sql) });
  }

  /**
   * Runs every job of `type` that is due now, in this process, and returns how many ran
   * successfully (not counting handlers that answered `false`: nothing to do). For tests and
   * scripts: a queue started without workers does nothing alone.
   */
  async drain<T extends object>(type: JobType<T>, batchSize = 20): Promise<number> {
    const reg = this.assertRegistered(type) as unknown as Registration<T>;
    await this.start();
    let done = 0;
    for (;;) {
      const jobs = await this.boss.fetch<T>(type.name, { batchSize });
      if (jobs.length === 0) return done;
      for (const job of jobs) {
        try {
          const did = await reg.handler(toRun(job, type.queue.retryLimit ?? DEFAULT_RETRY_LIMIT));
          await this.boss.complete(type.name, { id: job.id, retryCount: job.retryCount });
          if (did !== false) done++;
        } catch (err) {
          await this.boss.fail(type.name, { id: job.id, retryCount: job.retryCount }, errorOutput(err));
        }
      }
    }
  }

  /**
   * Per job type, exact counts by state: queued (due now), deferred (due later, or waiting to
   * retry), active, failed (kept until their retention ends). Answered by pg-boss's partial
   * index on unfinished states (job_i14), so cheap enough for a readiness probe.
   */
  async counts(): Promise<JobCounts[]> {
    await this.start();
    const res = await this.database.db.execute(sql`
      select name,
        count(*) filter (where state = 'created' and start_after <= now())::int as queued,
        count(*) filter (where state = 'retry' or (state = 'created' and start_after > now()))::int as deferred,
        count(*) filter (where state = 'active')::int as active,
        count(*) filter (where state = 'failed')::int as failed
      from ${sql.identifier(JOBS_SCHEMA)}.job
      where state in ('created', 'retry', 'active', 'failed')
      group by name`);
    const byName = new Map(rowsOf(res).map((r) => [String(r.name), r]));
    return [...this.registrations.keys()].sort().map((name) => {
      const r = byName.get(name);
      return {
        name,
        queued: Number(r?.queued ?? 0),
        deferred: Number(r?.deferred ?? 0),
        active: Number(r?.active ?? 0),
        failed: Number(r?.failed ?? 0),
      };
    });
  }

  /** The most recent failed jobs with their last error (never their payload: it may hold personal data). */
  async failed(limit = 20): Promise<FailedJob[]> {
    const res = await this.database.db.execute(sql`
      select id, name, completed_on as "failedAt", retry_count as attempts, output
      from ${sql.identifier(JOBS_SCHEMA)}.job
      where state = 'failed'
      order by completed_on desc nulls last
      limit ${limit}`);
    return rowsOf(res).map((r) => ({
      id: String(r.id),
      name: String(r.name),
      failedAt: r.failedAt ? new Date(r.failedAt as string).toISOString() : null,
      attempts: Number(r.attempts) + 1,
      error: messageOf(r.output),
    }));
  }

  /** Runs a fetched batch concurrently; each job completes or fails on its own. */
  private async runBatch(reg: Registration<object>, jobs: Job<object>[]): Promise<JobResult[]> {
    const retryLimit = reg.type.queue.retryLimit ?? DEFAULT_RETRY_LIMIT;
    return Promise.all(
      jobs.map(async (job): Promise<JobResult> => {
        try {
          await reg.handler(toRun(job, retryLimit));
          return { id: job.id, status: "completed" };
        } catch (err) {
          this.log.warn(
            { job: reg.type.name, jobId: job.id, attempt: job.retryCount, err: (err as Error).message },
            "job failed",
          );
          return { id: job.id, status: "failed", output: errorOutput(err) };
        }
      }),
    );
  }

  private assertRegistered(type: JobType<object>): Registration<object> {
    const reg = this.registrations.get(type.name);
    if (!reg) throw new Error(`job type ${type.name} is not registered`);
    return reg;
  }
}

function errorOutput(err: unknown): { message: string } {
  return { message: String((err as Error)?.message ?? err).slice(0, 500) };
}

function messageOf(output: unknown): string | null {
  if (output && typeof output === "object" && "message" in output) return String(output.message).slice(0, 500);
  return null;
}
