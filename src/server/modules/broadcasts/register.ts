import type { AppContext } from "../../context.js";
import { broadcastSendJob, broadcastWatchdogJob } from "./jobs.js";
import { DEFAULT_SENDER, resumeStalled, runBroadcastSend, type SenderOptions } from "./sender.js";

/**
 * The broadcasts' job types (called by buildApp before the queue starts). With workers, a start
 * also looks for broadcasts a dead worker left `sending` (the watchdog does it every minute).
 */
export function registerBroadcastJobs(ctx: AppContext, opts: { workers: boolean; sender?: SenderOptions }): void {
  ctx.jobs.register(broadcastSendJob, ({ data }) => runBroadcastSend(ctx, data, opts.sender ?? DEFAULT_SENDER));
  ctx.jobs.register(broadcastWatchdogJob, async () => {
    await resumeStalled(ctx);
  });
  if (opts.workers) {
    // After every registration (buildApp registers this last) the queue starts; then look once.
    setImmediate(() => {
      void ctx.jobs
        .start()
        .then(() => resumeStalled(ctx))
        .catch((err: unknown) => ctx.log.warn({ err }, "broadcasts: looking for stalled sends failed"));
    });
  }
}
