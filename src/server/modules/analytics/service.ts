import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import { AppError } from "../../http/problem.js";
import { type ChatAnalyticsDto, type ChatAnalyticsQuery, MAX_PERIOD_DAYS } from "./schemas.js";

const DAY_MS = 86_400_000;
/** The `reason` of a 400 `invalid_period`. */
export const PERIOD_REASONS = { backwards: "to_not_after_from", tooLong: "too_long" } as const;

/** The period as [from, to): a date is its UTC midnight, a `to` date the midnight after it. */
export function periodOf(q: ChatAnalyticsQuery): { from: Date; to: Date } {
  const at = (s: string, end: boolean) =>
    /^\d{4}-\d{2}-\d{2}$/.test(s) ? new Date(Date.parse(`${s}T00:00:00Z`) + (end ? DAY_MS : 0)) : new Date(s);
  const from = at(q.from, false);
  const to = at(q.to, true);
  if (!(to.getTime() > from.getTime())) {
    throw new AppError(400, "invalid_period", "`to` must be after `from`.", {
      reason: PERIOD_REASONS.backwards,
      errors: [{ path: "to", message: "Must be after from.", in: "query" }],
    });
  }
  if (to.getTime() - from.getTime() > MAX_PERIOD_DAYS * DAY_MS) {
    throw new AppError(400, "invalid_period", `The period may cover at most ${MAX_PERIOD_DAYS} days.`, {
      reason: PERIOD_REASONS.tooLong,
      maxDays: MAX_PERIOD_DAYS,
      errors: [{ path: "to", message: `At most ${MAX_PERIOD_DAYS} days after from.`, in: "query" }],
    });
  }
  return { from, to };
}

interface Row {
  kind: "m" | "t" | "all";
  key: string | null;
  name: string | null;
  handled: number | string;
  sent: number | string;
  resolved: number | string;
  frt_median: number | string | null;
  frt_n: number | string;
  res_median: number | string | null;
  res_n: number | string;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

/** Which row of a `grouping sets ((member_id), (team_id), ())` aggregate: a member's, a team's, or the total. */
const GROUP_KEY =
  sql.raw(`case when grouping(member_id) = 0 then 'm' when grouping(team_id) = 0 then 't' else 'all' end as kind,
             case when grouping(member_id) = 0 then member_id else team_id end as key`);
const GROUPS = sql.raw("group by grouping sets ((member_id), (team_id), ())");

/**
 * Per member of the organization (all of them, the owner included; zeros for the idle), per team
 * of the conversation (every team, then "no team") and for the whole organization, in one SQL
 * statement over `messages` and `conversations` (org id first in every index it uses):
 * - handled / sent: outbound WhatsApp messages (`kind = 'message'`) with the member as sender,
 *   created in [from, to) (`messages_org_created_idx`);
 * - resolved: the "resolved" system lines the member wrote in the period (distinct conversations);
 * - first response: for each conversation created in the period, its first inbound message and
 *   the first outbound message after it (the message scans are bounded below by `from` less a
 *   day: an inbound message carries Meta's timestamp, which may precede the conversation row a
 *   little; a reply after `to` still counts for a conversation opened in the period); attributed to that
 *   message's sender (an outbound message without a member, e.g. an automation, counts for
 *   nobody); the median of those durations per member (`percentile_cont(0.5)`);
 * - resolution: for each conversation with an inbound message in the period, its first inbound
 *   message in the period and the first "resolved" line after it (even after `to`), credited to
 *   that line's member (an automation's resolution counts for nobody); the median per member.
 * A team's figures are those of the conversations whose `team_id` is that team now.
 */
export async function chatAnalytics(db: DbOrTx, orgId: string, q: ChatAnalyticsQuery): Promise<ChatAnalyticsDto> {
  const { from, to } = periodOf(q);
  const f = from.toISOString();
  const t = to.toISOString();
  const resolvedLine = sql`m.kind = 'system' and m.payload -> 'event' ->> 'type' = 'status_changed'
        and m.payload -> 'event' ->> 'to' = 'resolved'`;
  const res = await db.transaction(async (tx) => {
    // One statement over up to a year of messages: JIT compiling it cost more than it saved
    // (2.6 s of 11 s in the bench), and its sorts spilled to disk with the default work_mem.
    await tx.execute(sql`set local jit = off`);
    await tx.execute(sql`set local work_mem = '32MB'`);
    return tx.execute(sql`
    with acts as (
      select m.sender_member_id as member_id, c.team_id, m.conversation_id, m.kind
      from messages m join conversations c on c.org_id = m.org_id and c.id = m.conversation_id
      where m.org_id = ${orgId} and m.created_at >= ${f}::timestamptz and m.created_at < ${t}::timestamptz
        and m.sender_member_id is not null and m.direction = 'out'
        and (m.kind = 'message' or (${resolvedLine}))),
    work as (
      select ${GROUP_KEY},
             count(*) filter (where kind = 'message') as sent,
             count(distinct conversation_id) filter (where kind = 'message') as handled,
             count(distinct conversation_id) filter (where kind = 'system') as resolved
      from acts ${GROUPS}),
    opened as (
      select c.id, c.team_id from conversations c
      where c.org_id = ${orgId} and c.created_at >= ${f}::timestamptz and c.created_at < ${t}::timestamptz),
    first_in as (
      select m.conversation_id, o.team_id, min(m.created_at) as in_at
      from messages m join opened o on o.id = m.conversation_id
      where m.org_id = ${orgId} and m.kind = 'message' and m.direction = 'in'
        and m.created_at >= ${f}::timestamptz - interval '1 day'
      group by 1, 2),
    first_out as (
      select distinct on (m.conversation_id) m.sender_member_id as member_id, fi.team_id,
             extract(epoch from m.created_at - fi.in_at) as seconds
      from messages m join first_in fi on fi.conversation_id = m.conversation_id
      where m.org_id = ${orgId} and m.kind = 'message' and m.direction = 'out' and m.created_at > fi.in_at
        and m.created_at >= ${f}::timestamptz - interval '1 day'
      order by m.conversation_id, m.created_at, m.id),
    frt as (
      select ${GROUP_KEY}, percentile_cont(0.5) within group (order by seconds) as frt_median, count(*) as frt_n
      from first_out where member_id is not null ${GROUPS}),
    -- Materialized: inlined, the planner guessed a handful of conversations and rescanned this
    -- aggregate once per resolved line (4.1 s of 4.9 s over 30 days of the bench data); a hash join now.
    in_period as materialized (
      select m.conversation_id, min(m.created_at) as in_at
      from messages m
      where m.org_id = ${orgId} and m.kind = 'message' and m.direction = 'in'
        and m.created_at >= ${f}::timestamptz and m.created_at < ${t}::timestamptz
      group by 1),
    first_resolved as (
      select distinct on (m.conversation_id) m.sender_member_id as member_id, c.team_id,
             extract(epoch from m.created_at - ip.in_at) as seconds
      from messages m join in_period ip on ip.conversation_id = m.conversation_id
        join conversations c on c.org_id = m.org_id and c.id = m.conversation_id
      where m.org_id = ${orgId} and ${resolvedLine} and m.created_at > ip.in_at and m.created_at >= ${f}::timestamptz
      order by m.conversation_id, m.created_at, m.id),
    resolution as (
      select ${GROUP_KEY}, percentile_cont(0.5) within group (order by seconds) as res_median, count(*) as res_n
      from first_resolved where member_id is not null ${GROUPS}),
    listed as (
      select 'm' as kind, id as key, trim(first_name || ' ' || last_name) as name, 0 as sort
      from memberships where org_id = ${orgId}
      union all select 't', id, name, 1 from teams where org_id = ${orgId}
      union all select 't', null, null, 2
      union all select 'all', null, null, 3)
    select r.kind, r.key, r.name,
           coalesce(w.handled, 0) as handled, coalesce(w.sent, 0) as sent, coalesce(w.resolved, 0) as resolved,
           frt.frt_median, coalesce(frt.frt_n, 0) as frt_n, rs.res_median, coalesce(rs.res_n, 0) as res_n
    from listed r
    left join work w on w.kind = r.kind and w.key is not distinct from r.key
    left join frt on frt.kind = r.kind and frt.key is not distinct from r.key
    left join resolution rs on rs.kind = r.kind and rs.key is not distinct from r.key
    order by r.sort, lower(r.name), r.key`);
  });
  const rows = rowsOf<Row>(res);
  const figures = (r: Row) => ({
    conversationsHandled: Number(r.handled),
    conversationsResolved: Number(r.resolved),
    messagesSent: Number(r.sent),
    medianFirstResponseSeconds: num(r.frt_median),
    firstResponses: Number(r.frt_n),
    medianResolutionSeconds: num(r.res_median),
    resolutions: Number(r.res_n),
  });
  // The "all" row is the whole organization's: distinct conversations, so one handled by two
  // members counts once, and the medians over every first response and resolution.
  const total = rows.find((r) => r.kind === "all")!;
  const items = rows
    .filter((r) => r.kind === "m")
    .map((r) => ({ memberId: r.key!, name: r.name ?? "", ...figures(r) }));
  const teams = rows.filter((r) => r.kind === "t").map((r) => ({ teamId: r.key, name: r.name, ...figures(r) }));
  return { from: f, to: t, items, teams, totals: figures(total) };
}
