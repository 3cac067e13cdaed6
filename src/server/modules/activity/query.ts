import { and, eq, gte, like, lt, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { activity } from "../../db/schema/index.js";
import { type BigintKeyset, bigintKeyset, decodeCursor, encodeCursor } from "../../http/cursor.js";
import type { ActivityFilters, ActivityItem } from "./schemas.js";

/** A timestamptz column as ISO 8601 UTC text with microseconds (the form of a keyset's `at`). */
export const isoMicros = (col: SQLWrapper) =>
  sql<string>`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Escapes LIKE wildcards so a user's prefix matches literally. */
export const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The WHERE of an activity query: always the organization first, then the filters. */
export function activityWhere(orgId: string, f: ActivityFilters, after: BigintKeyset | null): SQL {
  const conditions: (SQL | undefined)[] = [eq(activity.orgId, orgId)];
  if (f.actorId) conditions.push(eq(activity.actorId, f.actorId));
  if (f.action) {
    const isPrefix = f.action.endsWith("*") || f.action.endsWith(".");
    if (!isPrefix) conditions.push(eq(activity.action, f.action));
    else {
      const prefix = f.action.endsWith("*") ? f.action.slice(0, -1) : f.action;
      const dot = prefix.indexOf(".");
      // The group (text before the first dot) is indexed: `member.` is an index range.
      if (dot >= 0) conditions.push(sql`split_part(${activity.action}, '.', 1) = ${prefix.slice(0, dot)}`);
      if (prefix.length > dot + 1 || dot < 0) conditions.push(like(activity.action, likePrefix(prefix)));
    }
  }
  if (f.targetType) conditions.push(eq(activity.targetType, f.targetType));
  if (f.targetId) conditions.push(eq(activity.targetId, f.targetId));
  if (f.from) conditions.push(gte(activity.at, new Date(f.from)));
  if (f.to) conditions.push(lt(activity.at, new Date(f.to)));
  if (after) conditions.push(sql`(${activity.at}, ${activity.id}) < (${after.at}::timestamptz, ${after.id}::bigint)`);
  return and(...conditions)!;
}

/** Newest first; NULLS LAST matches the indexes as drizzle-kit creates them (`DESC NULLS LAST`). */
export const newestFirst = sql`${activity.at} desc nulls last, ${activity.id} desc nulls last`;

const columns = {
  id: activity.id,
  at: activity.at,
  atIso: isoMicros(activity.at),
  actorType: activity.actorType,
  actorId: activity.actorId,
  actorName: activity.actorName,
  action: activity.action,
  targetType: activity.targetType,
  targetId: activity.targetId,
  targetLabel: activity.targetLabel,
  changes: activity.changes,
  ip: activity.ip,
  userAgent: activity.userAgent,
  requestId: activity.requestId,
};

type Row = {
  id: number;
  at: Date;
  atIso: string;
  actorType: "user" | "system" | "api_key";
  actorId: string | null;
  actorName: string;
  action: string;
  targetType: string;
  targetId: string | null;
  targetLabel: string | null;
  changes: ActivityItem["changes"];
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
};

export function toItem(r: Row): ActivityItem {
  return {
    id: String(r.id),
    at: r.at.toISOString(),
    actor: { type: r.actorType, id: r.actorId, name: r.actorName },
    action: r.action,
    target: { type: r.targetType, id: r.targetId, label: r.targetLabel },
    changes: r.changes ?? null,
    ip: r.ip,
    userAgent: r.userAgent,
    requestId: r.requestId,
  };
}

/** The page query, unexecuted (the benchmark EXPLAINs it). */
export function activityPageQuery(
  db: DbOrTx,
  orgId: string,
  f: ActivityFilters,
  after: BigintKeyset | null,
  limit: number,
) {
  return db
    .select(columns)
    .from(activity)
    .where(activityWhere(orgId, f, after))
    .orderBy(newestFirst)
    .limit(limit);
}

async function fetchRows(db: DbOrTx, orgId: string, f: ActivityFilters, after: BigintKeyset | null, limit: number) {
  return (await activityPageQuery(db, orgId, f, after, limit)) as Row[];
}

export async function listActivity(
  db: DbOrTx,
  orgId: string,
  f: ActivityFilters & { limit: number; cursor?: string | undefined },
): Promise<{ items: ActivityItem[]; nextCursor: string | null }> {
  const after = decodeCursor(f.cursor, bigintKeyset);
  const rows = await fetchRows(db, orgId, f, after, f.limit + 1);
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return {
    items: page.map(toItem),
    nextCursor: rows.length > f.limit && last ? encodeCursor({ at: last.atIso, id: last.id }) : null,
  };
}

/** An export row: every column already text, rendered by PostgreSQL (no Date or JSON round trip in JS). */
export interface ExportRow {
  id: string;
  /** ISO 8601 in UTC with microseconds: 2025-03-01T12:00:00.123456Z. */
  at: string;
  actorType: string;
  actorId: string | null;
  actorName: string;
  action: string;
  targetType: string;
  targetId: string | null;
  targetLabel: string | null;
  /** The JSON text of `changes`, or null. */
  changes: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

// `at` with microseconds (the cursor needs them); the export shows milliseconds like the API.
const exportSelect = sql.raw(`id::text as "id",
  to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "at",
  actor_type as "actorType", actor_id::text as "actorId", actor_name as "actorName", action,
  target_type as "targetType", target_id as "targetId", target_label as "targetLabel",
  changes::text as "changes", ip, user_agent as "userAgent", request_id as "requestId"`);

/**
 * Every matching record, newest first, in batches of `batchSize` read with the keyset:
 * memory stays at two batches whatever the total, and no transaction is held open.
 * The next batch is fetched while the caller formats and sends the current one.
 */
export async function* activityBatches(
  db: DbOrTx,
  orgId: string,
  f: ActivityFilters,
  batchSize = 2_000,
): AsyncGenerator<ExportRow[]> {
  // Plain SQL through `execute`: the rows come back as the driver makes them (all text here),
  // without the query builder's per-row mapping, which costs more than the query itself.
  const fetch = (after: BigintKeyset | null) => {
    const p = db
      .execute(sql`select ${exportSelect} from ${activity}
        where ${activityWhere(orgId, f, after)} order by ${newestFirst} limit ${batchSize}`)
      .then((res) => (res as unknown as { rows: ExportRow[] }).rows);
    // A prefetch left behind by a consumer that stopped early must not be an unhandled rejection.
    p.catch(() => {});
    return p;
  };
  let next: Promise<ExportRow[]> | null = fetch(null);
  while (next) {
    const rows: ExportRow[] = await next;
    const last = rows.at(-1);
    next = rows.length === batchSize && last ? fetch({ at: last.at, id: Number(last.id) }) : null;
    if (rows.length) yield rows;
  }
}
