import { and, eq, sql } from "drizzle-orm";
import type { PresenceDto, PresenceStatusValue } from "../../../shared/schemas/presence.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { memberPresence, memberships } from "../../db/schema/index.js";
import { notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { requestBacklog, returnUnansweredToQueue } from "../conversations/assignment.js";
import { getWorkspaceSettings } from "../settings/service.js";

/**
 * Presence (DESIGN §7.1 `/me/presence`) and the per-member capacity override (§7.4). A member
 * without a row is offline with the workspace's default capacity.
 */

async function openAssigned(db: DbOrTx, orgId: string, memberId: string): Promise<number> {
  const res = await db.execute(sql`
    select count(*)::int as n from conversations
    where org_id = ${orgId} and assignee_member_id = ${memberId} and status in ('open', 'pending')`);
  return Number(rowsOf<{ n: number }>(res)[0]?.n ?? 0);
}

export async function getPresence(db: DbOrTx, orgId: string, memberId: string): Promise<PresenceDto> {
  const [row] = await db
    .select()
    .from(memberPresence)
    .where(and(eq(memberPresence.orgId, orgId), eq(memberPresence.memberId, memberId)));
  const { assignment } = await getWorkspaceSettings(db, orgId);
  return {
    memberId,
    status: row?.status ?? "offline",
    statusChangedAt: row ? row.statusChangedAt.toISOString() : null,
    capacity: row?.capacity ?? assignment.defaultCapacity,
    capacityOverride: row?.capacity ?? null,
    openAssigned: await openAssigned(db, orgId, memberId),
  };
}

/**
 * The member sets their own presence. Coming online asks for the backlog to be handed out (a
 * job); going offline with `reassignOnOffline` returns their unanswered conversations to the
 * queue in this transaction (and asks for the backlog, so someone online takes them).
 */
export async function setPresence(
  ctx: AppContext,
  member: OrgMember,
  by: Actor,
  status: PresenceStatusValue,
): Promise<PresenceDto> {
  const { orgId, memberId } = member;
  const returned = await ctx.db.transaction(async (tx) => {
    const [before] = await tx
      .select({ status: memberPresence.status })
      .from(memberPresence)
      .where(and(eq(memberPresence.orgId, orgId), eq(memberPresence.memberId, memberId)))
      .for("update");
    const previous = before?.status ?? "offline";
    if (before && previous === status) return 0;
    await tx
      .insert(memberPresence)
      .values({ orgId, memberId, status })
      .onConflictDoUpdate({
        target: [memberPresence.orgId, memberPresence.memberId],
        set: { status, statusChangedAt: sql`now()`, updatedAt: sql`now()` },
      });
    if (previous === status) return 0;
    const name = `${member.firstName} ${member.lastName}`.trim();
    return statusChanged(ctx, tx, by, { orgId, memberId, name }, previous, status);
  });
  return { ...(await getPresence(ctx.db, orgId, memberId)), ...(returned ? { returnedToQueue: returned } : {}) };
}

/**
 * What a new presence status sets in motion, in the transaction that wrote it (the member's own
 * PUT, or the automatic offline after their last event stream closed): its activity record
 * (`member.presence_changed`: who was available for assignment, and when, is what a supervisor
 * asks when conversations went to the wrong person or waited); going offline with
 * `reassignOnOffline` returns their unanswered conversations to the queue; coming online, or
 * conversations returned, asks for the backlog. Returns how many conversations were returned.
 */
export async function statusChanged(
  ctx: AppContext,
  tx: DbOrTx,
  by: Actor,
  member: { orgId: string; memberId: string; name: string },
  previous: PresenceStatusValue,
  status: PresenceStatusValue,
): Promise<number> {
  const { orgId, memberId } = member;
  await recordActivity(tx, by, {
    orgId,
    action: "member.presence_changed",
    target: { type: "member", id: memberId, label: member.name },
    changes: { status: { before: previous, after: status } },
  });
  let n = 0;
  if (status === "offline") {
    const { assignment } = await getWorkspaceSettings(tx, orgId);
    if (assignment.reassignOnOffline) n = await returnUnansweredToQueue(tx, by, orgId, memberId, member.name);
  }
  if (status === "online" || n > 0) await requestBacklog(ctx, orgId, tx);
  return n;
}

/** `members:update`: the member's capacity override (null: the workspace default). */
export async function setCapacity(
  ctx: AppContext,
  by: Actor,
  orgId: string,
  memberId: string,
  capacity: number | null,
): Promise<PresenceDto> {
  await ctx.db.transaction(async (tx) => {
    const [m] = await tx
      .select({ firstName: memberships.firstName, lastName: memberships.lastName })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
    if (!m) throw notFound("member", "member_not_found");
    const [before] = await tx
      .select({ capacity: memberPresence.capacity })
      .from(memberPresence)
      .where(and(eq(memberPresence.orgId, orgId), eq(memberPresence.memberId, memberId)))
      .for("update");
    const previous = before?.capacity ?? null;
    if (before && previous === capacity) return;
    await tx
      .insert(memberPresence)
      .values({ orgId, memberId, capacity })
      .onConflictDoUpdate({
        target: [memberPresence.orgId, memberPresence.memberId],
        set: { capacity, updatedAt: sql`now()` },
      });
    if (previous === capacity) return;
    await recordActivity(tx, by, {
      orgId,
      action: "member.capacity_changed",
      target: { type: "member", id: memberId, label: `${m.firstName} ${m.lastName}`.trim() },
      changes: { capacity: { before: previous, after: capacity } },
    });
    // A higher capacity may let the member take queued conversations.
    if (capacity === null || previous === null || capacity > previous) await requestBacklog(ctx, orgId, tx);
  });
  return getPresence(ctx.db, orgId, memberId);
}
