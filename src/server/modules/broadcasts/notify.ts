import type { DbOrTx } from "../../db/client.js";
import { notifyBroadcastFinished } from "../notifications/service.js";

/**
 * A broadcast finished (completed or failed): its creator and its sender are told (in-app and
 * by email, as each one's preferences say), in the transaction that finished it. Returns the
 * members addressed (each once), which the `broadcast.completed` / `broadcast.failed` activity
 * record keeps.
 */
export async function onBroadcastFinished(
  tx: DbOrTx,
  b: { orgId: string; broadcastId: string; name: string; memberIds: string[] },
): Promise<string[]> {
  const memberIds = [...new Set(b.memberIds)];
  await notifyBroadcastFinished(tx, { orgId: b.orgId, broadcastId: b.broadcastId, name: b.name, memberIds });
  return memberIds;
}
