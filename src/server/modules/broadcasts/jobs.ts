import { defineJob } from "../../jobs/define.js";

/**
 * Sends one broadcast: a scheduled one starts here (its audience is frozen then), a sending one
 * is (re)taken up here. One sender at a time per broadcast (the lease on its row), so a second
 * job for the same broadcast is a no-op; a run sends for at most a slice of time and enqueues
 * its continuation, so no pg-boss job outlives its lease.
 */
export const broadcastSendJob = defineJob<{ orgId: string; broadcastId: string }>({
  name: "broadcasts.send",
  queue: { retryLimit: 10, retryDelay: 5, retryBackoff: true, expireInSeconds: 120 },
  work: { batchSize: 1, localConcurrency: 4, pollingIntervalSeconds: 1 },
});

/** Every minute: broadcasts left `sending` by a worker that died (lease lapsed) get a new job. */
export const broadcastWatchdogJob = defineJob<Record<string, never>>({
  name: "broadcasts.watchdog",
  queue: { retryLimit: 0, expireInSeconds: 60, policy: "singleton" },
  cron: "* * * * *",
});
