import { and, desc, eq, gt, lte, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { InvitationState } from "../../../shared/schemas/invitations.js";
import type { DbOrTx } from "../../db/client.js";
import { invitations } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, isPgTimestampText } from "../../http/cursor.js";
import { stateOf } from "./rules.js";
import type { InvitationDto } from "./schemas.js";

export type InvitationRow = typeof invitations.$inferSelect;

export function invitationDto(r: InvitationRow): InvitationDto {
  return {
    id: r.id,
    email: r.email,
    firstName: r.firstName,
    lastName: r.lastName,
    roleIds: r.roleIds,
    state: stateOf(r),
    expiresAt: r.expiresAt.toISOString(),
    invitedBy: { userId: r.invitedByUserId, name: r.invitedByName },
    sendCount: r.sendCount,
    lastSentAt: r.lastSentAt.toISOString(),
    createdAt: r.createdAt.toISOString(),
    respondedAt: r.respondedAt?.toISOString() ?? null,
  };
}

export async function getInvitation(db: DbOrTx, orgId: string, id: string, forUpdate = false) {
  const q = db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)));
  const [row] = forUpdate ? await q.for("update") : await q;
  return row ?? null;
}

/** By the hash of a link's token: the only lookup not scoped by organization (the token is the key). */
export async function findByTokenHash(db: DbOrTx, tokenHash: string) {
  const [row] = await db.select().from(invitations).where(eq(invitations.tokenHash, tokenHash)).limit(1);
  return row ?? null;
}

/** A forged or stale key answers 400 invalid_cursor instead of failing the timestamptz cast in SQL. */
const cursorSchema = z.object({ at: z.string().refine(isPgTimestampText), id: z.uuid() });

/** Newest first; `expired` and `pending` split the stored pending rows by their expiry. */
export async function listInvitations(
  db: DbOrTx,
  orgId: string,
  q: { status?: InvitationState | undefined; limit: number; cursor?: string | undefined },
) {
  const after = decodeCursor(q.cursor, cursorSchema);
  const conditions: (SQL | undefined)[] = [eq(invitations.orgId, orgId)];
  if (q.status === "pending") conditions.push(eq(invitations.status, "pending"), gt(invitations.expiresAt, sql`now()`));
  else if (q.status === "expired") {
    conditions.push(
      sql`(${invitations.status} = 'expired' or (${invitations.status} = 'pending' and ${invitations.expiresAt} <= now()))`,
    );
  } else if (q.status) conditions.push(eq(invitations.status, q.status));
  if (after) {
    conditions.push(sql`(${invitations.createdAt}, ${invitations.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`);
  }
  const rows = await db
    .select({ row: invitations, at: sql<string>`${invitations.createdAt}::text` })
    .from(invitations)
    .where(and(...conditions))
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => invitationDto(r.row)),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.at, id: last.row.id }) : null,
  };
}

/** A pending invitation for this email that has expired no longer holds the one-pending slot. */
export async function retireExpiredPending(tx: DbOrTx, orgId: string, email: string): Promise<void> {
  await tx
    .update(invitations)
    .set({ status: "expired", updatedAt: sql`now()` })
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.email, email),
        eq(invitations.status, "pending"),
        lte(invitations.expiresAt, sql`now()`),
      ),
    );
}
