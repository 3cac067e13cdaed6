import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { users } from "../../db/schema/index.js";
import { forbidden } from "../../http/problem.js";
import { consumeLimit } from "../auth/rate-limit.js";
import { HOUR_MS } from "../auth/throttle.js";

/**
 * Abuse limits on invitation emails (audit finding 7). Every invitation email, bulk and CSV rows
 * one by one and resends included, counts against its inviter and its organization. A real admin
 * inviting a team stays far below; a spammer is capped. State is rate_limit_hits in PostgreSQL,
 * so the limits hold across instances.
 */
export const INVITATIONS_PER_INVITER_PER_HOUR = 100;
export const INVITATIONS_PER_ORG_PER_HOUR = 300;

export const invitationLimitKeys = {
  inviter: (userId: string) => `invitations:inviter:${userId}`,
  org: (orgId: string) => `invitations:org:${orgId}`,
};

/** 403 `email_not_verified` unless the inviter proved their address: invitations email strangers. */
export async function assertInviterVerified(tx: DbOrTx, userId: string): Promise<void> {
  const [user] = await tx
    .select({ verifiedAt: users.emailVerifiedAt })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  if (!user?.verifiedAt) {
    throw forbidden(
      "email_not_verified",
      "Verify your email address before inviting people. Use the link we emailed you, or ask for a new one.",
    );
  }
}

/**
 * Counts one invitation email, or refuses it with 429 and Retry-After. Call inside the
 * invitation's transaction after the organization row is locked (every invitation path locks it
 * first), which makes the organization's check-and-count atomic; the transaction-scoped advisory
 * lock does the same for an inviter inviting into several organizations at once. Taken in this
 * order (organization, then inviter) everywhere, so the two cannot deadlock. A failed
 * invitation rolls its count back with it.
 */
export async function consumeInvitationLimits(tx: DbOrTx, orgId: string, inviterId: string): Promise<void> {
  const inviterKey = invitationLimitKeys.inviter(inviterId);
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${inviterKey}, 0))`);
  await consumeLimit(tx, { key: inviterKey, max: INVITATIONS_PER_INVITER_PER_HOUR, windowMs: HOUR_MS });
  await consumeLimit(tx, { key: invitationLimitKeys.org(orgId), max: INVITATIONS_PER_ORG_PER_HOUR, windowMs: HOUR_MS });
}
