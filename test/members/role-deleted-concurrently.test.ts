// A role deleted while a member update assigns it: the assignment's foreign key check fails
// (23503) after the role was read. The answer must be the one a moment later would give, 400
// unknown_role naming the role, never a 500; and any foreign key violation a service does not map
// answers 409 conflict.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { memberWith, orgWithOwner, type Person } from "../helpers/orgs.js";
import { insertCustomRole, rolesOfMember } from "../helpers/rbac.js";

let t: TestApp;
let orgId: string;
let owner: Person;
beforeAll(async () => {
  t = await createTestApp();
  ({ orgId, owner } = await orgWithOwner(t, "Role races"));
});
afterAll(async () => {
  await t?.close();
});

describe.skipIf(!onPostgres)("audit finding 14: a role deleted while being assigned", () => {
  it("the assignment blocked on the role's lock, then the role gone: 400 unknown_role naming it", async () => {
    const role = await insertCustomRole(t.database.db, orgId, ["chats:reply"]);
    const member = await memberWith(t, orgId, ["operator"]);
    // Holds the role's row lock as role deletion does, so the assignment's foreign key check waits.
    const locker = new pg.Client({ connectionString: t.database.url });
    await locker.connect();
    try {
      await locker.query("begin");
      await locker.query("select 1 from roles where org_id = $1 and id = $2 for update", [orgId, role]);
      const patch = owner.client.patch(`/api/v1/orgs/${orgId}/members/${member.memberId}`, { roleIds: [role] });
      await vi.waitFor(
        async () => {
          const { rows } = await locker.query(
            "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          );
          expect(rows).toHaveLength(1);
        },
        { timeout: 10_000, interval: 20 },
      );
      await locker.query("delete from roles where org_id = $1 and id = $2", [orgId, role]);
      await locker.query("commit");
      const res = await patch;
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: "unknown_role", errors: [{ path: "roleIds.0" }] });
      expect(res.json().detail).toContain(role);
      expect(await rolesOfMember(t.database.db, orgId, member.memberId)).toEqual(["operator"]);
    } finally {
      await locker.end();
    }
  });

  it("assigning and deleting the same role at once, many times: never a 500", async () => {
    const member = await memberWith(t, orgId, ["operator"]);
    for (let i = 0; i < 25; i++) {
      const role = await insertCustomRole(t.database.db, orgId, ["chats:reply"]);
      const [assign, remove] = await Promise.all([
        owner.client.patch(`/api/v1/orgs/${orgId}/members/${member.memberId}`, { roleIds: [role] }),
        owner.client.delete(`/api/v1/orgs/${orgId}/roles/${role}`),
      ]);
      expect([200, 400]).toContain(assign.statusCode);
      if (assign.statusCode === 400) expect(assign.json().code).toBe("unknown_role");
      expect([200, 409]).toContain(remove.statusCode);
      if (remove.statusCode === 409) expect(remove.json().code).toBe("role_in_use");
      // Both cannot have won: a role the member holds cannot be deleted without a replacement.
      expect(assign.statusCode === 200 && remove.statusCode === 200).toBe(false);
    }
  });
});
