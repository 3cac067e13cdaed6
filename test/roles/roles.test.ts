import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, invitations, roles } from "../../src/server/db/schema/index.js";
import {
  CUSTOM_ROLE_ID_PATTERN,
  PERMISSIONS,
  SYSTEM_ROLES,
  systemRolePermissions,
} from "../../src/shared/permissions.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { as, insertCustomRole, makeMember, makeOrg, makeUser, type RbacOrg, rolesOfMember } from "../helpers/rbac.js";

let t: TestApp;
let org: RbacOrg;
const db = () => t.database.db;
const base = (orgId = org.orgId) => `/api/v1/orgs/${orgId}/roles`;

beforeAll(async () => {
  t = await createTestApp();
  org = await makeOrg(db());
});
afterAll(async () => {
  await t?.close();
});

async function recordsOf(requestId: string) {
  return db().select().from(activity).where(eq(activity.requestId, requestId));
}

async function pendingInvitation(orgId: string, roleIds: string[], status: "pending" | "accepted" = "pending") {
  const [inv] = await db()
    .insert(invitations)
    .values({
      orgId,
      email: `inv.${Math.random().toString(36).slice(2)}@example.com`,
      firstName: "In",
      lastName: "Vited",
      roleIds,
      tokenHash: `hash-${Math.random()}`,
      status,
      expiresAt: new Date(Date.now() + 86_400_000),
      invitedByName: "Olive Owner",
    })
    .returning();
  return inv!.id;
}

async function invitationRoles(orgId: string, id: string) {
  const [row] = await db()
    .select({ roleIds: invitations.roleIds })
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)));
  return row!.roleIds;
}

describe("GET /permissions", () => {
  it("needs a session", async () => {
    const res = await as(t, null).get("/api/v1/permissions");
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe("unauthenticated");
  });

  it("serves the grouped catalogue, the system roles and the owner-only permissions", async () => {
    const res = await as(t, await makeUser(db())).get("/api/v1/permissions");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.permissions.map((p: { key: string }) => p.key)).toEqual([...PERMISSIONS]);
    expect(body.permissions).toHaveLength(27);
    const grouped = body.groups.flatMap((g: { key: string; permissions: { key: string; group: string }[] }) =>
      g.permissions.map((p) => {
        expect(p.group).toBe(g.key);
        return p.key;
      }),
    );
    expect(grouped).toEqual([...PERMISSIONS]);
    expect(body.groups.map((g: { label: string }) => g.label)).toEqual([
      "Team",
      "Organization",
      "Templates",
      "Broadcasts",
      "Contacts",
      "Chats",
      "Automations",
    ]);
    expect(body.systemRoles.map((r: { id: string }) => r.id)).toEqual(SYSTEM_ROLES.map((r) => r.id));
    const operator = body.systemRoles.find((r: { id: string }) => r.id === "operator");
    expect(operator.permissions).toEqual(["chats:read_assigned", "chats:reply"]);
    expect(body.ownerOnlyPermissions.map((p: { key: string }) => p.key)).toEqual(["org:delete", "org:transfer"]);
    for (const key of ["org:delete", "org:transfer"]) expect(grouped).not.toContain(key);
  });
});

describe("reading roles", () => {
  it("lists the seven system roles from the catalogue, then custom roles, with member counts", async () => {
    const o = await makeOrg(db());
    const custom = await insertCustomRole(db(), o.orgId, ["contacts:read"], "Zeta readers");
    await makeMember(db(), o.orgId, ["operator"]);
    await makeMember(db(), o.orgId, ["operator", custom]);
    const res = await as(t, o.owner).get(base(o.orgId));
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { id: string; isSystem: boolean; permissions: string[]; memberCount: number }[];
    expect(items.map((r) => r.id)).toEqual([...SYSTEM_ROLES.map((r) => r.id), custom]);
    for (const sys of SYSTEM_ROLES) {
      const r = items.find((i) => i.id === sys.id)!;
      expect(r.isSystem).toBe(true);
      expect([...r.permissions].sort()).toEqual([...sys.permissions].sort());
      expect(r.permissions).toEqual(systemRolePermissions(sys.id)!.toArray());
    }
    expect(items.find((r) => r.id === "administrator")!.permissions).toEqual([...PERMISSIONS]);
    expect(items.find((r) => r.id === "operator")!.memberCount).toBe(2);
    expect(items.find((r) => r.id === custom)).toMatchObject({
      isSystem: false,
      permissions: ["contacts:read"],
      memberCount: 1,
    });
    expect(items.find((r) => r.id === "administrator")!.memberCount).toBe(0);
  });

  it("needs roles:read, and answers one role by id", async () => {
    const operator = await makeMember(db(), org.orgId, ["operator"]);
    const denied = await as(t, operator).get(base());
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "roles:read" });

    const chatManager = await makeMember(db(), org.orgId, ["chat_manager"]);
    expect((await as(t, chatManager).get(base())).statusCode).toBe(403);

    const reader = await makeMember(db(), org.orgId, [await insertCustomRole(db(), org.orgId, ["roles:read"])]);
    const one = await as(t, reader).get(`${base()}/broadcast_manager`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      id: "broadcast_manager",
      name: "Broadcast Manager",
      isSystem: true,
      permissions: ["templates:read", "broadcasts:read", "broadcasts:manage", "broadcasts:send", "contacts:read"],
    });
    const missing = await as(t, reader).get(`${base()}/role_aaaaaaaaaaaaaaaa`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("role_not_found");
  });
});

describe("creating custom roles", () => {
  it("creates a role with an id that cannot collide with system roles, and records it", async () => {
    const res = await as(t, org.owner).post(base(), {
      name: "  Support leads ",
      description: "Leads",
      permissions: ["chats:read_all", "chats:reply", "chats:read_all"],
    });
    expect(res.statusCode).toBe(201);
    const role = res.json();
    expect(role.id).toMatch(CUSTOM_ROLE_ID_PATTERN);
    expect(role).toMatchObject({
      name: "Support leads",
      description: "Leads",
      isSystem: false,
      permissions: ["chats:read_all", "chats:reply"],
      memberCount: 0,
    });
    const records = await recordsOf(res.headers["x-request-id"] as string);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      orgId: org.orgId,
      action: "role.created",
      targetType: "role",
      targetId: role.id,
      actorId: org.owner.id,
    });
    expect(records[0]!.changes).toMatchObject({ permissions: { after: ["chats:read_all", "chats:reply"] } });
    expect((await as(t, org.owner).get(`${base()}/${role.id}`)).json().name).toBe("Support leads");
  });

  it("refuses a name taken in the organization, case-insensitively, system names included", async () => {
    const first = await as(t, org.owner).post(base(), { name: "Night shift", permissions: [] });
    expect(first.statusCode).toBe(201);
    for (const name of ["night SHIFT", "administrator", "Operator"]) {
      const res = await as(t, org.owner).post(base(), { name, permissions: [] });
      expect(res.statusCode, name).toBe(409);
      expect(res.json().code).toBe("role_name_taken");
    }
    // The same name is free in another organization.
    const other = await makeOrg(db());
    expect(
      (await as(t, other.owner).post(base(other.orgId), { name: "Night shift", permissions: [] })).statusCode,
    ).toBe(201);
  });

  it("refuses unknown and owner-only permissions with 400", async () => {
    const unknown = await as(t, org.owner).post(base(), { name: "Bad 1", permissions: ["chats:reply", "chats:fly"] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: "unknown_permission", errors: [{ path: "permissions.1" }] });
    for (const p of ["org:delete", "org:transfer"]) {
      const res = await as(t, org.owner).post(base(), { name: `Bad ${p}`, permissions: [p] });
      expect(res.statusCode, p).toBe(400);
      expect(res.json().code).toBe("owner_only_permission");
    }
    const invalid = await as(t, org.owner).post(base(), { name: "", permissions: "all" });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().code).toBe("validation_failed");
    expect(await db().select().from(roles).where(eq(roles.name, "Bad 1"))).toEqual([]);
  });

  it("no escalation: the creator must hold every permission put into the role", async () => {
    const limitedRole = await insertCustomRole(db(), org.orgId, ["roles:read", "roles:manage", "contacts:read"]);
    const limited = await makeMember(db(), org.orgId, [limitedRole]);
    const escalate = await as(t, limited).post(base(), {
      name: "Contact editors",
      permissions: ["contacts:read", "contacts:manage"],
    });
    expect(escalate.statusCode).toBe(403);
    expect(escalate.json()).toMatchObject({ code: "permission_escalation", missingPermissions: ["contacts:manage"] });
    expect(await recordsOf(escalate.headers["x-request-id"] as string)).toEqual([]);

    const ok = await as(t, limited).post(base(), { name: "Contact readers", permissions: ["contacts:read"] });
    expect(ok.statusCode).toBe(201);

    // An administrator holds every grantable permission.
    const admin = await makeMember(db(), org.orgId, ["administrator"]);
    const all = await as(t, admin).post(base(), { name: "Everything", permissions: [...PERMISSIONS] });
    expect(all.statusCode).toBe(201);
    expect(all.json().permissions).toEqual([...PERMISSIONS]);
  });

  it("needs roles:manage", async () => {
    const reader = await makeMember(db(), org.orgId, [await insertCustomRole(db(), org.orgId, ["roles:read"])]);
    const res = await as(t, reader).post(base(), { name: "Nope", permissions: [] });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: "permission_denied", missingPermission: "roles:manage" });
  });
});

describe("editing custom roles", () => {
  it("system roles are read-only", async () => {
    for (const r of SYSTEM_ROLES) {
      const res = await as(t, org.owner).patch(`${base()}/${r.id}`, { name: "Renamed" });
      expect(res.statusCode, r.id).toBe(403);
      expect(res.json().code).toBe("system_role_read_only");
      const del = await as(t, org.owner).delete(`${base()}/${r.id}`);
      expect(del.statusCode, r.id).toBe(403);
      expect(del.json().code).toBe("system_role_read_only");
    }
  });

  it("edits name, description and permissions with one before/after record", async () => {
    const id = await insertCustomRole(db(), org.orgId, ["contacts:read"], "Editable");
    const res = await as(t, org.owner).patch(`${base()}/${id}`, {
      name: "Edited",
      permissions: ["contacts:read", "templates:read"],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, name: "Edited", permissions: ["templates:read", "contacts:read"] });
    const records = await recordsOf(res.headers["x-request-id"] as string);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: "role.updated", targetId: id });
    expect(records[0]!.changes).toEqual({
      name: { before: "Editable", after: "Edited" },
      permissions: { before: ["contacts:read"], after: ["templates:read", "contacts:read"] },
    });
    // Nothing changes: no record.
    const same = await as(t, org.owner).patch(`${base()}/${id}`, { name: "Edited" });
    expect(same.statusCode).toBe(200);
    expect(await recordsOf(same.headers["x-request-id"] as string)).toEqual([]);
    // Renaming onto another role's name.
    const taken = await as(t, org.owner).patch(`${base()}/${id}`, { name: "CHAT MANAGER" });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().code).toBe("role_name_taken");
    const empty = await as(t, org.owner).patch(`${base()}/${id}`, {});
    expect(empty.statusCode).toBe(400);
  });

  it("no escalation on edit: added permissions must be held; removing any is allowed", async () => {
    const managerRole = await insertCustomRole(db(), org.orgId, ["roles:read", "roles:manage", "templates:read"]);
    const manager = await makeMember(db(), org.orgId, [managerRole]);
    const target = await insertCustomRole(db(), org.orgId, ["templates:read", "billing:manage"]);
    const add = await as(t, manager).patch(`${base()}/${target}`, {
      permissions: ["templates:read", "billing:manage", "templates:manage"],
    });
    expect(add.statusCode).toBe(403);
    expect(add.json()).toMatchObject({ code: "permission_escalation", missingPermissions: ["templates:manage"] });
    // Keeping billing:manage (not held) while renaming is not a grant; taking it out is allowed.
    expect((await as(t, manager).patch(`${base()}/${target}`, { name: `Kept ${target}` })).statusCode).toBe(200);
    const remove = await as(t, manager).patch(`${base()}/${target}`, { permissions: ["templates:read"] });
    expect(remove.statusCode).toBe(200);
    expect(remove.json().permissions).toEqual(["templates:read"]);
    // Putting billing:manage back is a grant the manager cannot make.
    const back = await as(t, manager).patch(`${base()}/${target}`, {
      permissions: ["templates:read", "billing:manage"],
    });
    expect(back.statusCode).toBe(403);
    expect(back.json().code).toBe("permission_escalation");
  });
});

describe("lock-out: a role change never takes roles:manage from its author", () => {
  it("refuses an edit removing roles:manage from the author's only source of it", async () => {
    const r = await insertCustomRole(db(), org.orgId, ["roles:read", "roles:manage", "contacts:read"]);
    const author = await makeMember(db(), org.orgId, [r]);
    const res = await as(t, author).patch(`${base()}/${r}`, { permissions: ["roles:read", "contacts:read"] });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: "self_lockout", lostPermission: "roles:manage" });
    expect((await as(t, author).get(`${base()}/${r}`)).json().permissions).toContain("roles:manage");
    expect(await recordsOf(res.headers["x-request-id"] as string)).toEqual([]);
    // Removing other permissions of the same role is fine.
    expect(
      (await as(t, author).patch(`${base()}/${r}`, { permissions: ["roles:read", "roles:manage"] })).statusCode,
    ).toBe(200);
  });

  it("allows it when another role of the author still grants roles:manage, or to another member's role", async () => {
    const r1 = await insertCustomRole(db(), org.orgId, ["roles:read", "roles:manage"]);
    const r2 = await insertCustomRole(db(), org.orgId, ["roles:manage"]);
    const author = await makeMember(db(), org.orgId, [r1, r2]);
    expect((await as(t, author).patch(`${base()}/${r1}`, { permissions: ["roles:read"] })).statusCode).toBe(200);
    const other = await insertCustomRole(db(), org.orgId, ["roles:read", "roles:manage"]);
    await makeMember(db(), org.orgId, [other]);
    expect((await as(t, author).patch(`${base()}/${other}`, { permissions: ["roles:read"] })).statusCode).toBe(200);
  });

  it("refuses a deletion whose replacement lacks roles:manage for the author", async () => {
    const r = await insertCustomRole(db(), org.orgId, [
      "roles:read",
      "roles:manage",
      "chats:read_assigned",
      "chats:reply",
    ]);
    const author = await makeMember(db(), org.orgId, [r]);
    const res = await as(t, author).delete(`${base()}/${r}?replaceWith=operator`);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe("self_lockout");
    expect(await rolesOfMember(db(), org.orgId, author.memberId)).toEqual([r]);
    // Without a replacement the role is in use (by the author).
    const inUse = await as(t, author).delete(`${base()}/${r}`);
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json().code).toBe("role_in_use");
  });

  it("the owner is exempt: they hold everything whatever their roles", async () => {
    const o = await makeOrg(db());
    const r = await insertCustomRole(db(), o.orgId, ["roles:manage"]);
    await db()
      .insert((await import("../../src/server/db/schema/index.js")).memberRoles)
      .values({
        orgId: o.orgId,
        memberId: o.ownerMemberId,
        roleId: r,
      });
    expect((await as(t, o.owner).patch(`${base(o.orgId)}/${r}`, { permissions: [] })).statusCode).toBe(200);
    expect((await as(t, o.owner).delete(`${base(o.orgId)}/${r}?replaceWith=operator`)).statusCode).toBe(200);
    expect((await as(t, o.owner).get(base(o.orgId))).statusCode).toBe(200);
  });
});

describe("deleting custom roles", () => {
  it("deletes an unused role, removing it from pending invitations, with one record", async () => {
    const r = await insertCustomRole(db(), org.orgId, ["contacts:read"], "Unused");
    const pending = await pendingInvitation(org.orgId, ["operator", r]);
    const accepted = await pendingInvitation(org.orgId, [r], "accepted");
    const res = await as(t, org.owner).delete(`${base()}/${r}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: r, replacedWith: null, membersMoved: 0, invitationsUpdated: 1 });
    expect(await invitationRoles(org.orgId, pending)).toEqual(["operator"]);
    expect(await invitationRoles(org.orgId, accepted)).toEqual([r]); // history is left alone
    expect((await as(t, org.owner).get(`${base()}/${r}`)).statusCode).toBe(404);
    const records = await recordsOf(res.headers["x-request-id"] as string);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: "role.deleted", targetId: r, targetLabel: "Unused" });
    expect(records[0]!.changes).toMatchObject({
      name: { before: "Unused" },
      permissions: { before: ["contacts:read"] },
    });
  });

  it("refuses to delete a role members hold (409 role_in_use) unless replaceWith moves them", async () => {
    const r = await insertCustomRole(db(), org.orgId, ["contacts:read", "contacts:manage"]);
    const a = await makeMember(db(), org.orgId, [r]);
    const b = await makeMember(db(), org.orgId, [r, "contact_manager"]);
    const pending = await pendingInvitation(org.orgId, [r, "operator"]);
    const both = await pendingInvitation(org.orgId, ["contact_manager", r]);

    const refused = await as(t, org.owner).delete(`${base()}/${r}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: "role_in_use", memberCount: 2 });
    expect(await recordsOf(refused.headers["x-request-id"] as string)).toEqual([]);

    const unknown = await as(t, org.owner).delete(`${base()}/${r}?replaceWith=role_zzzzzzzzzzzzzzzz`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe("unknown_role");
    const self = await as(t, org.owner).delete(`${base()}/${r}?replaceWith=${r}`);
    expect(self.statusCode).toBe(400);
    expect(self.json().code).toBe("invalid_replacement");

    const res = await as(t, org.owner).delete(`${base()}/${r}?replaceWith=contact_manager`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: r, replacedWith: "contact_manager", membersMoved: 2, invitationsUpdated: 2 });
    expect(await rolesOfMember(db(), org.orgId, a.memberId)).toEqual(["contact_manager"]);
    expect(await rolesOfMember(db(), org.orgId, b.memberId)).toEqual(["contact_manager"]);
    expect(await invitationRoles(org.orgId, pending)).toEqual(["contact_manager", "operator"]);
    expect(await invitationRoles(org.orgId, both)).toEqual(["contact_manager"]);
    const records = await recordsOf(res.headers["x-request-id"] as string);
    expect(records).toHaveLength(1);
    expect(records[0]!.changes).toMatchObject({
      replacedWith: { after: { id: "contact_manager" } },
      membersMoved: { after: 2 },
    });
    // The moved members hold the replacement on their next request.
    const contacts = await as(t, a).get(`${base()}`);
    expect(contacts.statusCode).toBe(403); // contact managers cannot read roles
  });

  it("no escalation on the replacement", async () => {
    const managerRole = await insertCustomRole(db(), org.orgId, ["roles:read", "roles:manage", "contacts:read"]);
    const manager = await makeMember(db(), org.orgId, [managerRole]);
    const r = await insertCustomRole(db(), org.orgId, ["contacts:read"]);
    const holder = await makeMember(db(), org.orgId, [r]);
    const res = await as(t, manager).delete(`${base()}/${r}?replaceWith=administrator`);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe("permission_escalation");
    expect(await rolesOfMember(db(), org.orgId, holder.memberId)).toEqual([r]);
    const ok = await as(t, manager).delete(`${base()}/${r}?replaceWith=${managerRole}`);
    expect(ok.statusCode).toBe(200);
    expect(await rolesOfMember(db(), org.orgId, holder.memberId)).toEqual([managerRole]);
  });
});

describe("organization isolation", () => {
  it("answers 404 for another organization's roles and for organizations one is not a member of", async () => {
    const other = await makeOrg(db(), "Other");
    const foreign = await insertCustomRole(db(), other.orgId, ["contacts:read"], "Foreign");
    for (const [method, url] of [
      ["GET", `${base()}/${foreign}`],
      ["PATCH", `${base()}/${foreign}`],
      ["DELETE", `${base()}/${foreign}`],
    ] as const) {
      const res = await as(t, org.owner).request(method, url, method === "PATCH" ? { name: "Mine now" } : undefined);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe("role_not_found");
    }
    // A replacement from another organization is unknown here.
    const mine = await insertCustomRole(db(), org.orgId, []);
    const cross = await as(t, org.owner).delete(`${base()}/${mine}?replaceWith=${foreign}`);
    expect(cross.statusCode).toBe(400);
    expect(cross.json().code).toBe("unknown_role");
    // The other organization's routes, for a non-member: 404 like an organization that does not exist.
    for (const url of [base(other.orgId), `${base(other.orgId)}/${foreign}`, `${base(crypto.randomUUID())}`]) {
      const res = await as(t, org.owner).get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe("org_not_found");
    }
    const [still] = await db()
      .select()
      .from(roles)
      .where(and(eq(roles.orgId, other.orgId), eq(roles.id, foreign)));
    expect(still!.name).toBe("Foreign");
  });
});
