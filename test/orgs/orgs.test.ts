import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, memberships, roles } from "../../src/server/db/schema/index.js";
import { type MemberRemovedEvent, memberEvents } from "../../src/server/modules/members/events.js";
import { PERMISSIONS, systemRolePermissions } from "../../src/shared/permissions.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith, orgWithOwner, person, STRONG, totpNow } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const recordsOf = (orgId: string, action: string) =>
  t.database.db
    .select()
    .from(activity)
    .where(and(eq(activity.orgId, orgId), eq(activity.action, action)));

describe("creating and listing organizations", () => {
  it("creates an organization with the seven system roles and the creator as owner, in one go", async () => {
    const owner = await person(t, { firstName: "Olive", lastName: "Owner" });
    const res = await owner.client.post("/api/v1/orgs", { name: "  Acme Inc  ", timezone: "Europe/Madrid" });
    expect(res.statusCode).toBe(201);
    const org = res.json();
    expect(org).toMatchObject({
      name: "Acme Inc",
      timezone: "Europe/Madrid",
      defaultLanguage: "en",
      requireTwoFactor: false,
      memberLimit: null,
      membership: { isOwner: true, roleIds: [] },
    });
    const roleRows = await t.database.db.select().from(roles).where(eq(roles.orgId, org.id));
    expect(roleRows.map((r) => r.id).sort()).toEqual([
      "administrator",
      "automation_manager",
      "broadcast_manager",
      "chat_manager",
      "contact_manager",
      "operator",
      "template_manager",
    ]);
    const owners = await t.database.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, org.id), eq(memberships.isOwner, true)));
    expect(owners.map((m) => m.userId)).toEqual([owner.id]);
    const [rec] = await recordsOf(org.id, "org.created");
    expect(rec).toMatchObject({
      actorId: owner.id,
      targetType: "organization",
      targetId: org.id,
      targetLabel: "Acme Inc",
    });
  });

  it("refuses a missing name and an unknown time zone with field errors, and anonymous callers with 401", async () => {
    const p = await person(t);
    const bad = await p.client.post("/api/v1/orgs", { name: "", timezone: "Mars/Olympus" });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(["name", "timezone"]);
    const anon = await t.client().post("/api/v1/orgs", { name: "X" });
    expect(anon.statusCode).toBe(401);
  });

  it("lists only the caller's organizations, by name, a page at a time", async () => {
    const p = await person(t);
    for (const name of ["Charlie", "alpha", "Bravo"]) {
      expect((await p.client.post("/api/v1/orgs", { name })).statusCode).toBe(201);
    }
    await orgWithOwner(t, "Someone else's");
    const first = await p.client.get("/api/v1/orgs?limit=2");
    expect(first.statusCode).toBe(200);
    expect(first.json().items.map((o: { name: string }) => o.name)).toEqual(["alpha", "Bravo"]);
    expect(first.json().items[0].membership.isOwner).toBe(true);
    const second = await p.client.get(`/api/v1/orgs?limit=2&cursor=${first.json().nextCursor}`);
    expect(second.json()).toMatchObject({ items: [{ name: "Charlie" }], nextCursor: null });
    expect((await p.client.get("/api/v1/orgs?cursor=not-a-cursor")).json().code).toBe("invalid_cursor");
  });
});

describe("reading an organization", () => {
  it("answers members with counts, and outsiders exactly like a missing organization", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const op = await memberWith(t, orgId, ["operator"]);
    const mine = await op.client.get(`/api/v1/orgs/${orgId}`);
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ id: orgId, memberCount: 2, pendingInvitationCount: 0 });
    const outsider = await person(t);
    const theirs = await outsider.client.get(`/api/v1/orgs/${orgId}`);
    const missing = await owner.client.get("/api/v1/orgs/00000000-0000-4000-8000-000000000000");
    expect(theirs.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(theirs.json().code).toBe(missing.json().code);
    expect((await owner.client.get("/api/v1/orgs/not-a-uuid")).statusCode).toBe(400);
  });
});

describe("editing an organization", () => {
  it("lets org:update holders change the profile and records the change", async () => {
    const { orgId } = await orgWithOwner(t);
    const admin = await memberWith(t, orgId, ["administrator"]);
    const res = await admin.client.patch(`/api/v1/orgs/${orgId}`, {
      name: "Renamed",
      logoUrl: "https://cdn.example.com/logo.png",
      defaultLanguage: "es",
      timezone: "America/Bogota",
      memberLimit: 10,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: "Renamed",
      defaultLanguage: "es",
      timezone: "America/Bogota",
      memberLimit: 10,
    });
    const [rec] = await recordsOf(orgId, "org.updated");
    expect(rec!.changes).toMatchObject({ name: { after: "Renamed" }, memberLimit: { before: null, after: 10 } });
    // The same values again change nothing and record nothing.
    await admin.client.patch(`/api/v1/orgs/${orgId}`, { name: "Renamed" });
    expect(await recordsOf(orgId, "org.updated")).toHaveLength(1);
  });

  it("refuses members without org:update, bad values and empty patches", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const op = await memberWith(t, orgId, ["operator"]);
    const denied = await op.client.patch(`/api/v1/orgs/${orgId}`, { name: "Mine" });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "org:update" });
    const bad = await owner.client.patch(`/api/v1/orgs/${orgId}`, {
      timezone: "Nowhere/Land",
      logoUrl: "http://insecure.example.com/x.png",
      memberLimit: 0,
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(["logoUrl", "memberLimit", "timezone"]);
    expect((await owner.client.patch(`/api/v1/orgs/${orgId}`, {})).statusCode).toBe(400);
  });

  it("requires 2FA for every member only when the author has it; members without it are then held at /me", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const refused = await owner.client.patch(`/api/v1/orgs/${orgId}`, { requireTwoFactor: true });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe("enable_two_factor_first");

    const secured = await orgWithOwner(t, "Secured", { twoFactor: true });
    const member = await memberWith(t, secured.orgId, ["administrator"]);
    const on = await secured.owner.client.patch(`/api/v1/orgs/${secured.orgId}`, { requireTwoFactor: true });
    expect(on.statusCode).toBe(200);
    const blocked = await member.client.get(`/api/v1/orgs/${secured.orgId}/members`);
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().code).toBe("two_factor_required");
    const me = await member.client.get(`/api/v1/orgs/${secured.orgId}/me`);
    expect(me.statusCode).toBe(200);
    expect(me.json().twoFactorBlocked).toBe(true);
  });
});

describe("the caller's membership", () => {
  it("gives the owner every permission, owner-only ones included", async () => {
    const { orgId, owner, ownerMemberId } = await orgWithOwner(t);
    const res = await owner.client.get(`/api/v1/orgs/${orgId}/me`);
    expect(res.statusCode).toBe(200);
    const me = res.json();
    expect(me).toMatchObject({ memberId: ownerMemberId, isOwner: true, roleIds: [], twoFactorBlocked: false });
    expect(me.permissions).toEqual([...PERMISSIONS, "org:delete", "org:transfer"]);
    expect(me.organization.id).toBe(orgId);
  });

  it("gives a member exactly the union of their roles", async () => {
    const { orgId } = await orgWithOwner(t);
    const m = await memberWith(t, orgId, ["operator", "template_manager"]);
    const me = (await m.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    const expected = systemRolePermissions("operator")!.union(systemRolePermissions("template_manager")!).toArray();
    expect(me.permissions).toEqual(expected);
    expect(me.isOwner).toBe(false);
    expect(me.roles.map((r: { name: string }) => r.name)).toEqual(["Operator", "Template Manager"]);
  });

  it("names the roles the caller may grant, and they predict which members the server lets them edit", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    // A custom role that manages members but cannot read roles (the web app cannot list them).
    const lead = await insertCustomRole(t.database.db, orgId, [
      "members:read",
      "members:invite",
      "members:update",
      "members:remove",
      "chats:read_assigned",
      "chats:reply",
    ]);
    const actor = await memberWith(t, orgId, [lead]);
    const op = await memberWith(t, orgId, ["operator"]);
    const admin = await memberWith(t, orgId, ["administrator"]);
    const me = (await actor.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    const grantable: string[] = me.grantableRoles.map((r: { id: string }) => r.id);
    expect(grantable).toContain(lead);
    expect(grantable).toContain("operator");
    expect(grantable).not.toContain("administrator");
    expect(me.grantableRoles.find((r: { id: string }) => r.id === lead)).toMatchObject({ isSystem: false });
    // The rule the web app applies (every role of the member grantable) gives the server's answer.
    for (const [target, roleIds] of [
      [op, ["operator"]],
      [admin, ["administrator"]],
    ] as const) {
      const predicted = roleIds.every((id) => grantable.includes(id));
      const res = await actor.client.patch(`/api/v1/orgs/${orgId}/members/${target.memberId}`, { lastName: "Renamed" });
      expect(res.statusCode).toBe(predicted ? 200 : 403);
    }
    // The owner may grant every role.
    const ownerMe = (await owner.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    expect(ownerMe.grantableRoles.map((r: { id: string }) => r.id)).toEqual(
      expect.arrayContaining(["administrator", "operator", lead]),
    );
  });
});

describe("leaving", () => {
  it("lets a member leave: one record, an event, and no access on the next request", async () => {
    const { orgId } = await orgWithOwner(t);
    const m = await memberWith(t, orgId, ["chat_manager"]);
    const events: MemberRemovedEvent[] = [];
    const listener = (e: MemberRemovedEvent) => events.push(e);
    memberEvents(t.app.ctx).on("memberRemoved", listener);
    try {
      const res = await m.client.post(`/api/v1/orgs/${orgId}/leave`);
      expect(res.statusCode).toBe(204);
    } finally {
      memberEvents(t.app.ctx).off("memberRemoved", listener);
    }
    expect(events).toEqual([{ orgId, userId: m.id, memberId: m.memberId, reason: "left" }]);
    expect((await m.client.get(`/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    const [rec] = await recordsOf(orgId, "member.left");
    expect(rec).toMatchObject({
      actorId: m.id,
      targetId: m.memberId,
      changes: { roleIds: { before: ["chat_manager"] } },
    });
  });

  it("refuses the owner", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const res = await owner.client.post(`/api/v1/orgs/${orgId}/leave`);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe("owner_cannot_leave");
    expect((await owner.client.get(`/api/v1/orgs/${orgId}`)).statusCode).toBe(200);
  });
});

describe("deleting an organization", () => {
  it("is for the owner only, re-authenticated by password", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const admin = await memberWith(t, orgId, ["administrator"]);
    const byAdmin = await admin.client.delete(`/api/v1/orgs/${orgId}`, { password: STRONG });
    expect(byAdmin.statusCode).toBe(403);
    expect(byAdmin.json().code).toBe("owner_only");
    const noBody = await owner.client.delete(`/api/v1/orgs/${orgId}`, {});
    expect(noBody.statusCode).toBe(400);
    const wrong = await owner.client.delete(`/api/v1/orgs/${orgId}`, { password: "not the password at all" });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe("invalid_password");
    expect((await owner.client.get(`/api/v1/orgs/${orgId}`)).statusCode).toBe(200);

    const events: MemberRemovedEvent[] = [];
    const listener = (e: MemberRemovedEvent) => events.push(e);
    memberEvents(t.app.ctx).on("memberRemoved", listener);
    try {
      expect((await owner.client.delete(`/api/v1/orgs/${orgId}`, { password: STRONG })).statusCode).toBe(204);
    } finally {
      memberEvents(t.app.ctx).off("memberRemoved", listener);
    }
    expect(events.map((e) => e.userId).sort()).toEqual([owner.id, admin.id].sort());
    expect((await owner.client.get(`/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    expect((await admin.client.get(`/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    expect(await t.database.db.select().from(roles).where(eq(roles.orgId, orgId))).toEqual([]);
  });

  it("asks an owner with 2FA for a code too", async () => {
    const { orgId, owner } = await orgWithOwner(t, "2FA org", { twoFactor: true });
    const noCode = await owner.client.delete(`/api/v1/orgs/${orgId}`, { password: STRONG });
    expect(noCode.statusCode).toBe(403);
    expect(noCode.json().code).toBe("two_factor_code_required");
    const ok = await owner.client.delete(`/api/v1/orgs/${orgId}`, { password: STRONG, code: await totpNow() });
    expect(ok.statusCode).toBe(204);
  });
});
