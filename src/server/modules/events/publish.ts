import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";

/** The NOTIFY channel of committed events: payload `<orgId>:<id>,<id>…` (the rows are read from `events`). */
export const EVENTS_CHANNEL = "chorus_events";

export const EVENT_KINDS = [
  "conversation.created",
  "conversation.updated",
  "conversation.assigned",
  "message.created",
  "message.status",
  "notification.created",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * `conversation.upserted`: `conversation.created` when the conversation row was inserted by this
 * transaction, else `conversation.updated` (the webhook ingest's upsert cannot tell without a
 * second query; its `created_at` is the transaction's `now()` exactly when it was inserted now).
 */
export type PublishKind = EventKind | "conversation.upserted";

export interface PublishInput {
  orgId: string;
  /** One kind, or several rows for the same conversation and payload (e.g. conversation + message). */
  kind: PublishKind | readonly PublishKind[];
  /** The conversation the event concerns (its assignee and team are copied in from its row). */
  conversationId?: string | null;
  /** Several conversations at once (the queue taking back a member's conversations). */
  conversationIds?: readonly string[];
  /** `conversation.assigned`: the assignee before the change, who hears of it too (ids only). */
  previousAssigneeMemberId?: string | null;
  /** `notification.created`: the member it is for. */
  recipientMemberId?: string | null;
  /** Small: ids and states, never message text or personal data. */
  payload?: Record<string, unknown>;
}

/** At most this many ids per NOTIFY (PostgreSQL caps a payload below 8000 bytes). */
const IDS_PER_NOTIFY = 400;

/**
 * Records real-time events in the caller's transaction and NOTIFYs their ids, which PostgreSQL
 * (and PGlite) deliver to every listener when the transaction commits, never when it rolls back.
 * One statement: the conversation's assignee and team are read from its row as the transaction
 * sees it, i.e. after the change (call this after the change's UPDATE/INSERT).
 */
export async function publish(tx: DbOrTx, input: PublishInput): Promise<void> {
  const kinds = (Array.isArray(input.kind) ? input.kind : [input.kind]) as PublishKind[];
  const convIds = input.conversationIds ?? [input.conversationId ?? null];
  if (kinds.length === 0 || convIds.length === 0) return;
  const payload = JSON.stringify(input.payload ?? {});
  const kindArray = sql`array[${sql.join(
    kinds.map((k) => sql`${k}`),
    sql`, `,
  )}]::text[]`;
  const convArray = sql`array[${sql.join(
    convIds.map((c) => sql`${c}`),
    sql`, `,
  )}]::uuid[]`;
  // Insert and notify in one round trip; one NOTIFY per IDS_PER_NOTIFY rows.
  await tx.execute(sql`
    with k as (select k, ord from unnest(${kindArray}) with ordinality as k(k, ord)),
    c as (select c, cord from unnest(${convArray}) with ordinality as c(c, cord)),
    ins as (
      insert into events (org_id, kind, conversation_id, assignee_member_id, team_id,
        previous_assignee_member_id, recipient_member_id, payload)
      select ${input.orgId}::uuid,
        case when k.k = 'conversation.upserted'
          then case when conv.created_at = now() then 'conversation.created' else 'conversation.updated' end
          else k.k end,
        c.c, conv.assignee_member_id, conv.team_id,
        ${input.previousAssigneeMemberId ?? null}::uuid, ${input.recipientMemberId ?? null}::uuid, ${payload}::jsonb
      from c cross join k
      left join conversations conv on conv.org_id = ${input.orgId}::uuid and conv.id = c.c
      order by c.cord, k.ord
      returning id
    )
    select pg_notify(${EVENTS_CHANNEL}, ${input.orgId}::text || ':' || string_agg(id::text, ',' order by id))
    from (select id, (row_number() over (order by id) - 1) / ${IDS_PER_NOTIFY} as grp from ins) g
    group by grp`);
}
