import type { FastifyInstance } from "fastify";
import type { AppContext } from "../../context.js";
import { memberEvents } from "../members/events.js";
import { registerNotificationJobs } from "../notifications/register.js";
import { mailPendingNotifications } from "../notifications/service.js";
import { startAutoOffline } from "../presence/auto-offline.js";
import { eventHub } from "./hub.js";
import { registerPruneEventsJob } from "./prune.js";

/**
 * Real-time and notifications in an app: the instance's event hub (listening from the start, stopped
 * on close), the streams of a removed member closed on every instance, the pending notification
 * emails claimed after their commit, the prune job, and automatic offline after a member's last
 * stream closes (presence/auto-offline.ts).
 */
export async function startRealtime(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const hub = eventHub(ctx);
  registerPruneEventsJob(ctx);
  registerNotificationJobs(ctx);
  const stopAutoOffline = startAutoOffline(ctx, hub);
  memberEvents(ctx).on("memberRemoved", (e) => {
    hub.closeMember(e.orgId, e.userId, "member_removed");
    hub.broadcastCloseMember(e.orgId, e.userId).catch((err) => ctx.log.warn({ err }, "could not close streams"));
  });
  hub.onMailPending = (orgId, ids) => {
    // After the listener callback returns (PGlite calls it while the commit completes).
    setImmediate(() => {
      mailPendingNotifications(ctx, { orgId, ids }).catch((err) =>
        ctx.log.warn({ err, orgId }, "notification email: claim failed (the sweep job retries)"),
      );
    });
  };
  await hub.start();
  // preClose: open streams must end before the server can close.
  app.addHook("preClose", (done) => {
    hub
      .stop()
      .then(stopAutoOffline)
      .then(() => done(), done);
  });
}
