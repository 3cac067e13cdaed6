import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { z } from "zod";
import type { paginationQuery } from "../../../shared/schemas/common.js";
import type { DbOrTx } from "../../db/client.js";
import { sessions } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, uuidKeyset } from "../../http/cursor.js";
import { isoMicros } from "../activity/query.js";
import type { sessionsPage } from "./schemas.js";

/** The user's live sessions, newest first, marking the one making the request. */
export async function listSessions(
  db: DbOrTx,
  userId: string,
  currentSessionId: string,
  q: z.output<typeof paginationQuery>,
): Promise<z.output<typeof sessionsPage>> {
  const after = decodeCursor(q.cursor, uuidKeyset);
  const rows = await db
    .select({
      id: sessions.id,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
      createdAt: sessions.createdAt,
      createdIso: isoMicros(sessions.createdAt),
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        gt(sessions.expiresAt, sql`now()`),
        after
          ? sql`(${sessions.createdAt}, ${sessions.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(sql`${sessions.createdAt} desc, ${sessions.id} desc`)
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      id: r.id,
      device: r.userAgent,
      ip: r.ip,
      createdAt: r.createdAt,
      lastUsedAt: r.lastUsedAt,
      expiresAt: r.expiresAt,
      current: r.id === currentSessionId,
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.createdIso, id: last.id }) : null,
  };
}
