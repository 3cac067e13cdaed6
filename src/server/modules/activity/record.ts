import { type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { type ActivityChanges, activity } from "../../db/schema/index.js";
import type { Actor } from "../../http/request-context.js";

export interface ActivityInput {
  orgId: string;
  /** `<target>.<verb>`: member.invited, member.roles_changed, role.created, ownership.transferred, … */
  action: string;
  target: { type: string; id?: string | null; label?: string | null };
  /** Changed fields, before and after. Never secrets or tokens. */
  changes?: ActivityChanges | null;
}

/**
 * Writes one activity record. Call it with the transaction of the change it
 * describes (`tx`), so the record exists exactly when the change does.
 */
export async function recordActivity(tx: DbOrTx, actor: Actor, input: ActivityInput): Promise<void> {
  await tx.execute(activityInsert(actor, input));
}

/**
 * The statement `recordActivity` runs, for a caller that writes the record in the same statement
 * as its change (a CTE: one round trip; the member update does). Still the transaction of the change.
 */
export function activityInsert(actor: Actor, input: ActivityInput): SQL {
  const changes = input.changes ? JSON.stringify(input.changes) : null;
  return sql`insert into ${activity} (org_id, actor_type, actor_id, actor_name, action, target_type, target_id,
      target_label, changes, ip, user_agent, request_id)
    values (${input.orgId}::uuid, ${actor.type}, ${actor.id}::uuid, ${actor.name}, ${input.action}, ${input.target.type},
      ${input.target.id ?? null}, ${input.target.label ?? null}, ${changes}::jsonb, ${actor.ip},
      ${actor.userAgent?.slice(0, 512) ?? null}, ${actor.requestId})`;
}

/** Before/after of the fields that differ, for the `changes` of an update. */
export function diff<T extends Record<string, unknown>>(before: T, after: Partial<T>): ActivityChanges | null {
  const out: ActivityChanges = {};
  for (const [k, v] of Object.entries(after)) {
    if (v === undefined) continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(v)) out[k] = { before: before[k], after: v };
  }
  return Object.keys(out).length ? out : null;
}

/** The `changes` of a creation: every field with its new value. */
export function asCreated(fields: Record<string, unknown>): ActivityChanges {
  const out: ActivityChanges = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = { after: v };
  return out;
}
