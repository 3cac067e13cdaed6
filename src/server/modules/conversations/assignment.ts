import { sql } from "drizzle-orm";
import type { AssignmentSettings } from "../../../shared/schemas/settings.js";
import type { AppContext } from "../../context.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { type Actor, SYSTEM_ACTOR } from "../../http/request-context.js";
import { defineJob } from "../../jobs/define.js";
import { recordActivity } from "../activity/record.js";
import { holdsChatRead } from "../roles/object-rules.js";
import { permissionsOfRole } from "../roles/repo.js";
import { getWorkspaceSettings } from "../settings/service.js";

/**
 * Assignment rules (DESIGN §7.4). With `settings.assignment.mode` round_robin or balanced, a
 * conversation that an inbound message creates or reopens (or that is still in the queue when
 * its customer writes again) is assigned at once, in the ingest transaction, to an eligible
 * member: holds a chat-read permission, is in the conversation's team when it has one, presence
 * `online`, under capacity (open + pending conversations assigned < capacity).
 *
 * Serialised per organization: every automatic assignment first locks the organization's
 * `assignment_state` row (insert-or-update … returning), so two instances assign one after the
 * other, each seeing the other's committed loads: no conversation is assigned twice (the update
 * also requires it to be still unassigned) and no capacity is exceeded.
 *
 * The backlog (unassigned open conversations, oldest first) is handed out by the
 * `assignment.backlog` job when someone comes online or capacity frees up.
 */

/** Who the activity records name for assignments made by the rules. */
export const RULES_ACTOR: Actor = { ...SYSTEM_ACTOR, name: "Assignment rules" };

export type RulesMode = Exclude<AssignmentSettings["mode"], "manual">;

export interface Candidate {
  memberId: string;
  name: string;
  capacity: number;
  /** Open + pending conversations assigned now. */
  load: number;
  teamIds: ReadonlySet<string>;
}

/** Locks the organization's assignment state (created on first use); the round-robin position. */
export async function lockAssignmentState(tx: DbOrTx, orgId: string): Promise<{ lastMemberId: string | null }> {
  const [r] = rowsOf<{ last_member_id: string | null }>(
    await tx.execute(sql`
      insert into assignment_state (org_id) values (${orgId})
      on conflict (org_id) do update set org_id = excluded.org_id
      returning last_member_id`),
  );
  return { lastMemberId: r?.last_member_id ?? null };
}

/**
 * The organization's online members who hold a chat-read permission, with their capacity, load
 * and teams. Call under the state lock so the loads are current.
 */
export async function loadCandidates(tx: DbOrTx, orgId: string, defaultCapacity: number): Promise<Candidate[]> {
  // One round trip (it runs under the lock): members, capacity, load, roles and teams.
  const found = rowsOf<{
    id: string;
    is_owner: boolean;
    name: string;
    capacity: number | null;
    load: number;
    roles: { id: string; system: boolean; permissions: string[] }[] | null;
    team_ids: string[] | null;
  }>(
    await tx.execute(sql`
      select m.id, m.is_owner, trim(m.first_name || ' ' || m.last_name) as name, p.capacity,
        (select count(*)::int from conversations c
          where c.org_id = p.org_id and c.assignee_member_id = p.member_id and c.status in ('open', 'pending')) as load,
        (select json_agg(json_build_object('id', r.id, 'system', r.is_system, 'permissions', r.permissions))
          from member_roles mr join roles r on r.org_id = mr.org_id and r.id = mr.role_id
          where mr.org_id = p.org_id and mr.member_id = p.member_id) as roles,
        (select array_agg(tm.team_id::text) from team_members tm where tm.org_id = p.org_id and tm.member_id = p.member_id) as team_ids
      from member_presence p
      join memberships m on m.org_id = p.org_id and m.id = p.member_id
      where p.org_id = ${orgId} and p.status = 'online'`),
  );
  const out: Candidate[] = [];
  for (const f of found) {
    const chatRead =
      f.is_owner ||
      (f.roles ?? []).some((r) =>
        holdsChatRead({
          isOwner: false,
          permissions: permissionsOfRole({ id: r.id, isSystem: r.system, permissions: r.permissions }),
        }),
      );
    if (!chatRead) continue;
    out.push({
      memberId: String(f.id),
      name: f.name,
      capacity: f.capacity ?? defaultCapacity,
      load: Number(f.load),
      teamIds: new Set(f.team_ids ?? []),
    });
  }
  return out.sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
}

/**
 * The member the rules choose, or null when nobody is eligible. `candidates` sorted by member id
 * (the fixed round-robin order). round_robin: the first eligible after `lastMemberId`, wrapping;
 * balanced: the fewest open conversations, ties broken by that same round-robin order.
 */
export function pickMember(
  candidates: readonly Candidate[],
  teamId: string | null,
  mode: RulesMode,
  lastMemberId: string | null,
): Candidate | null {
  const eligible = candidates.filter((c) => c.load < c.capacity && (teamId === null || c.teamIds.has(teamId)));
  if (eligible.length === 0) return null;
  const start = lastMemberId === null ? 0 : eligible.findIndex((c) => c.memberId > lastMemberId);
  const rotated = start <= 0 ? eligible : [...eligible.slice(start), ...eligible.slice(0, start)];
  if (mode === "round_robin") return rotated[0]!;
  let best = rotated[0]!;
  for (const c of rotated) if (c.load < best.load) best = c;
  return best;
}

interface ConvRef {
  id: string;
}

/**
 * Assigns unassigned live conversations by the rules, in one statement: each still unassigned
 * (the update checks it) gets its assignee, the same thread line as a manual assignment and a
 * `conversation.assigned` activity record naming the rules as actor (the columns recordActivity
 * writes); the round-robin position moves to the last member. Returns the conversations assigned.
 */
async function assignByRules(
  tx: DbOrTx,
  orgId: string,
  pairs: readonly { conv: ConvRef; to: Candidate }[],
  mode: RulesMode,
): Promise<number> {
  if (pairs.length === 0) return 0;
  const how = mode === "round_robin" ? "round robin" : "balanced";
  const input = JSON.stringify(
    pairs.map((p) => ({ conversation_id: p.conv.id, member_id: p.to.memberId, name: p.to.name })),
  );
  const done = rowsOf<{ id: string }>(
    await tx.execute(sql`
      with pairs as (
        select * from json_to_recordset(${input}::json) as p(conversation_id uuid, member_id uuid, name text)
      ),
      u as (
        update conversations c set assignee_member_id = p.member_id, version = c.version + 1, updated_at = now()
        from pairs p
        where c.org_id = ${orgId} and c.id = p.conversation_id and c.assignee_member_id is null and c.status <> 'resolved'
        returning c.id, c.channel_id, c.contact_id, p.member_id, p.name
      ),
      m as (
        insert into messages (org_id, conversation_id, channel_id, contact_id, direction, kind, type, body, payload, status)
        select ${orgId}, u.id, u.channel_id, u.contact_id, 'out', 'system', 'system',
          'assigned to ' || u.name || ' by the assignment rules (' || ${how}::text || ')',
          jsonb_build_object('event', jsonb_build_object('type', 'assigned', 'from', null,
            'to', jsonb_build_object('memberId', u.member_id, 'name', u.name), 'by', null, 'via', 'rules', 'mode', ${mode}::text)),
          'sent'
        from u
      ),
      a as (
        insert into activity (org_id, actor_type, actor_id, actor_name, action, target_type, target_id, changes)
        select ${orgId}, ${RULES_ACTOR.type}, null, ${RULES_ACTOR.name}, 'conversation.assigned', 'conversation', u.id::text,
          jsonb_build_object('assigneeMemberId', jsonb_build_object('before', null, 'after', u.member_id),
            'via', jsonb_build_object('after', 'rules'), 'mode', jsonb_build_object('after', ${mode}::text))
        from u
      ),
      s as (
        update assignment_state set last_member_id = ${pairs.at(-1)!.to.memberId},
          assigned_count = assigned_count + (select count(*) from u), updated_at = now()
        where org_id = ${orgId}
      )
      select id from u`),
  );
  return done.length;
}

/**
 * Called by ingest once per transaction with the conversations that got a new inbound message
 * in it (their rows are already locked by ingest's upserts), at the end, so the organization's
 * lock is held only for this step and its commit: one lock, one read of the candidates and one
 * write for the whole batch. Assigns those that are live and unassigned, oldest first, when the
 * rules are on. Returns the number assigned.
 */
export async function assignArrivals(
  tx: DbOrTx,
  orgId: string,
  conversationIds: readonly string[],
  settings?: AssignmentSettings,
): Promise<number> {
  if (conversationIds.length === 0) return 0;
  const rules = settings ?? (await getWorkspaceSettings(tx, orgId)).assignment;
  if (rules.mode === "manual") return 0;
  const mode = rules.mode;
  const ids = JSON.stringify([...new Set(conversationIds)]);
  const waiting = rowsOf<{ id: string; team_id: string | null }>(
    await tx.execute(sql`
      select id, team_id from conversations
      where org_id = ${orgId} and id in (select value::uuid from json_array_elements_text(${ids}::json))
        and assignee_member_id is null and status in ('open', 'pending')
      order by created_at, id`),
  );
  if (waiting.length === 0) return 0;
  const state = await lockAssignmentState(tx, orgId);
  const candidates = await loadCandidates(tx, orgId, rules.defaultCapacity);
  let last = state.lastMemberId;
  const pairs: { conv: ConvRef; to: Candidate }[] = [];
  for (const c of waiting) {
    const to = pickMember(candidates, c.team_id, mode, last);
    if (!to) continue;
    to.load++;
    last = to.memberId;
    pairs.push({ conv: { id: String(c.id) }, to });
  }
  return assignByRules(tx, orgId, pairs, mode);
}

/** Conversations looked at per round (one transaction) of the backlog. */
const BACKLOG_BATCH = 200;

/**
 * Hands out the queue: unassigned open conversations, oldest first, to eligible members until
 * nobody has room. Rounds of BACKLOG_BATCH conversations, each its own short transaction under
 * the organization's lock (arrivals wait for one round, not for the whole queue). Rows another
 * transaction holds (an ingest assigning them itself) are skipped. Returns how many were assigned.
 */
export async function handOutBacklog(db: Db, orgId: string, settings?: AssignmentSettings): Promise<number> {
  const rules = settings ?? (await getWorkspaceSettings(db, orgId)).assignment;
  if (rules.mode === "manual") return 0;
  const mode = rules.mode;
  let assigned = 0;
  let after: { createdAt: string; id: string } | null = null;
  for (;;) {
    const round = await db.transaction(async (tx) => {
      const state = await lockAssignmentState(tx, orgId);
      const candidates = await loadCandidates(tx, orgId, rules.defaultCapacity);
      if (!candidates.some((c) => c.load < c.capacity)) return null;
      const batch = rowsOf<{ id: string; team_id: string | null; at: string }>(
        await tx.execute(sql`
          select id, team_id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at
          from conversations
          where org_id = ${orgId} and assignee_member_id is null and status = 'open'
            ${after ? sql`and (created_at, id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql``}
          order by created_at, id
          limit ${BACKLOG_BATCH}
          for update skip locked`),
      );
      let last = state.lastMemberId;
      const pairs: { conv: ConvRef; to: Candidate }[] = [];
      for (const c of batch) {
        const to = pickMember(candidates, c.team_id, mode, last);
        if (!to) continue;
        to.load++;
        last = to.memberId;
        pairs.push({ conv: { id: String(c.id) }, to });
      }
      const n = await assignByRules(tx, orgId, pairs, mode);
      const tail = batch.at(-1);
      return {
        n,
        full: batch.length === BACKLOG_BATCH,
        tail: tail ? { createdAt: tail.at, id: String(tail.id) } : null,
      };
    });
    if (!round) break;
    assigned += round.n;
    if (!round.full || !round.tail) break;
    after = round.tail;
  }
  return assigned;
}

export const backlogJob = defineJob<{ orgId: string }>({
  name: "assignment.backlog",
  queue: { retryLimit: 5, retryDelay: 1, retryBackoff: true, expireInSeconds: 120 },
  work: { batchSize: 5, localConcurrency: 2, pollingIntervalSeconds: 1 },
});

export function registerAssignmentJobs(ctx: AppContext): void {
  ctx.jobs.register(backlogJob, async ({ data }) => (await handOutBacklog(ctx.db, data.orgId)) > 0);
}

/**
 * Asks for the backlog to be handed out (someone came online, or capacity freed up): a job, so
 * the request that caused it stays fast. In `tx` when given (it commits with the change).
 * Nothing when the rules are off.
 */
export async function requestBacklog(ctx: AppContext, orgId: string, tx?: DbOrTx): Promise<boolean> {
  const db = tx ?? ctx.db;
  const { assignment } = await getWorkspaceSettings(db, orgId);
  if (assignment.mode === "manual") return false;
  await ctx.jobs.enqueue(db, backlogJob, { orgId });
  return true;
}

/**
 * With `reassignOnOffline`: the member's unanswered conversations (live, the customer wrote
 * last: no message sent since their last inbound one) go back to the queue, with a thread line
 * each and one activity record. In the caller's transaction. Returns how many.
 */
export async function returnUnansweredToQueue(
  tx: DbOrTx,
  by: Actor,
  orgId: string,
  memberId: string,
  memberName: string,
): Promise<number> {
  const released = rowsOf<{ id: string; channel_id: string; contact_id: string }>(
    await tx.execute(sql`
      update conversations c set assignee_member_id = null, version = c.version + 1, updated_at = now()
      where c.org_id = ${orgId} and c.assignee_member_id = ${memberId} and c.status <> 'resolved'
        and c.last_inbound_at is not null
        and not exists (
          select 1 from messages m where m.org_id = c.org_id and m.conversation_id = c.id
            and m.direction = 'out' and m.kind = 'message' and m.created_at >= c.last_inbound_at)
      returning c.id, c.channel_id, c.contact_id`),
  );
  if (released.length === 0) return 0;
  const text = `returned to the queue: ${memberName} went offline`;
  const payload = JSON.stringify({
    event: { type: "returned_to_queue", from: { memberId, name: memberName }, reason: "offline" },
  });
  for (const c of released) {
    await tx.execute(sql`
      insert into messages (org_id, conversation_id, channel_id, contact_id, direction, kind, type, body, payload, status)
      values (${orgId}, ${c.id}, ${c.channel_id}, ${c.contact_id}, 'out', 'system', 'system', ${text}, ${payload}::jsonb, 'sent')`);
  }
  await recordActivity(tx, by, {
    orgId,
    action: "conversations.returned_to_queue",
    target: { type: "member", id: memberId, label: memberName },
    changes: { conversations: { before: released.length, after: 0 }, reason: { after: "offline" } },
  });
  return released.length;
}
