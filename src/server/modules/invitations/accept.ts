import { and, eq, gt, sql } from "drizzle-orm";
import type { AcceptInvitationInput } from "../../../shared/schemas/invitations.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { invitations, memberRoles, memberships, organizations, users } from "../../db/schema/index.js";
import { badRequest, conflict, forbidden, notFound, unauthorized } from "../../http/problem.js";
import type { Actor, AuthUser } from "../../http/request-context.js";
import { hashToken } from "../../lib/tokens.js";
import { recordActivity } from "../activity/record.js";
import { hashPassword } from "../auth/passwords.js";
import { assertPasswordAllowed, type Client } from "../auth/service.js";
import { createSession, type NewSession } from "../auth/sessions.js";
import { recordLoginAttempt } from "../auth/throttle.js";
import { findRoles } from "../roles/repo.js";
import { assertInviterMayGrant, lockInviter } from "./inviter.js";
import { findByTokenHash, type InvitationRow } from "./repo.js";
import { assertOpen, sortRoles, stateOf } from "./rules.js";

const invitationNotFound = () => notFound("invitation", "invitation_not_found");

async function byToken(db: DbOrTx, token: string): Promise<InvitationRow> {
  // A token replaced by a resend, or never issued, is simply unknown.
  const inv = await findByTokenHash(db, hashToken(token));
  if (!inv) throw invitationNotFound();
  return inv;
}

async function accountExists(db: DbOrTx, email: string): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, email)).limit(1);
  return Boolean(row);
}

/**
 * What the link's page shows before anyone signs in. A closed invitation (accepted, declined,
 * revoked, expired) answers 410 with its state only: a link that no longer admits anyone
 * (say, one sent to the wrong address and then revoked) stops disclosing the organization.
 */
export async function previewInvitation(ctx: AppContext, token: string) {
  const inv = await byToken(ctx.db, token);
  assertOpen(stateOf(inv));
  const [org] = await ctx.db
    .select({ id: organizations.id, name: organizations.name, logoUrl: organizations.logoUrl })
    .from(organizations)
    .where(eq(organizations.id, inv.orgId));
  if (!org) throw invitationNotFound();
  const roles = await findRoles(ctx.db, inv.orgId, inv.roleIds);
  const order = new Map(inv.roleIds.map((id, i) => [id, i]));
  return {
    organization: org,
    inviter: { name: inv.invitedByName },
    email: inv.email,
    firstName: inv.firstName,
    lastName: inv.lastName,
    roles: roles
      .sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
      .map((r) => ({ id: r.id, name: r.name })),
    expiresAt: inv.expiresAt.toISOString(),
    state: stateOf(inv),
    accountExists: await accountExists(ctx.db, inv.email),
  };
}

/**
 * Takes the invitation from pending to `status` if it is still live and still carries this
 * token. The row lock makes a concurrent accept (or decline, or resend) wait, then find it
 * no longer pending: exactly one wins. Null when it was not live.
 */
async function claim(tx: DbOrTx, inv: InvitationRow, token: string, status: "accepted" | "declined", userId?: string) {
  const [row] = await tx
    .update(invitations)
    .set({
      status,
      respondedAt: sql`now()`,
      updatedAt: sql`now()`,
      ...(userId ? { acceptedByUserId: userId } : {}),
    })
    .where(
      and(
        eq(invitations.orgId, inv.orgId),
        eq(invitations.id, inv.id),
        eq(invitations.tokenHash, hashToken(token)),
        eq(invitations.status, "pending"),
        gt(invitations.expiresAt, sql`now()`),
      ),
    )
    .returning();
  return row ?? null;
}

/** Why a claim failed, read again after the winner committed: 410 with the state, or 404. */
async function explainLostClaim(tx: DbOrTx, token: string): Promise<never> {
  const now = await byToken(tx, token);
  assertOpen(stateOf(now));
  throw conflict("invitation_changed", "The invitation changed while accepting it. Open the link again.");
}

export interface AcceptResult {
  orgId: string;
  memberId: string;
  userId: string;
  accountCreated: boolean;
  session: NewSession | null;
}

/**
 * Joins the organization through an invitation link.
 * - Signed in: the account's email must be the invited one (403 `invitation_email_mismatch`).
 *   The link proves the mailbox, so the account's email counts as verified from now on.
 * - Not signed in, no account with that email: `{password, firstName?, lastName?}` creates one
 *   (email verified) and signs in. Not signed in but the account exists: 401 `sign_in_required`.
 */
export async function acceptInvitation(
  ctx: AppContext,
  token: string,
  auth: { user: AuthUser } | null,
  body: AcceptInvitationInput,
  client: Client,
  actorBase: Actor,
): Promise<AcceptResult> {
  const inv = await byToken(ctx.db, token);
  assertOpen(stateOf(inv));

  let newAccount: { passwordHash: string; firstName: string; lastName: string } | null = null;
  if (auth) {
    if (auth.user.email !== inv.email) {
      throw forbidden(
        "invitation_email_mismatch",
        `This invitation is for ${inv.email}, but you are signed in as ${auth.user.email}. Sign in with the invited account.`,
        { invitedEmail: inv.email },
      );
    }
  } else {
    if (await accountExists(ctx.db, inv.email)) {
      throw unauthorized(`An account for ${inv.email} exists: sign in to accept the invitation.`, "sign_in_required");
    }
    if (!body.password) {
      throw badRequest("password_required", "Choose a password to create your account.", [
        { path: "password", message: "Required.", in: "body" },
      ]);
    }
    const firstName = body.firstName ?? inv.firstName;
    const lastName = body.lastName ?? inv.lastName;
    assertPasswordAllowed(body.password, [inv.email.split("@")[0] ?? "", firstName, lastName]);
    newAccount = { passwordHash: await hashPassword(body.password), firstName, lastName };
  }

  return ctx.db.transaction(async (tx) => {
    let userId = auth?.user.id ?? "";
    const inviter = await lockInviter(tx, inv);
    const claimed = await claim(tx, inv, token, "accepted", auth?.user.id);
    if (!claimed) return explainLostClaim(tx, token);
    // The roles as the claimed row names them now (a role deletion may have rewritten them), less
    // any deleted since; the inviter must still be able to grant them.
    const roles = sortRoles(await findRoles(tx, inv.orgId, claimed.roleIds));
    await assertInviterMayGrant(tx, inv.orgId, inviter, roles);
    const [org] = await tx
      .select({ defaultLanguage: organizations.defaultLanguage })
      .from(organizations)
      .where(eq(organizations.id, inv.orgId));

    let memberFirst = inv.firstName;
    let memberLast = inv.lastName;
    let session: NewSession | null = null;
    if (newAccount) {
      const [created] = await tx
        .insert(users)
        .values({
          email: inv.email,
          passwordHash: newAccount.passwordHash,
          firstName: newAccount.firstName,
          lastName: newAccount.lastName,
          language: org?.defaultLanguage ?? "en",
          emailVerifiedAt: sql`now()`,
        })
        .onConflictDoNothing()
        .returning({ id: users.id });
      // Someone created the account meanwhile: they must sign in (the claim rolls back).
      if (!created) throw unauthorized(`An account for ${inv.email} exists: sign in to accept.`, "sign_in_required");
      userId = created.id;
      memberFirst = newAccount.firstName;
      memberLast = newAccount.lastName;
      await tx
        .update(invitations)
        .set({ acceptedByUserId: userId })
        .where(and(eq(invitations.orgId, inv.orgId), eq(invitations.id, inv.id)));
    } else {
      await tx
        .update(users)
        .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
        .where(eq(users.id, userId));
    }

    const [member] = await tx
      .insert(memberships)
      .values({
        orgId: inv.orgId,
        userId,
        firstName: memberFirst,
        lastName: memberLast,
        invitedByUserId: inv.invitedByUserId,
      })
      .onConflictDoNothing()
      .returning({ id: memberships.id });
    if (!member) throw conflict("already_member", "You are already a member of this organization.");
    if (roles.length) {
      await tx.insert(memberRoles).values(roles.map((r) => ({ orgId: inv.orgId, memberId: member.id, roleId: r.id })));
    }
    const name = `${memberFirst} ${memberLast}`.trim();
    await recordActivity(
      tx,
      { ...actorBase, type: "user", id: userId, name },
      {
        orgId: inv.orgId,
        action: "member.joined",
        target: { type: "member", id: member.id, label: name },
        changes: {
          invitationId: { after: inv.id },
          roleIds: { after: roles.map((r) => r.id) },
          ...(newAccount ? { accountCreated: { after: true } } : {}),
        },
      },
    );
    if (newAccount) {
      session = await createSession(tx, {
        userId,
        ip: client.ip,
        userAgent: client.userAgent,
        twoFactorVerified: false,
        idleTtlMs: ctx.config.sessionIdleTtlMs,
      });
      await recordLoginAttempt(tx, { userId, email: inv.email, client, success: true, method: "invitation" });
    }
    return { orgId: inv.orgId, memberId: member.id, userId, accountCreated: Boolean(newAccount), session };
  });
}

export async function declineInvitation(ctx: AppContext, token: string, actorBase: Actor): Promise<void> {
  const inv = await byToken(ctx.db, token);
  assertOpen(stateOf(inv));
  await ctx.db.transaction(async (tx) => {
    const claimed = await claim(tx, inv, token, "declined");
    if (!claimed) await explainLostClaim(tx, token);
    const name = `${inv.firstName} ${inv.lastName}`.trim();
    await recordActivity(
      tx,
      { ...actorBase, name: actorBase.id ? actorBase.name : name },
      {
        orgId: inv.orgId,
        action: "invitation.declined",
        target: { type: "invitation", id: inv.id, label: inv.email },
        changes: { state: { before: "pending", after: "declined" } },
      },
    );
  });
}
