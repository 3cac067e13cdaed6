// Two real server processes (each its own event loop, pool and LISTEN connection) on one
// PostgreSQL database: a change answered by process A is in force on the very next request to
// process B, which had the caller's rights cached. PostgreSQL only: PGlite is one process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { createTestDatabase, onPostgres } from "../helpers/db.js";
import { insertCustomRole, makeMember, makeOrg, type RbacOrg, type RbacUser } from "../helpers/rbac.js";
import { freePort } from "../mail/smtp.js";
import { baseEnv, ServerProcess } from "../platform/process.js";

describe.skipIf(!onPostgres)("two server processes on one PostgreSQL database", () => {
  let database: Database;
  const servers: { child: ServerProcess; port: number }[] = [];
  let org: RbacOrg;

  beforeAll(async () => {
    database = await createTestDatabase();
    org = await makeOrg(database.db);
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const child = ServerProcess.spawn(
        baseEnv({ PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: database.url!, LOG_LEVEL: "info" }),
      );
      servers.push({ child, port });
    }
    for (const s of servers) await s.child.ready();
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.child.stop();
    await database?.close();
  });

  const call = async (server: number, who: RbacUser, method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${servers[server]!.port}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${who.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
  };

  it("both answer from their cache, and a role edit or a removal through A holds on B's next request", async () => {
    for (const s of servers) {
      const ready = await fetch(`http://127.0.0.1:${s.port}/readyz`);
      expect(await ready.json()).toMatchObject({ database: "postgres", authorizationCache: "on" });
    }
    const role = await insertCustomRole(database.db, org.orgId, ["roles:read", "contacts:read"]);
    const member = await makeMember(database.db, org.orgId, [role]);
    const roles = `/orgs/${org.orgId}/roles`;
    // B reads the member's rights once, then holds them.
    expect((await call(1, member, "GET", roles)).status).toBe(200);
    expect((await call(1, member, "GET", roles)).status).toBe(200);

    const edit = await call(0, org.owner, "PATCH", `${roles}/${role}`, { permissions: ["contacts:read"] });
    expect(edit.status).toBe(200);
    const onB = await call(1, member, "GET", roles);
    expect(onB.status).toBe(403);
    expect(onB.body).toMatchObject({ code: "permission_denied", missingPermission: "roles:read" });

    // And the other way round: B removes, A had the member cached.
    await call(0, org.owner, "PATCH", `${roles}/${role}`, { permissions: ["contacts:read", "roles:read"] });
    expect((await call(0, member, "GET", roles)).status).toBe(200);
    expect((await call(0, member, "GET", roles)).status).toBe(200);
    expect((await call(1, org.owner, "DELETE", `/orgs/${org.orgId}/members/${member.memberId}`)).status).toBe(204);
    const onA = await call(0, member, "GET", roles);
    expect(onA.status).toBe(404);
    expect(onA.body).toMatchObject({ code: "org_not_found" });
  });
});
