import type { AppContext } from "../../context.js";
import { defineJob } from "../../jobs/define.js";
import { mailPendingNotifications } from "./service.js";

/**
 * The safety net of notification email: a notification whose commit's NOTIFY no instance acted on
 * (all down at that moment) is mailed by the next sweep, every minute.
 */
export const notificationMailSweepJob = defineJob<Record<string, never>>({
  name: "notifications.mail",
  cron: "* * * * *",
  queue: { policy: "singleton", retryLimit: 2, retryDelay: 30, expireInSeconds: 300 },
});

export function registerNotificationJobs(ctx: AppContext): void {
  ctx.jobs.register(notificationMailSweepJob, async () => {
    for (;;) {
      const n = await mailPendingNotifications(ctx);
      if (n < 100) return;
    }
  });
}
