import { and, eq, or } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { AppContext } from "../../context.js";
import type { Db } from "../../db/client.js";
import { waChannels } from "../../db/schema/index.js";
import { appSecretOf, graphTargetOf } from "../channels/repo.js";
import { assignArrivals } from "../conversations/assignment.js";
import { processWebhookEvent, webhookJob } from "./ingest.js";
import { runSend, sendJob } from "./send.js";
import { fakeGraphPlugin, type SimNumber, SimulatorState } from "./simulator/fake-graph.js";

/** The channel's job types and their handlers (called by buildApp before the queue starts). */
export function registerWhatsAppJobs(ctx: AppContext): void {
  ctx.jobs.register(webhookJob, async ({ data, lastAttempt }) => {
    // In order (statuses of one message usually arrive in one batch); applied events are skipped.
    const applyAll = async (c: AppContext, last: boolean, arrivals?: string[]) => {
      let applied = false;
      for (const eventId of data.eventIds) {
        if (await processWebhookEvent(c, data.orgId, eventId, last, arrivals)) applied = true;
      }
      return applied;
    };
    // The batch in one transaction (one commit; each event a savepoint). A database error fails
    // the whole batch, retried; the last attempt goes event by event, so one bad event cannot
    // hold the others back.
    if (!lastAttempt) {
      return ctx.db.transaction(async (tx) => {
        const arrivals: string[] = [];
        const applied = await applyAll({ ...ctx, db: tx as unknown as Db }, false, arrivals);
        // The assignment rules once for the batch, at its end (a short hold of the org's lock).
        await assignArrivals(tx, data.orgId, arrivals);
        return applied;
      });
    }
    return applyAll(ctx, true);
  });
  ctx.jobs.register(sendJob, (run) => runSend(ctx, run.data, run));
}

/** Where the built-in simulator lives (WA_SIMULATOR_URL defaults to it on this server). */
export const SIMULATOR_PREFIX = "/dev/wa-sim";

/**
 * The fake Graph API inside Chorus, for `simulator` channels (never in production): numbers
 * are the organization's simulator channels; status webhooks go to this server's own webhook
 * route (signed, through the same path Meta's take).
 */
export const embeddedSimulator: FastifyPluginAsync = async (app) => {
  const ctx = app.ctx;
  const state = new SimulatorState();
  app.addHook("onClose", async () => state.stop());
  const root = app;
  await app.register(
    fakeGraphPlugin(state, {
      resolve: async (id): Promise<SimNumber | null> => {
        if (!/^\d{1,32}$/.test(id)) return null;
        const [row] = await ctx.db
          .select()
          .from(waChannels)
          .where(and(eq(waChannels.mode, "simulator"), or(eq(waChannels.phoneNumberId, id), eq(waChannels.wabaId, id))))
          .limit(1);
        if (!row) return null;
        return {
          phoneNumberId: row.phoneNumberId,
          wabaId: row.wabaId,
          displayPhoneNumber: row.displayPhoneNumber,
          verifiedName: row.name,
          accessToken: graphTargetOf(ctx.config, row).accessToken,
          appSecret: appSecretOf(ctx.config, row),
          webhookUrl: `/api/v1/webhooks/whatsapp/${row.webhookKey}`,
        };
      },
      deliver: async (n, body, signature) => {
        await root.inject({
          method: "POST",
          url: n.webhookUrl,
          headers: { "content-type": "application/json", "x-hub-signature-256": signature },
          payload: body,
        });
      },
      baseUrl: () => ctx.config.waSimulatorUrl,
      log: ctx.log,
    }),
    { prefix: SIMULATOR_PREFIX },
  );
};
