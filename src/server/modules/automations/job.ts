import { and, eq } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { automations } from "../../db/schema/index.js";
import { defineJob } from "../../jobs/define.js";

/**
 * One job per newly stored inbound message, enqueued by the webhook ingest in its transaction
 * and only for a message row it inserted (a redelivered wamid stores nothing, so enqueues
 * nothing). `opened`: the message created the conversation (a new or returning contact).
 * The handler is run.ts (kept apart so the ingest imports no sending code).
 */
export const automationRunJob = defineJob<{ orgId: string; messageId: string; opened: boolean }>({
  name: "automations.run",
  queue: { retryLimit: 5, retryDelay: 2, retryBackoff: true, expireInSeconds: 120 },
  work: { batchSize: 10, localConcurrency: 2, pollingIntervalSeconds: 1 },
});

/** Whether the organization has an enabled automation (the ingest enqueues nothing otherwise). */
export async function hasEnabledAutomations(db: DbOrTx, orgId: string): Promise<boolean> {
  const rows = await db
    .select({ id: automations.id })
    .from(automations)
    .where(and(eq(automations.orgId, orgId), eq(automations.enabled, true)))
    .limit(1);
  return rows.length > 0;
}
