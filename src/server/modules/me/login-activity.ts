import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import type { paginationQuery } from "../../../shared/schemas/common.js";
import type { DbOrTx } from "../../db/client.js";
import { loginAttempts } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, uuidKeyset } from "../../http/cursor.js";
import { isoMicros } from "../activity/query.js";
import type { loginActivityPage } from "./schemas.js";

/** The user's own sign-in attempts (password, 2FA steps, sign-up), newest first. */
export async function listOwnLoginActivity(
  db: DbOrTx,
  userId: string,
  q: z.output<typeof paginationQuery>,
): Promise<z.output<typeof loginActivityPage>> {
  const after = decodeCursor(q.cursor, uuidKeyset);
  const rows = await db
    .select({
      id: loginAttempts.id,
      at: loginAttempts.at,
      atIso: isoMicros(loginAttempts.at),
      ip: loginAttempts.ip,
      userAgent: loginAttempts.userAgent,
      success: loginAttempts.success,
      failureReason: loginAttempts.failureReason,
      method: loginAttempts.method,
      twoFactorUsed: loginAttempts.twoFactorUsed,
    })
    .from(loginAttempts)
    .where(
      and(
        eq(loginAttempts.userId, userId),
        after
          ? sql`(${loginAttempts.at}, ${loginAttempts.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(sql`${loginAttempts.at} desc, ${loginAttempts.id} desc`)
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ atIso: _, ...r }) => r),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.atIso, id: last.id }) : null,
  };
}
