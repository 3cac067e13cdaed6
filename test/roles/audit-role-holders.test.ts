import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberRoles, roles } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { insertCustomRole, rolesOfMember } from "../helpers/rbac.js";
import { expectProblem } from "../invitations/support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const permissionsOf = async (orgId: string, roleId: string) =>
  (
    await t.database.db
      .select()
      .from(roles)
      .where(and(eq(roles.orgId, orgId), eq(roles.id, roleId)))
  )[0]?.permissions;

/**
 * A "Supervisor" custom role held by a member who outranks the caller: the caller manages roles
 * and can grant Operator, but holds neither members:update nor chats:read_all.
 */
async function supervisorAndRoleManager(name: string) {
  const org = await orgWithOwner(t, name);
  const db = t.database.db;
  const supervisor = await insertCustomRole(db, org.orgId, ["members:read", "members:update", "chats:read_all"], "Sup");
  const held = await memberWith(t, org.orgId, [supervisor]);
  const manager = await insertCustomRole(
    db,
    org.orgId,
    ["roles:manage", "members:read", "chats:read_assigned", "chats:reply"],
    "Role manager",
  );
  const caller = await memberWith(t, org.orgId, [manager]);
  return { ...org, supervisor, held, caller };
}

describe("audit finding 11: role edits follow the no-escalation rule of member edits", () => {
  it("roles:manage cannot empty a custom role held by a member who outranks the caller", async () => {
    const { orgId, supervisor, caller } = await supervisorAndRoleManager("Role Edit Co");
    const res = await caller.client.patch(`/api/v1/orgs/${orgId}/roles/${supervisor}`, {
      permissions: ["members:read"],
    });
    const body = expectProblem(res, 403, "permission_escalation");
    expect(body.missingPermissions).toEqual(["members:update", "chats:read_all"]);
    expect(await permissionsOf(orgId, supervisor)).toEqual(["members:read", "members:update", "chats:read_all"]);
    // Renaming changes nobody's permissions: still allowed.
    const renamed = await caller.client.patch(`/api/v1/orgs/${orgId}/roles/${supervisor}`, { name: "Supervisors" });
    expect(renamed.statusCode, renamed.body).toBe(200);
  });

  it("roles:manage cannot delete such a role with a replacement (the holders would be demoted)", async () => {
    const { orgId, supervisor, held, caller } = await supervisorAndRoleManager("Role Delete Co");
    const res = await caller.client.delete(`/api/v1/orgs/${orgId}/roles/${supervisor}?replaceWith=operator`);
    expectProblem(res, 403, "permission_escalation");
    expect(await rolesOfMember(t.database.db, orgId, held.memberId)).toEqual([supervisor]);
  });

  it("a caller holding every permission of every holder may edit and delete; the owner holding the role is exempt", async () => {
    const { orgId, ownerMemberId, supervisor, held } = await supervisorAndRoleManager("Role Allowed Co");
    // The owner holds every permission whatever their roles: holding this one changes nothing for them.
    await t.database.db.insert(memberRoles).values({ orgId, memberId: ownerMemberId, roleId: supervisor });
    const senior = await insertCustomRole(
      t.database.db,
      orgId,
      ["roles:manage", "members:read", "members:update", "chats:read_all", "chats:read_assigned", "chats:reply"],
      "Senior",
    );
    const caller = await memberWith(t, orgId, [senior]);
    const edited = await caller.client.patch(`/api/v1/orgs/${orgId}/roles/${supervisor}`, {
      permissions: ["members:read"],
    });
    expect(edited.statusCode, edited.body).toBe(200);
    const deleted = await caller.client.delete(`/api/v1/orgs/${orgId}/roles/${supervisor}?replaceWith=operator`);
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(await rolesOfMember(t.database.db, orgId, held.memberId)).toEqual(["operator"]);
  });
});
