import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, memberships, users } from "../../src/server/db/schema/index.js";
import { createTestApp, STRONG_PASSWORD, type TestApp, uniqueEmail } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import { expectProblem, invitationRow, invite, latestInviteToken } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const accept = (token: string) => t.client().post("/api/v1/invitations/accept", { token, password: STRONG_PASSWORD });

/** An organization with an Administrator (not the owner) who invites an alternate address as Administrator. */
async function adminInvitesAlternate(orgName: string, roleIds = ["administrator"]) {
  const org = await orgWithOwner(t, orgName);
  const admin = await memberWith(t, org.orgId, ["administrator"]);
  const email = uniqueEmail("alternate");
  const res = await invite(admin.client, org.orgId, { email, firstName: "Alt", lastName: "Ernate", roleIds });
  expect(res.statusCode, res.body).toBe(201);
  return { ...org, admin, email, invitationId: res.json().id as string, token: await latestInviteToken(t, email) };
}

async function isMember(orgId: string, email: string) {
  const rows = await t.database.db
    .select({ id: memberships.id })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(users.email, email)));
  return rows.length > 0;
}

describe("audit finding 6: a removed member's pending invitations no longer admit anyone", () => {
  it("removing the inviter revokes their pending invitations (with a record) and the link answers 410", async () => {
    const { orgId, owner, admin, email, invitationId, token } = await adminInvitesAlternate("Removal Co");
    const removed = await owner.client.delete(`/api/v1/orgs/${orgId}/members/${admin.memberId}`);
    expect(removed.statusCode, removed.body).toBe(204);

    expect((await invitationRow(t, orgId, invitationId))!.status).toBe("revoked");
    const records = await t.database.db
      .select({ action: activity.action, changes: activity.changes })
      .from(activity)
      .where(and(eq(activity.orgId, orgId), eq(activity.targetId, invitationId)));
    expect(records.map((r) => r.action).sort()).toEqual(["invitation.revoked", "member.invited"]);
    expect(records.find((r) => r.action === "invitation.revoked")!.changes).toEqual({
      state: { before: "pending", after: "revoked" },
      reason: { after: "inviter_removed" },
    });

    expectProblem(await accept(token), 410, "invitation_revoked");
    expect(await isMember(orgId, email)).toBe(false);
  });

  it("leaving revokes the pending invitations one sent", async () => {
    const { orgId, admin, invitationId, token } = await adminInvitesAlternate("Leaving Co");
    const left = await admin.client.post(`/api/v1/orgs/${orgId}/leave`);
    expect(left.statusCode, left.body).toBeLessThan(300);
    expect((await invitationRow(t, orgId, invitationId))!.status).toBe("revoked");
    expectProblem(await accept(token), 410, "invitation_revoked");
  });

  it("an inviter demoted after inviting cannot pass on the roles they lost: accepting is refused", async () => {
    const { orgId, owner, admin, email, invitationId, token } = await adminInvitesAlternate("Demotion Co");
    const inviterOnly = await insertCustomRole(t.database.db, orgId, ["members:invite", "members:read"], "Inviter");
    const demoted = await owner.client.patch(`/api/v1/orgs/${orgId}/members/${admin.memberId}`, {
      roleIds: [inviterOnly],
    });
    expect(demoted.statusCode, demoted.body).toBe(200);

    expectProblem(await accept(token), 403, "invitation_inviter_not_permitted");
    expect(await isMember(orgId, email)).toBe(false);
    expect((await invitationRow(t, orgId, invitationId))!.status).toBe("pending");

    // Someone who can grant the roles resends it: they vouch for it now, and the new link admits.
    const resent = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${invitationId}/resend`);
    expect(resent.statusCode, resent.body).toBe(200);
    expect(resent.json().invitedBy.userId).toBe(owner.id);
    const joined = await accept(await latestInviteToken(t, email));
    expect(joined.statusCode, joined.body).toBe(200);
    expect(await isMember(orgId, email)).toBe(true);
  });

  it("an inviter who lost members:invite cannot admit anyone, even with roles they still hold", async () => {
    const { orgId, owner, admin, email, token } = await adminInvitesAlternate("No Invite Co", ["operator"]);
    const demoted = await owner.client.patch(`/api/v1/orgs/${orgId}/members/${admin.memberId}`, {
      roleIds: ["operator"],
    });
    expect(demoted.statusCode, demoted.body).toBe(200);
    expectProblem(await accept(token), 403, "invitation_inviter_not_permitted");
    expect(await isMember(orgId, email)).toBe(false);
  });

  it("an inviter who still holds the rights admits as before", async () => {
    const { orgId, email, token } = await adminInvitesAlternate("Still Admin Co");
    const joined = await accept(token);
    expect(joined.statusCode, joined.body).toBe(200);
    expect(await isMember(orgId, email)).toBe(true);
  });
});
