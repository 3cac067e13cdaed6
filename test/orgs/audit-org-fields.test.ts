import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { organizations } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import { expectProblem } from "../invitations/support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const memberLimitOf = async (orgId: string) =>
  (await t.database.db.select().from(organizations).where(eq(organizations.id, orgId)))[0]!.memberLimit;

describe("audit finding 12: the seat limit needs billing:manage", () => {
  it("org:update without billing:manage cannot change memberLimit (403), but may edit the rest", async () => {
    const { orgId } = await orgWithOwner(t, "Seats Co");
    const settingsOnly = await insertCustomRole(t.database.db, orgId, ["org:update"], "Settings only");
    const editor = await memberWith(t, orgId, [settingsOnly]);

    const res = await editor.client.patch(`/api/v1/orgs/${orgId}`, { memberLimit: 5000 });
    const body = expectProblem(res, 403, "permission_denied");
    expect(body.missingPermission).toBe("billing:manage");
    expect(await memberLimitOf(orgId)).toBeNull();

    // Together with another field: the whole edit is refused, nothing written.
    const both = await editor.client.patch(`/api/v1/orgs/${orgId}`, { name: "Renamed", memberLimit: 3 });
    expectProblem(both, 403, "permission_denied");
    expect(await memberLimitOf(orgId)).toBeNull();

    // Sending the limit it already has changes nothing, so needs nothing more (a form sending every field).
    const nameOnly = await editor.client.patch(`/api/v1/orgs/${orgId}`, { name: "Renamed", memberLimit: null });
    expect(nameOnly.statusCode, nameOnly.body).toBe(200);
  });

  it("org:update with billing:manage (and the owner) may change memberLimit", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Seats Billing Co");
    const billing = await insertCustomRole(t.database.db, orgId, ["org:update", "billing:manage"], "Billing");
    const manager = await memberWith(t, orgId, [billing]);
    const res = await manager.client.patch(`/api/v1/orgs/${orgId}`, { memberLimit: 12 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().memberLimit).toBe(12);
    const byOwner = await owner.client.patch(`/api/v1/orgs/${orgId}`, { memberLimit: null });
    expect(byOwner.statusCode, byOwner.body).toBe(200);
    expect(await memberLimitOf(orgId)).toBeNull();
  });
});

describe("audit finding 15: names refuse control characters and bidirectional overrides", () => {
  const BAD = ["Acme\r\nInc", "Acme\tInc", "Acme\u202Egnp.exe", "Acme\u2066x\u2069", "\u202Aleft"];

  it("organization names: create and edit refuse CR, LF, TAB and bidi override/isolate characters", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Names Co");
    for (const name of BAD) {
      expectProblem(await owner.client.post("/api/v1/orgs", { name }), 400, "validation_failed");
      expectProblem(await owner.client.patch(`/api/v1/orgs/${orgId}`, { name }), 400, "validation_failed");
    }
    // Right-to-left scripts themselves (no override characters) stay welcome.
    const rtl = await owner.client.patch(`/api/v1/orgs/${orgId}`, { name: "شركة أكمي" });
    expect(rtl.statusCode, rtl.body).toBe(200);
  });

  it("member and role names refuse bidi override/isolate characters", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Names Members Co");
    const m = await memberWith(t, orgId, []);
    for (const bad of ["Eve\u202Ensup", "\u2067Eve", "Eve\u202D"]) {
      const res = await owner.client.patch(`/api/v1/orgs/${orgId}/members/${m.memberId}`, { firstName: bad });
      expectProblem(res, 400, "validation_failed");
      const role = await owner.client.post(`/api/v1/orgs/${orgId}/roles`, { name: bad, permissions: [] });
      expectProblem(role, 400, "validation_failed");
    }
  });
});
