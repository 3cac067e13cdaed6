import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invitations, memberships, users } from "../../src/server/db/schema/index.js";
import { APP_URL, createTestApp, STRONG_PASSWORD, type TestApp, uniqueEmail } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { memberWith, orgWithOwner, person, userRow } from "../helpers/orgs.js";
import { insertCustomRole, rolesOfMember } from "../helpers/rbac.js";
import {
  actionsOf,
  expectProblem,
  invitationMails,
  invitationRow,
  invite,
  latestInviteToken,
  setExpiry,
  sha256Hex,
} from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const preview = (token: string) => t.client().post("/api/v1/invitations/preview", { token });
const accept = (client = t.client(), token: string, body: Record<string, unknown> = {}) =>
  client.post("/api/v1/invitations/accept", { ...body, token });
const decline = (token: string) => t.client().post("/api/v1/invitations/decline", { token });

/** An organization, its owner, and one pending invitation (with the token from its email). */
async function invited(roleIds: string[] = ["operator"], orgName = "Acme") {
  const org = await orgWithOwner(t, orgName);
  const email = uniqueEmail("invitee");
  const res = await invite(org.owner.client, org.orgId, { email, firstName: "Ivy", lastName: "Invitee", roleIds });
  expect(res.statusCode, res.body).toBe(201);
  return { ...org, email, invitation: res.json(), token: await latestInviteToken(t, email) };
}

describe("inviting one person", () => {
  it("answers 201 and emails inviter, organization, roles, expiry and the accept link; stores the token hashed", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Acme Invites");
    const email = uniqueEmail("ivy");
    const before = Date.now();
    const res = await invite(owner.client, orgId, {
      email: `  ${email.toUpperCase()} `,
      firstName: "Ivy",
      lastName: "Invitee",
      roleIds: ["operator", "template_manager"],
    });
    expect(res.statusCode, res.body).toBe(201);
    const inv = res.json();
    expect(inv).toMatchObject({
      email,
      firstName: "Ivy",
      lastName: "Invitee",
      roleIds: ["operator", "template_manager"],
      state: "pending",
      invitedBy: { userId: owner.id, name: "Olive Owner" },
      sendCount: 1,
      respondedAt: null,
    });
    const expiresAt = Date.parse(inv.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 7 * DAY - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 7 * DAY + 1000);

    const mails = await invitationMails(t, email);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.orgId).toBe(orgId);
    expect(mail.subject).toBe("Olive Owner invited you to Acme Invites on Chorus");
    expect(mail.textBody).toContain("Olive Owner invited you to join Acme Invites on Chorus.");
    expect(mail.textBody).toContain("Roles: Operator, Template Manager.");
    const shownExpiry = new Date(inv.expiresAt).toLocaleString("en-GB", {
      dateStyle: "long",
      timeStyle: "short",
      timeZone: "UTC",
    });
    expect(mail.textBody).toContain(`The invitation expires on ${shownExpiry} (UTC).`);
    const link = new RegExp(`${APP_URL}/invite/([A-Za-z0-9_-]{43})`).exec(mail.textBody);
    expect(link).not.toBeNull();
    const token = link![1]!;
    expect(mail.htmlBody).toContain(`href="${APP_URL}/invite/${token}"`);

    const row = await invitationRow(t, orgId, inv.id);
    expect(row!.tokenHash).toBe(sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(await t.database.db.select().from(invitations).where(eq(invitations.tokenHash, token))).toEqual([]);

    expect(await actionsOf(t, orgId, inv.id)).toEqual(["member.invited"]);
    const listed = await owner.client.get(`/api/v1/orgs/${orgId}/invitations`);
    expect(listed.json().items).toMatchObject([{ id: inv.id, state: "pending", email }]);
  });

  it("refuses an existing member (409 already_member) and a second pending invitation (409 invitation_pending)", async () => {
    const { orgId, owner, email, invitation } = await invited();
    const member = await memberWith(t, orgId, ["operator"]);
    const dup = await invite(owner.client, orgId, { email: member.email, firstName: "A", lastName: "B" });
    expect(expectProblem(dup, 409, "already_member")).toMatchObject({ memberId: member.memberId });
    const ownerAgain = await invite(owner.client, orgId, { email: owner.email, firstName: "O", lastName: "O" });
    expectProblem(ownerAgain, 409, "already_member");
    const again = await invite(owner.client, orgId, { email: email.toUpperCase(), firstName: "I", lastName: "I" });
    expect(expectProblem(again, 409, "invitation_pending")).toMatchObject({ invitationId: invitation.id });
    expect(await invitationMails(t, email)).toHaveLength(1);
    expect(await invitationMails(t, member.email)).toHaveLength(0);
  });

  it("holds the seat limit, counting pending invitations, and frees the seat of a revoked or expired one", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Small team");
    await memberWith(t, orgId, ["operator"]);
    const limit = await owner.client.patch(`/api/v1/orgs/${orgId}`, { memberLimit: 3 });
    expect(limit.json().memberLimit).toBe(3);
    const first = await invite(owner.client, orgId, { email: uniqueEmail("seat"), firstName: "S", lastName: "One" });
    expect(first.statusCode).toBe(201);
    const over = await invite(owner.client, orgId, { email: uniqueEmail("seat"), firstName: "S", lastName: "Two" });
    expect(expectProblem(over, 409, "member_limit_reached")).toMatchObject({
      memberLimit: 3,
      members: 2,
      pendingInvitations: 1,
    });
    expect((await owner.client.get(`/api/v1/orgs/${orgId}`)).json()).toMatchObject({
      memberCount: 2,
      pendingInvitationCount: 1,
    });

    expect((await owner.client.delete(`/api/v1/orgs/${orgId}/invitations/${first.json().id}`)).statusCode).toBe(200);
    const second = await invite(owner.client, orgId, { email: uniqueEmail("seat"), firstName: "S", lastName: "Two" });
    expect(second.statusCode).toBe(201);
    await setExpiry(t, orgId, second.json().id, new Date(Date.now() - HOUR));
    const third = await invite(owner.client, orgId, { email: uniqueEmail("seat"), firstName: "S", lastName: "Three" });
    expect(third.statusCode).toBe(201);
    // Renewing the expired one would take a seat again: there is none.
    const renew = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${second.json().id}/resend`);
    expectProblem(renew, 409, "member_limit_reached");
  });

  it("checks input, roles and permissions: 400 field errors, unknown_role, permission_escalation, permission_denied", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const bad = await invite(owner.client, orgId, { email: "not-an-email", firstName: "", roleIds: "operator" });
    expectProblem(bad, 400, "validation_failed");
    expect((bad.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      "email",
      "firstName",
      "lastName",
      "roleIds",
    ]);
    const nul = await invite(owner.client, orgId, { email: uniqueEmail(), firstName: "A\u0000", lastName: "B\nC" });
    expect(
      (expectProblem(nul, 400, "validation_failed").errors as { path: string }[]).map((e) => e.path).sort(),
    ).toEqual(["firstName", "lastName"]);
    const extra = await invite(owner.client, orgId, {
      email: uniqueEmail(),
      firstName: "A",
      lastName: "B",
      isOwner: true,
    });
    expectProblem(extra, 400, "validation_failed");
    const unknown = await invite(owner.client, orgId, {
      email: uniqueEmail(),
      firstName: "A",
      lastName: "B",
      roleIds: ["ghost"],
    });
    expectProblem(unknown, 400, "unknown_role");

    const recruiter = await insertCustomRole(t.database.db, orgId, [
      "members:read",
      "members:invite",
      "chats:read_assigned",
      "chats:reply",
    ]);
    const lead = await memberWith(t, orgId, [recruiter]);
    const within = await invite(lead.client, orgId, {
      email: uniqueEmail(),
      firstName: "A",
      lastName: "B",
      roleIds: ["operator"],
    });
    expect(within.statusCode).toBe(201);
    const beyond = await invite(lead.client, orgId, {
      email: uniqueEmail(),
      firstName: "A",
      lastName: "B",
      roleIds: ["operator", "template_manager"],
    });
    expect(expectProblem(beyond, 403, "permission_escalation").missingPermissions).toContain("templates:manage");

    const op = await memberWith(t, orgId, ["operator"]);
    const denied = await invite(op.client, orgId, { email: uniqueEmail(), firstName: "A", lastName: "B" });
    expect(expectProblem(denied, 403, "permission_denied")).toMatchObject({ missingPermission: "members:invite" });
    const readDenied = await op.client.get(`/api/v1/orgs/${orgId}/invitations`);
    expect(expectProblem(readDenied, 403, "permission_denied")).toMatchObject({ missingPermission: "members:read" });
    const outsider = await person(t);
    expectProblem(
      await invite(outsider.client, orgId, { email: uniqueEmail(), firstName: "A", lastName: "B" }),
      404,
      "org_not_found",
    );
  });

  it("with no roles makes a member without permissions", async () => {
    const { orgId, email, token, invitation } = await invited([]);
    expect(invitation.roleIds).toEqual([]);
    const [mail] = await invitationMails(t, email);
    expect(mail!.textBody).toContain("No roles assigned yet.");
    const who = await person(t, { email });
    const res = await accept(who.client, token);
    expect(res.statusCode, res.body).toBe(200);
    expect((await who.client.get(`/api/v1/orgs/${orgId}/me`)).json()).toMatchObject({ roleIds: [], permissions: [] });
  });
});

describe("listing invitations", () => {
  it("pages newest first without duplicates or gaps, filters by state, refuses forged cursors", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Listing invitations");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await invite(owner.client, orgId, { email: uniqueEmail("page"), firstName: "P", lastName: `${i}` });
      ids.push(res.json().id);
    }
    await owner.client.delete(`/api/v1/orgs/${orgId}/invitations/${ids[1]}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page = (await owner.client.get(`/api/v1/orgs/${orgId}/invitations?limit=2${q}`)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const pending = (await owner.client.get(`/api/v1/orgs/${orgId}/invitations?status=pending&limit=100`)).json();
    expect(pending.items).toHaveLength(4);
    for (const at of ["2024-02-30 10:00:00+00", "garbage"]) {
      const forged = Buffer.from(JSON.stringify({ at, id: ids[0] })).toString("base64url");
      const res = await owner.client.get(`/api/v1/orgs/${orgId}/invitations?cursor=${forged}`);
      expectProblem(res, 400, "invalid_cursor");
    }
  });
});

describe("resending", () => {
  it("issues a new link and a new expiry; the old link stops working (404); records it", async () => {
    const { orgId, owner, email, invitation, token: oldToken } = await invited(["operator"]);
    await setExpiry(t, orgId, invitation.id, new Date(Date.now() + HOUR));
    const res = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${invitation.id}/resend`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: invitation.id, state: "pending", sendCount: 2 });
    expect(Date.parse(res.json().expiresAt)).toBeGreaterThan(Date.now() + 6 * DAY);

    const mails = await invitationMails(t, email);
    expect(mails).toHaveLength(2);
    const newToken = await latestInviteToken(t, email);
    expect(newToken).not.toBe(oldToken);
    expect((await invitationRow(t, orgId, invitation.id))!.tokenHash).toBe(sha256Hex(newToken));

    // A replaced token is unknown, exactly like one never issued.
    expectProblem(await preview(oldToken), 404, "invitation_not_found");
    expectProblem(await accept(undefined, oldToken, { password: STRONG_PASSWORD }), 404, "invitation_not_found");
    expectProblem(await decline(oldToken), 404, "invitation_not_found");
    const fresh = await preview(newToken);
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json()).toMatchObject({ email, state: "pending", expiresAt: res.json().expiresAt });
    expect(await actionsOf(t, orgId, invitation.id)).toEqual(["member.invited", "invitation.resent"]);
  });

  it("renews an expired invitation", async () => {
    const { orgId, owner, invitation, token } = await invited();
    await setExpiry(t, orgId, invitation.id, new Date(Date.now() - HOUR));
    expect((await owner.client.get(`/api/v1/orgs/${orgId}/invitations?status=expired`)).json().items).toHaveLength(1);
    const res = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${invitation.id}/resend`);
    expect(res.statusCode).toBe(200);
    expect(res.json().state).toBe("pending");
    expectProblem(await preview(token), 404, "invitation_not_found");
  });

  it("is throttled: 3 resends an hour per invitation, then 429 with Retry-After", async () => {
    const { orgId, owner, email, invitation } = await invited();
    const url = `/api/v1/orgs/${orgId}/invitations/${invitation.id}/resend`;
    for (let i = 0; i < 3; i++) expect((await owner.client.post(url)).statusCode).toBe(200);
    const fourth = await owner.client.post(url);
    expectProblem(fourth, 429, "rate_limited");
    expect(Number(fourth.headers["retry-after"])).toBeGreaterThan(0);
    expect(await invitationMails(t, email)).toHaveLength(4);
    expect((await invitationRow(t, orgId, invitation.id))!.sendCount).toBe(4);
    // Another invitation has its own allowance.
    const other = await invite(owner.client, orgId, { email: uniqueEmail(), firstName: "A", lastName: "B" });
    expect((await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${other.json().id}/resend`)).statusCode).toBe(
      200,
    );
  });

  it("refuses closed invitations, other organizations' ids and bad ids", async () => {
    const { orgId, owner, invitation } = await invited();
    await owner.client.delete(`/api/v1/orgs/${orgId}/invitations/${invitation.id}`);
    const closed = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${invitation.id}/resend`);
    expect(expectProblem(closed, 409, "invitation_not_pending")).toMatchObject({ state: "revoked" });
    const other = await invited(["operator"], "Other");
    const cross = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${other.invitation.id}/resend`);
    expectProblem(cross, 404, "invitation_not_found");
    expectProblem(
      await owner.client.delete(`/api/v1/orgs/${orgId}/invitations/${other.invitation.id}`),
      404,
      "invitation_not_found",
    );
    expectProblem(await owner.client.post(`/api/v1/orgs/${orgId}/invitations/nope/resend`), 400, "validation_failed");
    expect((await preview(other.token)).statusCode).toBe(200);
  });
});

describe("revoking", () => {
  it("closes the link: preview, accept and decline answer 410 invitation_revoked with the state", async () => {
    const { orgId, owner, email, invitation, token } = await invited();
    const res = await owner.client.delete(`/api/v1/orgs/${orgId}/invitations/${invitation.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: invitation.id, state: "revoked" });
    expect(res.json().respondedAt).not.toBeNull();
    for (const r of [
      await preview(token),
      await accept(undefined, token, { password: STRONG_PASSWORD }),
      await decline(token),
    ]) {
      const body = expectProblem(r, 410, "invitation_revoked");
      expect(body.state).toBe("revoked");
      expect(r.body).not.toContain("Acme");
    }
    const signedIn = await person(t, { email });
    expectProblem(await accept(signedIn.client, token), 410, "invitation_revoked");
    expectProblem(
      await owner.client.delete(`/api/v1/orgs/${orgId}/invitations/${invitation.id}`),
      409,
      "invitation_not_pending",
    );
    expect(await actionsOf(t, orgId, invitation.id)).toEqual(["member.invited", "invitation.revoked"]);
    const listed = await owner.client.get(`/api/v1/orgs/${orgId}/invitations?status=revoked`);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items.map((i: { id: string }) => i.id)).toEqual([invitation.id]);
    const members = await t.database.db.select().from(memberships).where(eq(memberships.orgId, orgId));
    expect(members).toHaveLength(1);
  });

  it("needs members:invite", async () => {
    const { orgId, invitation } = await invited();
    const reader = await memberWith(t, orgId, ["chat_manager"]);
    const res = await reader.client.delete(`/api/v1/orgs/${orgId}/invitations/${invitation.id}`);
    expect(expectProblem(res, 403, "permission_denied")).toMatchObject({ missingPermission: "members:invite" });
    const resend = await reader.client.post(`/api/v1/orgs/${orgId}/invitations/${invitation.id}/resend`);
    expectProblem(resend, 403, "permission_denied");
    expect((await reader.client.get(`/api/v1/orgs/${orgId}/invitations`)).statusCode).toBe(200);
  });
});

describe("closed links", () => {
  it("an expired invitation answers 410 invitation_expired with the state", async () => {
    const { orgId, owner, invitation, token, email } = await invited();
    await setExpiry(t, orgId, invitation.id, new Date(Date.now() - 1000));
    for (const r of [
      await preview(token),
      await accept(undefined, token, { password: STRONG_PASSWORD }),
      await decline(token),
    ]) {
      expect(expectProblem(r, 410, "invitation_expired").state).toBe("expired");
    }
    const listed = await owner.client.get(`/api/v1/orgs/${orgId}/invitations?status=expired`);
    expect(listed.json().items).toMatchObject([{ id: invitation.id, state: "expired" }]);
    expect(await t.database.db.select().from(users).where(eq(users.email, email))).toEqual([]);
  });

  it("a used link answers 410 invitation_accepted; a declined one 410 invitation_declined", async () => {
    const a = await invited();
    const ivy = await person(t, { email: a.email });
    expect((await accept(ivy.client, a.token)).statusCode).toBe(200);
    for (const r of [await preview(a.token), await accept(ivy.client, a.token), await decline(a.token)]) {
      expect(expectProblem(r, 410, "invitation_accepted").state).toBe("accepted");
    }
    const d = await invited();
    expect((await decline(d.token)).statusCode).toBe(204);
    for (const r of [await preview(d.token), await accept(undefined, d.token, { password: STRONG_PASSWORD })]) {
      expect(expectProblem(r, 410, "invitation_declined").state).toBe("declined");
    }
  });

  it("unknown and malformed tokens answer 404 and 400, never 500", async () => {
    expectProblem(await preview("A".repeat(43)), 404, "invitation_not_found");
    expectProblem(await preview("short"), 400, "validation_failed");
    expectProblem(await preview(`${"a".repeat(30)}%00`), 400, "validation_failed");
    expectProblem(await accept(undefined, "A".repeat(43), { password: STRONG_PASSWORD }), 404, "invitation_not_found");
    expectProblem(await decline("x".repeat(300)), 400, "validation_failed");
  });
});

describe("previewing", () => {
  it("shows organization, inviter, invited email, roles, expiry and state without signing in", async () => {
    const { orgId, email, invitation, token } = await invited(["template_manager", "operator"], "Preview Co");
    const res = await preview(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      organization: { id: orgId, name: "Preview Co", logoUrl: null },
      inviter: { name: "Olive Owner" },
      email,
      firstName: "Ivy",
      lastName: "Invitee",
      roles: [
        { id: "operator", name: "Operator" },
        { id: "template_manager", name: "Template Manager" },
      ],
      expiresAt: invitation.expiresAt,
      state: "pending",
      accountExists: false,
    });
    await person(t, { email });
    expect((await preview(token)).json().accountExists).toBe(true);
  });
});

describe("accepting", () => {
  it("a signed-in user with the invited email joins with the invited roles; the email counts as verified", async () => {
    const { orgId, owner, email, invitation, token } = await invited(["operator", "contact_manager"]);
    const ivy = await person(t, { email, verified: false, firstName: "Ivy", lastName: "Account" });
    const res = await accept(ivy.client, token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ orgId, userId: ivy.id, accountCreated: false });
    expect(res.cookies).toEqual([]);
    const memberId = res.json().memberId;
    expect(await rolesOfMember(t.database.db, orgId, memberId)).toEqual(["contact_manager", "operator"]);
    const me = (await ivy.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    expect(me).toMatchObject({ memberId, isOwner: false });
    expect(me.permissions).toEqual(expect.arrayContaining(["chats:reply", "contacts:manage"]));
    expect((await userRow(t.database.db, ivy.id)).emailVerifiedAt).not.toBeNull();
    const listed = (await owner.client.get(`/api/v1/orgs/${orgId}/invitations`)).json().items;
    expect(listed).toMatchObject([{ id: invitation.id, state: "accepted" }]);
    const members = (await owner.client.get(`/api/v1/orgs/${orgId}/members?q=${encodeURIComponent(email)}`)).json();
    expect(members.items).toMatchObject([{ memberId, name: "Ivy Invitee", roleIds: ["contact_manager", "operator"] }]);
    expect(await actionsOf(t, orgId, memberId)).toEqual(["member.joined"]);
  });

  it("a signed-in user with another email gets 403 invitation_email_mismatch; the invitation stays open", async () => {
    const { orgId, invitation, email, token } = await invited();
    const other = await person(t);
    const res = await accept(other.client, token);
    expect(expectProblem(res, 403, "invitation_email_mismatch")).toMatchObject({ invitedEmail: email });
    expect((await invitationRow(t, orgId, invitation.id))!.status).toBe("pending");
    const joined = await t.database.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, other.id)));
    expect(joined).toEqual([]);
  });

  it("without an account: creates it (email verified), signs in with a cookie, joins", async () => {
    const { orgId, email, token } = await invited(["operator"], "Fresh Start");
    const browser = t.client();
    const weak = await accept(browser, token, { password: "short" });
    expectProblem(weak, 400, "validation_failed");
    expectProblem(await accept(browser, token, {}), 400, "password_required");
    const res = await accept(browser, token, { password: STRONG_PASSWORD, firstName: "Ivy", lastName: "Newcomer" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ orgId, accountCreated: true });
    expect(Object.keys(browser.cookies)).toHaveLength(1);
    const me = await browser.get("/api/v1/me");
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ email, emailVerified: true, firstName: "Ivy", lastName: "Newcomer" });
    const orgs = await browser.get("/api/v1/orgs");
    expect(orgs.json().items.map((o: { id: string; name: string }) => o.name)).toEqual(["Fresh Start"]);
    expect((await browser.get(`/api/v1/orgs/${orgId}/me`)).json().roleIds).toEqual(["operator"]);
    // The new password signs in too.
    const login = await t.client().post("/api/v1/auth/login", { email, password: STRONG_PASSWORD });
    expect(login.statusCode).toBe(200);
  });

  it("anonymous, but the account exists: 401 sign_in_required", async () => {
    const { email, token } = await invited();
    await person(t, { email });
    expectProblem(await accept(undefined, token, { password: STRONG_PASSWORD }), 401, "sign_in_required");
  });
});

describe("declining", () => {
  it("sets the state to declined, without signing in, and records it", async () => {
    const { orgId, owner, invitation, token } = await invited();
    const res = await decline(token);
    expect(res.statusCode).toBe(204);
    const listed = (await owner.client.get(`/api/v1/orgs/${orgId}/invitations`)).json().items;
    expect(listed).toMatchObject([{ id: invitation.id, state: "declined" }]);
    expect(listed[0].respondedAt).not.toBeNull();
    expect(await actionsOf(t, orgId, invitation.id)).toEqual(["member.invited", "invitation.declined"]);
    // A declined invitation no longer holds the one-pending slot: the person can be invited again.
    const again = await invite(owner.client, orgId, { email: invitation.email, firstName: "Ivy", lastName: "I" });
    expect(again.statusCode).toBe(201);
  });
});

describe.runIf(onPostgres)("accepting under concurrency (PostgreSQL)", () => {
  it("two concurrent accepts of one token by the signed-in invitee make exactly one membership", async () => {
    for (let round = 0; round < 4; round++) {
      const { orgId, email, token } = await invited(["operator"], `Race ${round}`);
      const ivy = await person(t, { email });
      const results = await Promise.all([accept(ivy.client, token), accept(ivy.client, token)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 410]);
      const loser = results.find((r) => r.statusCode === 410)!;
      expect(loser.json()).toMatchObject({ code: "invitation_accepted", state: "accepted" });
      const rows = await t.database.db
        .select()
        .from(memberships)
        .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, ivy.id)));
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id).toBe(results.find((r) => r.statusCode === 200)!.json().memberId);
      expect(await actionsOf(t, orgId, rows[0]!.id)).toEqual(["member.joined"]);
    }
  });

  it("two concurrent sign-ups through one link make exactly one account and one membership", async () => {
    for (let round = 0; round < 3; round++) {
      const { orgId, email, token } = await invited(["operator"], `Signup race ${round}`);
      const results = await Promise.all([
        accept(t.client(), token, { password: STRONG_PASSWORD }),
        accept(t.client(), token, { password: STRONG_PASSWORD }),
      ]);
      const codes = results.map((r) => r.statusCode).sort();
      expect(codes[0]).toBe(200);
      // The loser either finds the invitation used or the account just created.
      expect([401, 410]).toContain(codes[1]);
      expect(await t.database.db.select().from(users).where(eq(users.email, email))).toHaveLength(1);
      expect(await t.database.db.select().from(memberships).where(eq(memberships.orgId, orgId))).toHaveLength(2);
    }
  });
});
