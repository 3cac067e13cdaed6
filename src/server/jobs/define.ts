import type { Job, QueueOptions } from "pg-boss";

/**
 * One kind of background work: its queue's retry and lease policy, how workers take it,
 * and, for recurring work, its schedule. Declared once, next to the module that owns it
 * (see ARCHITECTURE.md, "Background jobs").
 */
export interface JobType<T extends object> {
  /** `<module>.<verb>`, e.g. `mail.send`; also the pg-boss queue name. */
  readonly name: string;
  /** Retries, backoff, lease (`expireInSeconds`), retention of finished jobs. */
  readonly queue: QueueOptions & {
    /** `singleton`: at most one job of this type queued-or-active (recurring maintenance). */
    policy?: "standard" | "singleton";
  };
  /** Several jobs fetched at once, run concurrently by each instance. */
  readonly work?: { batchSize?: number; localConcurrency?: number; pollingIntervalSeconds?: number };
  /** Recurring: a cron expression (UTC); one job per slot across all instances. */
  readonly cron?: string;
  /** Type-level only: the job's payload. */
  readonly _data?: T;
}

export function defineJob<T extends object>(type: Omit<JobType<T>, "_data">): JobType<T> {
  return type;
}

/** What a handler gets: the payload, and the attempt it is (0 = first). */
export interface JobRun<T> {
  id: string;
  data: T;
  /** Retries before this attempt. */
  attempt: number;
  /** True when this attempt failing ends the job for good (no retry left). */
  lastAttempt: boolean;
  signal: AbortSignal;
}

/** Resolving is success; resolving to `false` says the run had nothing to do (drain() does not count it). */
export type JobHandler<T> = (run: JobRun<T>) => Promise<unknown>;

export function toRun<T>(job: Job<T>, retryLimit: number): JobRun<T> {
  return {
    id: job.id,
    data: job.data,
    attempt: job.retryCount,
    lastAttempt: job.retryCount >= retryLimit,
    signal: job.signal,
  };
}
