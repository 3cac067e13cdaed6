import { and, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type { z } from "zod";
import type { DbOrTx } from "../../db/client.js";
import { loginAttempts, memberships, users } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, uuidKeyset } from "../../http/cursor.js";
import { isoMicros } from "./query.js";
import type { loginActivityItem, loginActivityQuery } from "./schemas.js";

type Query = z.output<typeof loginActivityQuery>;
type Item = z.output<typeof loginActivityItem>;

/**
 * Sign-in attempts of the organization's current members, newest first. Only attempts
 * made since the person joined are shown: what they did before belongs to them (and
 * to other organizations), not to this one. Attempts naming an unknown email carry no
 * user and belong to no organization.
 */
export async function listLoginActivity(
  db: DbOrTx,
  orgId: string,
  q: Query,
): Promise<{ items: Item[]; nextCursor: string | null }> {
  const after = decodeCursor(q.cursor, uuidKeyset);
  const conditions: (SQL | undefined)[] = [eq(memberships.orgId, orgId), gte(loginAttempts.at, memberships.joinedAt)];
  if (q.memberId) conditions.push(eq(memberships.id, q.memberId));
  if (q.success) conditions.push(eq(loginAttempts.success, q.success === "true"));
  if (q.from) conditions.push(gte(loginAttempts.at, new Date(q.from)));
  if (q.to) conditions.push(lt(loginAttempts.at, new Date(q.to)));
  if (after) {
    conditions.push(sql`(${loginAttempts.at}, ${loginAttempts.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`);
  }
  const rows = await db
    .select({
      id: loginAttempts.id,
      at: loginAttempts.at,
      atIso: isoMicros(loginAttempts.at),
      memberId: memberships.id,
      firstName: memberships.firstName,
      lastName: memberships.lastName,
      email: users.email,
      ip: loginAttempts.ip,
      userAgent: loginAttempts.userAgent,
      success: loginAttempts.success,
      failureReason: loginAttempts.failureReason,
      method: loginAttempts.method,
      twoFactorUsed: loginAttempts.twoFactorUsed,
    })
    .from(loginAttempts)
    .innerJoin(memberships, eq(memberships.userId, loginAttempts.userId))
    .innerJoin(users, eq(users.id, loginAttempts.userId))
    .where(and(...conditions))
    .orderBy(sql`${loginAttempts.at} desc, ${loginAttempts.id} desc`)
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      member: { memberId: r.memberId, name: `${r.firstName} ${r.lastName}`.trim(), email: r.email },
      ip: r.ip,
      userAgent: r.userAgent,
      success: r.success,
      failureReason: r.failureReason,
      method: r.method,
      twoFactorUsed: r.twoFactorUsed,
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.atIso, id: last.id }) : null,
  };
}
