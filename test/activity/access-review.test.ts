import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invitations, memberships, organizations } from "../../src/server/db/schema/index.js";
import { riskScore } from "../../src/server/modules/activity/access-review.js";
import { PERMISSIONS } from "../../src/shared/permissions.js";
import {
  addMember,
  clientAs,
  createOrg,
  createUser,
  daysAgo,
  insertActivity,
  insertLoginAttempt,
  type TestUser,
} from "../helpers/activity.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let owner: TestUser;
let admin: TestUser;
let operator: TestUser;
let never: TestUser;
let recorder: TestUser;
let fresh: TestUser;
let orgId: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  owner = await createUser(db, { firstName: "Olive", lastName: "Owner" });
  admin = await createUser(db, { firstName: "Adam", lastName: "Admin", twoFactor: true });
  operator = await createUser(db, { firstName: "Opal", lastName: "Operator" });
  never = await createUser(db, { firstName: "Nina", lastName: "Never" });
  recorder = await createUser(db, { firstName: "Rita", lastName: "Recorder" });
  fresh = await createUser(db, { firstName: "Fred", lastName: "Fresh", twoFactor: true });
  let ownerMemberId: string;
  ({ orgId, ownerMemberId } = await createOrg(db, owner));
  ids.owner = ownerMemberId;
  ids.admin = await addMember(db, orgId, admin, ["administrator"], {
    joinedAt: daysAgo(500),
    lastActiveAt: daysAgo(200),
  });
  ids.operator = await addMember(db, orgId, operator, ["operator"], {
    joinedAt: daysAgo(900),
    lastActiveAt: daysAgo(400),
  });
  ids.never = await addMember(db, orgId, never, [], { joinedAt: daysAgo(100), lastActiveAt: null });
  ids.recorder = await addMember(db, orgId, recorder, ["contact_manager"], {
    joinedAt: daysAgo(50),
    lastActiveAt: daysAgo(30),
  });
  ids.fresh = await addMember(db, orgId, fresh, [], { lastActiveAt: new Date() });
  // Rita's latest activity record (5 days) is newer than her last request (30 days).
  await insertActivity(db, orgId, [{ at: daysAgo(5), actorId: recorder.id, action: "contact.created" }]);
  // Adam: last successful sign-in 3 days ago wins over his last request (200 days); a failure does not count.
  await insertLoginAttempt(db, admin, { at: daysAgo(3) });
  await insertLoginAttempt(db, admin, { at: daysAgo(1), success: false });
  await insertLoginAttempt(db, operator, { at: daysAgo(410) });

  await db.insert(invitations).values([
    {
      orgId,
      email: "pending@example.com",
      firstName: "Pat",
      lastName: "Pending",
      roleIds: ["operator"],
      tokenHash: "h1",
      expiresAt: new Date(Date.now() + 4 * 86_400_000),
      invitedByUserId: owner.id,
      invitedByName: "Olive Owner",
      createdAt: daysAgo(3),
    },
    {
      orgId,
      email: "stale@example.com",
      firstName: "Stan",
      lastName: "Stale",
      tokenHash: "h2",
      expiresAt: daysAgo(13),
      invitedByName: "Olive Owner",
      createdAt: daysAgo(20),
    },
    {
      orgId,
      email: "done@example.com",
      firstName: "Don",
      lastName: "Done",
      tokenHash: "h3",
      status: "accepted",
      expiresAt: daysAgo(1),
      invitedByName: "Olive Owner",
      createdAt: daysAgo(8),
    },
  ]);
});
afterAll(async () => {
  await t?.close();
});

const url = (q = "") => `/api/v1/orgs/${orgId}/access-review${q ? `?${q}` : ""}`;
type Row = {
  memberId: string;
  name: string;
  riskScore: number;
  inactive: boolean;
  daysSinceActive: number;
  permissionCount: number;
};

describe("riskScore", () => {
  it("weighs permissions, inactivity and missing 2FA", () => {
    expect(riskScore({ permissionCount: PERMISSIONS.length, daysSinceActive: 0, twoFactorEnabled: true })).toBe(50);
    expect(riskScore({ permissionCount: 0, daysSinceActive: 365, twoFactorEnabled: true })).toBe(30);
    expect(riskScore({ permissionCount: 0, daysSinceActive: 5000, twoFactorEnabled: true })).toBe(30);
    expect(riskScore({ permissionCount: 0, daysSinceActive: 0, twoFactorEnabled: false })).toBe(20);
    expect(riskScore({ permissionCount: PERMISSIONS.length, daysSinceActive: 365, twoFactorEnabled: false })).toBe(100);
  });
});

describe("GET /orgs/:orgId/access-review", () => {
  it("reports roles, permissions, last sign-in and activity, 2FA, inactivity and risk per member", async () => {
    const res = await clientAs(t, owner).get(url());
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      inactiveDays: 90,
      requireTwoFactor: false,
      permissionCatalogueSize: PERMISSIONS.length,
    });
    const rows = body.members as Row[];
    // Riskiest first.
    expect(rows.map((r) => [r.name, r.riskScore])).toEqual([
      ["Olive Owner", 70], // every permission, no 2FA, active now
      ["Opal Operator", 54], // 2 permissions, 400 days idle, no 2FA
      ["Adam Admin", 50], // every permission, 2FA, signed in 3 days ago
      ["Nina Never", 28], // nothing, 100 days since joining, no 2FA
      ["Rita Recorder", 26], // contacts (3), acted 5 days ago, no 2FA
      ["Fred Fresh", 0],
    ]);
    const by = Object.fromEntries(body.members.map((m: Row) => [m.name, m]));
    expect(by["Adam Admin"]).toMatchObject({
      memberId: ids.admin,
      email: admin.email,
      isOwner: false,
      roles: [{ id: "administrator", name: "Administrator" }],
      permissionCount: PERMISSIONS.length,
      twoFactorEnabled: true,
      daysSinceActive: 3,
      inactive: false,
      blockedByTwoFactorPolicy: false,
    });
    expect(Math.round((Date.now() - Date.parse(by["Adam Admin"].lastSignInAt)) / 86_400_000)).toBe(3);
    expect(Date.parse(by["Adam Admin"].lastActiveAt)).toBeLessThan(Date.now() - 199 * 86_400_000);
    expect(by["Opal Operator"]).toMatchObject({ inactive: true, daysSinceActive: 400, permissionCount: 2 });
    expect(by["Nina Never"]).toMatchObject({
      inactive: true,
      daysSinceActive: 100,
      lastActiveAt: null,
      lastSignInAt: null,
      roles: [],
      permissionCount: 0,
    });
    expect(by["Rita Recorder"]).toMatchObject({ daysSinceActive: 5, inactive: false, permissionCount: 3 });
    expect(by["Olive Owner"]).toMatchObject({ isOwner: true, daysSinceActive: 0, twoFactorEnabled: false });

    expect(body.pendingInvitations).toHaveLength(2);
    expect(body.pendingInvitations[0]).toMatchObject({
      email: "stale@example.com",
      ageDays: 20,
      expired: true,
      roleIds: [],
    });
    expect(body.pendingInvitations[1]).toMatchObject({
      email: "pending@example.com",
      name: "Pat Pending",
      ageDays: 3,
      expired: false,
      roleIds: ["operator"],
      invitedByName: "Olive Owner",
    });
  });

  it("sorts by name or by staleness, and applies inactiveDays", async () => {
    const c = clientAs(t, owner);
    const byName = (await c.get(url("sort=name"))).json().members as Row[];
    expect(byName.map((r) => r.name)).toEqual([
      "Adam Admin",
      "Fred Fresh",
      "Nina Never",
      "Olive Owner",
      "Opal Operator",
      "Rita Recorder",
    ]);
    const stale = (await c.get(url("sort=lastActive"))).json().members as Row[];
    expect(stale.map((r) => r.name).slice(0, 3)).toEqual(["Opal Operator", "Nina Never", "Rita Recorder"]);
    const strict = (await c.get(url("inactiveDays=4"))).json().members as Row[];
    expect(
      strict
        .filter((r) => r.inactive)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["Nina Never", "Opal Operator", "Rita Recorder"]);
    for (const q of ["sort=power", "inactiveDays=0", "inactiveDays=abc"]) {
      expect((await c.get(url(q))).statusCode, q).toBe(400);
    }
    expect((await clientAs(t, fresh).get(url())).statusCode).toBe(403);
  });
});

describe("two-factor policy", () => {
  it("blocks members without 2FA from org routes with 403 two_factor_required, and the review shows them", async () => {
    const db = t.database.db;
    await db.update(organizations).set({ requireTwoFactor: true }).where(eq(organizations.id, orgId));
    await t.settle();
    try {
      // The owner has no 2FA: blocked too, whatever their permissions.
      const blocked = await clientAs(t, owner).get(url());
      expect(blocked.statusCode).toBe(403);
      expect(blocked.json()).toMatchObject({ code: "two_factor_required" });
      expect((await clientAs(t, owner).get(`/api/v1/orgs/${orgId}/activity`)).json().code).toBe("two_factor_required");
      // An administrator with 2FA is not.
      const res = await clientAs(t, admin).get(url());
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.requireTwoFactor).toBe(true);
      const blockedNames = body.members
        .filter((m: { blockedByTwoFactorPolicy: boolean }) => m.blockedByTwoFactorPolicy)
        .map((m: Row) => m.name)
        .sort();
      expect(blockedNames).toEqual(["Nina Never", "Olive Owner", "Opal Operator", "Rita Recorder"]);
      // Non-members still get 404, not a hint about the policy.
      const outsider = await createUser(db);
      expect((await clientAs(t, outsider).get(url())).statusCode).toBe(404);
      // Signed-in routes outside the organization stay reachable (e.g. to set up 2FA).
      const paths = (await t.client().get("/api/openapi.json")).json().paths as Record<string, unknown>;
      if (paths["/api/v1/orgs/{orgId}/me"]) {
        expect((await clientAs(t, owner).get(`/api/v1/orgs/${orgId}/me`)).statusCode).toBe(200);
      }
    } finally {
      await db.update(organizations).set({ requireTwoFactor: false }).where(eq(organizations.id, orgId));
      await t.settle();
    }
    expect((await clientAs(t, owner).get(url())).statusCode).toBe(200);
  });
});

describe("last activity of members", () => {
  it("is written on organization requests, at most once a minute", async () => {
    const db = t.database.db;
    const lastActive = async () =>
      (await db.select().from(memberships).where(eq(memberships.id, ids.never!)))[0]!.lastActiveAt;
    // The guard's cache remembers when this instance last wrote the time (and the trigger
    // ignores the column): after rewinding it in the database, make the instance forget too.
    await db.update(memberships).set({ lastActiveAt: null }).where(eq(memberships.id, ids.never!));
    t.app.ctx.authz.cache.flush();
    // Even a refused request (no audit:read) is the member using the organization.
    expect((await clientAs(t, never).get(url())).statusCode).toBe(403);
    const first = await lastActive();
    expect(first).not.toBeNull();
    await clientAs(t, never).get(url());
    expect((await lastActive())?.getTime()).toBe(first!.getTime());
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await db.update(memberships).set({ lastActiveAt: twoMinutesAgo }).where(eq(memberships.id, ids.never!));
    t.app.ctx.authz.cache.flush();
    await clientAs(t, never).get(url());
    expect((await lastActive())!.getTime()).toBeGreaterThan(twoMinutesAgo.getTime());
  });
});
