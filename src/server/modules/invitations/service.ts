import { and, eq, sql } from "drizzle-orm";
import type { z } from "zod";
import { type InviteInput, inviteBody, MAX_BULK_INVITATIONS } from "../../../shared/schemas/invitations.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { invitations, memberships, users } from "../../db/schema/index.js";
import { AppError, conflict, type FieldError, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { hashToken, newToken } from "../../lib/tokens.js";
import { asCreated, recordActivity } from "../activity/record.js";
import { consumeLimit } from "../auth/rate-limit.js";
import { HOUR_MS } from "../auth/throttle.js";
import { toLocale } from "../mail/templates.js";
import { getOrg, seatsUsed } from "../orgs/repo.js";
import type { ResolvedRole } from "../roles/repo.js";
import { listRoles } from "../roles/repo.js";
import { resolveGrantableRoles } from "../roles/rules.js";
import { parseInvitationCsv } from "./csv.js";
import { assertInviterVerified, consumeInvitationLimits } from "./limits.js";
import { getInvitation, type InvitationRow, invitationDto, retireExpiredPending } from "./repo.js";
import { alreadyMember, assertPendingForAdmin, RESENDS_PER_HOUR, sortRoles, stateOf } from "./rules.js";
import type { BulkResult, InvitationDto } from "./schemas.js";

const invitationNotFound = () => notFound("invitation", "invitation_not_found");

export const inviteUrl = (ctx: AppContext, token: string) => `${ctx.config.appUrl}/invite/${token}`;

/** 409 `member_limit_reached` when one more seat (member or pending invitation) would pass the limit. */
async function assertSeatAvailable(tx: DbOrTx, org: { id: string; memberLimit: number | null }): Promise<void> {
  if (org.memberLimit === null) return;
  const used = await seatsUsed(tx, org.id);
  if (used.members + used.pending >= org.memberLimit) {
    throw conflict(
      "member_limit_reached",
      `This organization has used all ${org.memberLimit} seats (members and pending invitations).`,
      { memberLimit: org.memberLimit, members: used.members, pendingInvitations: used.pending },
    );
  }
}

async function sendInvitationMail(
  ctx: AppContext,
  tx: DbOrTx,
  org: { id: string; name: string; defaultLanguage: string },
  inv: InvitationRow,
  roles: readonly ResolvedRole[],
  token: string,
) {
  await ctx.outbox.enqueue(tx, {
    to: inv.email,
    template: "invitation",
    // The invitee has no language setting yet: the organization's default.
    locale: toLocale(org.defaultLanguage),
    orgId: org.id,
    data: {
      inviterName: inv.invitedByName,
      orgName: org.name,
      roleNames: roles.map((r) => r.name),
      expiresAt: inv.expiresAt.toISOString(),
      url: inviteUrl(ctx, token),
      firstName: inv.firstName,
    },
  });
}

/**
 * One invitation, in its own transaction. The organization row is locked first, so
 * concurrent invitations count seats one after another and the limit holds.
 */
export async function inviteOne(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  input: InviteInput,
): Promise<InvitationDto> {
  return ctx.db.transaction(async (tx) => {
    const org = await getOrg(tx, actor.orgId, true);
    if (!org) throw notFound("organization", "org_not_found");
    await assertInviterVerified(tx, actor.userId);
    const roles = sortRoles(await resolveGrantableRoles(tx, actor, input.roleIds));
    const [member] = await tx
      .select({ id: memberships.id })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, actor.orgId), eq(users.email, input.email)))
      .limit(1);
    if (member) throw alreadyMember(actor, input.email, member.id);
    await retireExpiredPending(tx, actor.orgId, input.email);
    const [pending] = await tx
      .select({ id: invitations.id })
      .from(invitations)
      .where(
        and(eq(invitations.orgId, actor.orgId), eq(invitations.email, input.email), eq(invitations.status, "pending")),
      );
    if (pending) {
      throw conflict("invitation_pending", `${input.email} already has a pending invitation. Resend it instead.`, {
        invitationId: pending.id,
      });
    }
    await assertSeatAvailable(tx, org);
    await consumeInvitationLimits(tx, actor.orgId, actor.userId);

    const token = newToken(32);
    const [row] = await tx
      .insert(invitations)
      .values({
        orgId: actor.orgId,
        email: input.email,
        firstName: input.firstName,
        lastName: input.lastName,
        roleIds: roles.map((r) => r.id),
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + ctx.config.inviteTtlMs),
        invitedByUserId: actor.userId,
        invitedByName: by.name,
      })
      .returning();
    const inv = row!;
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "member.invited",
      target: { type: "invitation", id: inv.id, label: inv.email },
      changes: asCreated({
        email: inv.email,
        firstName: inv.firstName,
        lastName: inv.lastName,
        roleIds: inv.roleIds,
        expiresAt: inv.expiresAt.toISOString(),
      }),
    });
    await sendInvitationMail(ctx, tx, org, inv, roles, token);
    return invitationDto(inv);
  });
}

function rowFailure(err: unknown): NonNullable<BulkResult["results"][number]["error"]> {
  if (!(err instanceof AppError)) throw err;
  const errors = err.extra.errors?.map((e: FieldError) => ({ path: e.path, message: e.message }));
  return { status: err.status, code: err.code, detail: err.message, ...(errors ? { errors } : {}) };
}

/** Each row is its own invitation (own transaction, own record, own email): one bad row spoils nothing else. */
async function inviteRows(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  rows: { value: unknown; line?: number }[],
): Promise<BulkResult> {
  const results: BulkResult["results"] = [];
  for (const [index, r] of rows.entries()) {
    const email =
      typeof (r.value as { email?: unknown })?.email === "string" ? (r.value as { email: string }).email : null;
    const base = { index, ...(r.line !== undefined ? { line: r.line } : {}), email };
    const parsed = inviteBody.safeParse(r.value);
    if (!parsed.success) {
      results.push({
        ...base,
        status: "failed",
        error: {
          status: 400,
          code: "validation_failed",
          detail: "This row is invalid.",
          errors: parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
        },
      });
      continue;
    }
    try {
      const invitation = await inviteOne(ctx, actor, by, parsed.data);
      results.push({ ...base, email: parsed.data.email, status: "invited", invitation });
    } catch (err) {
      results.push({ ...base, email: parsed.data.email, status: "failed", error: rowFailure(err) });
    }
  }
  const invited = results.filter((r) => r.status === "invited").length;
  return { results, invited, failed: results.length - invited };
}

export async function inviteBulk(
  ctx: AppContext,
  actor: OrgMember,
  by: Actor,
  body: { invitations: unknown[] },
): Promise<BulkResult> {
  await assertInviterVerified(ctx.db, actor.userId);
  return inviteRows(
    ctx,
    actor,
    by,
    body.invitations.map((value) => ({ value })),
  );
}

/** CSV roles may be ids or names (case-insensitive); unknown ones stay as typed and fail as `unknown_role`. */
export async function inviteCsv(ctx: AppContext, actor: OrgMember, by: Actor, csv: string): Promise<BulkResult> {
  await assertInviterVerified(ctx.db, actor.userId);
  const rows = parseInvitationCsv(csv, MAX_BULK_INVITATIONS);
  const roles = await listRoles(ctx.db, actor.orgId);
  const byKey = new Map<string, string>();
  for (const r of roles) {
    byKey.set(r.name.toLowerCase(), r.id);
    byKey.set(r.id.toLowerCase(), r.id);
  }
  return inviteRows(
    ctx,
    actor,
    by,
    rows.map((r) => ({
      line: r.line,
      value: {
        email: r.email,
        firstName: r.firstName,
        lastName: r.lastName,
        roleIds: r.roles.map((x) => byKey.get(x.toLowerCase()) ?? x),
      } satisfies z.input<typeof inviteBody>,
    })),
  );
}

/**
 * A new link and a new expiry: the token hash is replaced, so the old link stops working.
 * Throttled per invitation (3 an hour): each resend is an email to someone outside.
 */
export async function resendInvitation(ctx: AppContext, actor: OrgMember, by: Actor, id: string) {
  return ctx.db.transaction(async (tx) => {
    // Organization first, then the invitation: the same lock order as inviteOne.
    const org = await getOrg(tx, actor.orgId, true);
    if (!org) throw notFound("organization", "org_not_found");
    await assertInviterVerified(tx, actor.userId);
    const inv = await getInvitation(tx, actor.orgId, id, true);
    if (!inv) throw invitationNotFound();
    assertPendingForAdmin(inv.status);
    // Resending offers the roles again: the caller must be able to grant them.
    const roles = sortRoles(await resolveGrantableRoles(tx, actor, inv.roleIds));
    // An expired invitation took no seat; renewing it takes one again.
    if (stateOf(inv) === "expired") await assertSeatAvailable(tx, org);
    await consumeLimit(tx, { key: `invitation_resend:${inv.id}`, max: RESENDS_PER_HOUR, windowMs: HOUR_MS });
    await consumeInvitationLimits(tx, actor.orgId, actor.userId);
    const token = newToken(32);
    const [row] = await tx
      .update(invitations)
      .set({
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + ctx.config.inviteTtlMs),
        sendCount: sql`${invitations.sendCount} + 1`,
        // The resender, who may grant the roles (checked above), vouches for it from now on (accept re-checks the inviter).
        invitedByUserId: actor.userId,
        invitedByName: by.name,
        lastSentAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(invitations.orgId, actor.orgId), eq(invitations.id, id)))
      .returning();
    const updated = row!;
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "invitation.resent",
      target: { type: "invitation", id, label: updated.email },
      changes: {
        expiresAt: { before: inv.expiresAt.toISOString(), after: updated.expiresAt.toISOString() },
        sendCount: { before: inv.sendCount, after: updated.sendCount },
      },
    });
    await sendInvitationMail(ctx, tx, org, updated, roles, token);
    return invitationDto(updated);
  });
}

export async function revokeInvitation(ctx: AppContext, actor: OrgMember, by: Actor, id: string) {
  return ctx.db.transaction(async (tx) => {
    const inv = await getInvitation(tx, actor.orgId, id, true);
    if (!inv) throw invitationNotFound();
    assertPendingForAdmin(inv.status);
    const [row] = await tx
      .update(invitations)
      .set({ status: "revoked", respondedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(invitations.orgId, actor.orgId), eq(invitations.id, id)))
      .returning();
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "invitation.revoked",
      target: { type: "invitation", id, label: inv.email },
      changes: { state: { before: stateOf(inv), after: "revoked" } },
    });
    return invitationDto(row!);
  });
}
