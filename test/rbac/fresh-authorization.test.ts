// Role changes are in force on the member's very next request, on this instance and on
// another instance of the app sharing the database (two app instances, one database:
// on PostgreSQL two connection pools; on PGlite the one embedded database).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { as, insertCustomRole, makeMember, makeOrg, type RbacOrg } from "../helpers/rbac.js";

let a: TestApp;
let b: TestApp;
let org: RbacOrg;

beforeAll(async () => {
  a = await createTestApp();
  b = await createTestApp({ database: a.database });
  org = await makeOrg(a.database.db);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const roles = (orgId: string) => `/api/v1/orgs/${orgId}/roles`;

describe("role changes on the next request", () => {
  it("removing a permission from a custom role answers 403 naming it on the member's next request", async () => {
    const db = a.database.db;
    const r = await insertCustomRole(db, org.orgId, ["roles:read", "contacts:read"]);
    const member = await makeMember(db, org.orgId, [r]);
    expect((await as(a, member).get(roles(org.orgId))).statusCode).toBe(200);

    const edit = await as(a, org.owner).patch(`${roles(org.orgId)}/${r}`, { permissions: ["contacts:read"] });
    expect(edit.statusCode).toBe(200);

    const next = await as(a, member).get(roles(org.orgId));
    expect(next.statusCode).toBe(403);
    expect(next.json()).toMatchObject({ code: "permission_denied", missingPermission: "roles:read" });
    expect(next.json().detail).toContain("roles:read");

    // And granting it back works just as fast.
    await as(a, org.owner).patch(`${roles(org.orgId)}/${r}`, { permissions: ["contacts:read", "roles:read"] });
    expect((await as(a, member).get(roles(org.orgId))).statusCode).toBe(200);
  });

  it("deleting a role with a replacement changes its holders' permissions on their next request", async () => {
    const db = a.database.db;
    const r = await insertCustomRole(db, org.orgId, ["roles:read"]);
    const member = await makeMember(db, org.orgId, [r]);
    expect((await as(a, member).get(roles(org.orgId))).statusCode).toBe(200);
    expect((await as(a, org.owner).delete(`${roles(org.orgId)}/${r}?replaceWith=operator`)).statusCode).toBe(200);
    const next = await as(a, member).get(roles(org.orgId));
    expect(next.statusCode).toBe(403);
    expect(next.json().missingPermission).toBe("roles:read");
  });
});

describe(`two app instances on one ${onPostgres ? "PostgreSQL" : "PGlite"} database`, () => {
  it("a role change made through instance A is in force on the next request to instance B", async () => {
    const db = a.database.db;
    const r = await insertCustomRole(db, org.orgId, ["roles:read", "roles:manage"]);
    const member = await makeMember(db, org.orgId, [r]);
    // Warm instance B with the member's current rights.
    expect((await as(b, member).get(roles(org.orgId))).statusCode).toBe(200);
    expect((await as(b, member).get(`${roles(org.orgId)}/${r}`)).json().permissions).toEqual([
      "roles:read",
      "roles:manage",
    ]);

    // A: take roles:read away. B: the very next request is refused.
    const edit = await as(a, org.owner).patch(`${roles(org.orgId)}/${r}`, { permissions: ["roles:manage"] });
    expect(edit.statusCode).toBe(200);
    const onB = await as(b, member).get(roles(org.orgId));
    expect(onB.statusCode).toBe(403);
    expect(onB.json()).toMatchObject({ code: "permission_denied", missingPermission: "roles:read" });

    // B: give it back; A sees it at once.
    const back = await as(b, org.owner).patch(`${roles(org.orgId)}/${r}`, {
      permissions: ["roles:manage", "roles:read"],
    });
    expect(back.statusCode).toBe(200);
    expect((await as(a, member).get(roles(org.orgId))).statusCode).toBe(200);

    // A: delete the role, moving its holder to Operator; B refuses the member's next write.
    expect((await as(a, org.owner).delete(`${roles(org.orgId)}/${r}?replaceWith=operator`)).statusCode).toBe(200);
    const write = await as(b, member).post(roles(org.orgId), { name: "Too late", permissions: [] });
    expect(write.statusCode).toBe(403);
    expect(write.json().missingPermission).toBe("roles:manage");
  });

  it("both instances see a role created on the other", async () => {
    const created = await as(a, org.owner).post(roles(org.orgId), {
      name: "Shared role",
      permissions: ["chats:reply"],
    });
    expect(created.statusCode).toBe(201);
    const onB = await as(b, org.owner).get(`${roles(org.orgId)}/${created.json().id}`);
    expect(onB.statusCode).toBe(200);
    expect(onB.json().name).toBe("Shared role");
    // The unique name holds across instances.
    const dup = await as(b, org.owner).post(roles(org.orgId), { name: "shared ROLE", permissions: [] });
    expect(dup.statusCode).toBe(409);
  });
});
