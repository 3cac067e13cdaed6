// Every state-changing organization route (POST/PATCH/PUT/DELETE under /api/v1/orgs/:orgId/),
// taken from the app's own route list, must write exactly one activity record of the right
// shape when it succeeds, and none when it fails. A new route without a scenario below fails
// the test: adding a route means saying what it records.
import { count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, invitations, roles } from "../../src/server/db/schema/index.js";
import { registeredRoutes } from "../../src/server/http/route-registry.js";
import { hashPassword } from "../../src/server/modules/auth/passwords.js";
import { addMember, clientAs, createOrg, createUser, recordsOfRequest, type TestUser } from "../helpers/activity.js";
import { createTestApp, STRONG_PASSWORD, type TestApp } from "../helpers/app.js";

let t: TestApp;

interface Fixture {
  orgId: string;
  owner: TestUser;
  /** A member holding every role permission (administrator), not the owner. */
  admin: TestUser;
  adminMemberId: string;
  /** A member with no role: every permission check fails for them. */
  nobody: TestUser;
  /** A plain member (operator) to edit, remove or hand ownership to. */
  target: TestUser;
  targetMemberId: string;
  invitationId: string;
  customRoleId: string;
}

interface Scenario {
  /** Who succeeds (default owner). */
  as?: (f: Fixture) => TestUser;
  path: (f: Fixture) => string;
  body?: (f: Fixture) => Record<string, unknown> | undefined;
  /** The record's target type (one of, when the route's author may pick). */
  targetType: string | string[];
  /** The record's action; default `<targetType>.<verb>`. */
  action?: RegExp;
  /** The record's target id, when it is known up front. */
  targetId?: (f: Fixture) => string;
}

/** Routes that cannot keep a record in the organization's own log, and why. */
const EXEMPT: Record<string, string> = {
  "DELETE /api/v1/orgs/{orgId}": "deleting the organization deletes its activity log with it (ON DELETE CASCADE)",
};

const SCENARIOS: Record<string, Scenario> = {
  "PATCH /api/v1/orgs/{orgId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}`,
    body: () => ({ name: "Renamed Org" }),
    targetType: "organization",
    action: /^org\.updated$/,
    targetId: (f) => f.orgId,
  },
  "POST /api/v1/orgs/{orgId}/transfer-ownership": {
    path: (f) => `/api/v1/orgs/${f.orgId}/transfer-ownership`,
    body: (f) => ({ memberId: f.targetMemberId, password: STRONG_PASSWORD }),
    targetType: "member",
    action: /^ownership\.transferred$/,
    targetId: (f) => f.targetMemberId,
  },
  "POST /api/v1/orgs/{orgId}/leave": {
    as: (f) => f.target,
    path: (f) => `/api/v1/orgs/${f.orgId}/leave`,
    targetType: "member",
    targetId: (f) => f.targetMemberId,
  },
  "PATCH /api/v1/orgs/{orgId}/members/{memberId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/members/${f.targetMemberId}`,
    body: () => ({ firstName: "Renamed", roleIds: ["chat_manager"] }),
    targetType: "member",
    targetId: (f) => f.targetMemberId,
  },
  "DELETE /api/v1/orgs/{orgId}/members/{memberId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/members/${f.targetMemberId}`,
    targetType: "member",
    targetId: (f) => f.targetMemberId,
  },
  "POST /api/v1/orgs/{orgId}/invitations": {
    path: (f) => `/api/v1/orgs/${f.orgId}/invitations`,
    body: () => ({
      email: `new.${Date.now()}@example.com`,
      firstName: "New",
      lastName: "Person",
      roleIds: ["operator"],
    }),
    targetType: ["invitation", "member"],
    action: /^(invitation|member)\.[a-z_]+$/,
  },
  "POST /api/v1/orgs/{orgId}/invitations/{id}/resend": {
    path: (f) => `/api/v1/orgs/${f.orgId}/invitations/${f.invitationId}/resend`,
    targetType: "invitation",
    targetId: (f) => f.invitationId,
  },
  "DELETE /api/v1/orgs/{orgId}/invitations/{id}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/invitations/${f.invitationId}`,
    targetType: "invitation",
    targetId: (f) => f.invitationId,
  },
  "POST /api/v1/orgs/{orgId}/roles": {
    path: (f) => `/api/v1/orgs/${f.orgId}/roles`,
    body: () => ({ name: `Role ${Date.now()}`, description: "", permissions: ["contacts:read"] }),
    targetType: "role",
  },
  "PATCH /api/v1/orgs/{orgId}/roles/{roleId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/roles/${f.customRoleId}`,
    body: () => ({ name: "Renamed role", permissions: ["contacts:read", "templates:read"] }),
    targetType: "role",
    targetId: (f) => f.customRoleId,
  },
  "DELETE /api/v1/orgs/{orgId}/roles/{roleId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/roles/${f.customRoleId}`,
    targetType: "role",
    targetId: (f) => f.customRoleId,
  },
};

const WRITE_METHODS = ["post", "patch", "put", "delete"];
let routes: string[] = [];

async function fixture(): Promise<Fixture> {
  const db = t.database.db;
  const owner = await createUser(db, { firstName: "Olive", lastName: "Owner" });
  // A real password, for routes that re-authenticate (ownership transfer).
  const passwordHash = await hashPassword(STRONG_PASSWORD);
  await db.execute(sql`update users set password_hash = ${passwordHash} where id = ${owner.id}`);
  const admin = await createUser(db, { firstName: "Adam", lastName: "Admin" });
  const nobody = await createUser(db, { firstName: "No", lastName: "Body" });
  const target = await createUser(db, { firstName: "Tara", lastName: "Target" });
  const { orgId } = await createOrg(db, owner);
  const adminMemberId = await addMember(db, orgId, admin, ["administrator"]);
  await addMember(db, orgId, nobody, []);
  const targetMemberId = await addMember(db, orgId, target, ["operator"]);
  const [inv] = await db
    .insert(invitations)
    .values({
      orgId,
      email: `invited.${Date.now()}.${Math.random()}@example.com`,
      firstName: "In",
      lastName: "Vited",
      roleIds: ["operator"],
      tokenHash: `hash-${Math.random()}`,
      expiresAt: new Date(Date.now() + 7 * 86_400_000),
      invitedByUserId: owner.id,
      invitedByName: "Olive Owner",
    })
    .returning();
  const customRoleId = `custom_${Math.random().toString(36).slice(2, 10)}`;
  await db
    .insert(roles)
    .values({ orgId, id: customRoleId, name: `Custom ${customRoleId}`, permissions: ["contacts:read"] });
  return { orgId, owner, admin, adminMemberId, nobody, target, targetMemberId, invitationId: inv!.id, customRoleId };
}

const countOf = async (orgId: string) =>
  (await t.database.db.select({ n: count() }).from(activity).where(eq(activity.orgId, orgId)))[0]!.n;

beforeAll(async () => {
  t = await createTestApp();
  // The app's own route registry: every route, hidden from OpenAPI or not.
  routes = [
    ...new Set(
      registeredRoutes(t.app)
        .filter((r) => WRITE_METHODS.includes(r.method.toLowerCase()))
        .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`)
        .filter((r) => / \/api\/v1\/orgs\/\{orgId\}(\/|$)/.test(r)),
    ),
  ].sort();
  if (process.env.DEBUG_ROUTES) console.log(routes);
});
afterAll(async () => {
  await t?.close();
});

describe("activity records of state-changing organization routes", () => {
  it("has a scenario (or a stated exemption) for every state-changing organization route", () => {
    const missing = routes.filter((r) => !SCENARIOS[r] && !EXEMPT[r]);
    expect(missing, "add a scenario to test/activity/state-changing-routes.test.ts").toEqual([]);
  });

  it("the activity routes themselves change nothing", () => {
    expect(routes.filter((r) => r.includes("/activity"))).toEqual([]);
  });

  it("writes exactly one record of the right shape per successful change", async () => {
    const covered = routes.filter((r) => SCENARIOS[r]);
    for (const route of covered) {
      const s = SCENARIOS[route]!;
      const f = await fixture();
      const actor = s.as?.(f) ?? f.owner;
      const method = route.split(" ")[0]!;
      const before = await countOf(f.orgId);
      const res = await clientAs(t, actor).request(
        method,
        s.path(f),
        s.body?.(f) ?? (method === "DELETE" ? undefined : {}),
      );
      expect(res.statusCode, `${route}: ${res.body}`).toBeLessThan(300);
      const records = await recordsOfRequest(t.database.db, res.headers["x-request-id"] as string);
      expect(records, route).toHaveLength(1);
      expect(await countOf(f.orgId), route).toBe(before + 1);
      const r = records[0]!;
      expect(r.orgId, route).toBe(f.orgId);
      expect(r.action, route).toMatch(s.action ?? new RegExp(`^${s.targetType}\\.[a-z_]+$`));
      expect([s.targetType].flat(), route).toContain(r.targetType);
      expect(r.actorType, route).toBe("user");
      expect(r.actorId, route).toBe(actor.id);
      expect(r.actorName, route).toBe(`${actor.firstName} ${actor.lastName}`);
      expect(r.ip, route).toBeTruthy();
      expect(r.userAgent, route).toBe("vitest");
      if (s.targetId) expect(r.targetId, route).toBe(s.targetId(f));
      // Never secrets or tokens in what the log keeps.
      const text = JSON.stringify(r.changes ?? {});
      expect(text, route).not.toMatch(/password|token|secret|hash/i);
    }
  });

  it("writes no record when the change is refused", async () => {
    for (const route of routes) {
      if (EXEMPT[route]) continue;
      const s = SCENARIOS[route];
      const f = await fixture();
      const method = route.split(" ")[0]!;
      const path = s
        ? s.path(f)
        : route
            .split(" ")[1]!
            .replace("{orgId}", f.orgId)
            .replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000");
      const before = await countOf(f.orgId);
      // A member without roles is refused by every route that needs a permission; an outsider by all.
      for (const who of [f.nobody, await createUser(t.database.db)]) {
        const res = await clientAs(t, who).request(
          method,
          path,
          s?.body?.(f) ?? (method === "DELETE" ? undefined : {}),
        );
        if (res.statusCode < 400) continue; // open to every member (e.g. leave): the outsider case covers it
        expect(await recordsOfRequest(t.database.db, res.headers["x-request-id"] as string), route).toEqual([]);
      }
      // Invalid input is refused too, and leaves no record.
      const bad = await clientAs(t, f.owner).request(
        method,
        path,
        method === "DELETE" ? undefined : { unexpected: [1] },
      );
      if (bad.statusCode >= 400) {
        expect(await recordsOfRequest(t.database.db, bad.headers["x-request-id"] as string), route).toEqual([]);
      }
      const after = await countOf(f.orgId);
      // Only the "leave" of a role-less member may have changed something, with its one record.
      expect(after - before, route).toBeLessThanOrEqual(route.endsWith("/leave") ? 1 : bad.statusCode < 400 ? 1 : 0);
    }
  });
});
