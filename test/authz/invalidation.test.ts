// The guard's cache across two app instances sharing one database (PostgreSQL: two pools and two
// LISTEN connections; PGlite: the one embedded database). Each test first proves that instance B
// answers the caller from its cache (hits, no misses), then changes something through instance A
// and checks B's very next request.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PgAuthzBus } from "../../src/server/authz/pg-bus.js";
import { authzInstances, organizations, sessions, users } from "../../src/server/db/schema/index.js";
import { hashToken } from "../../src/server/lib/tokens.js";
import { createTestApp, type TestApp, type TestClient } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { memberWith, orgWithOwner, STRONG, totpNow } from "../helpers/orgs.js";
import { latestInviteToken } from "../invitations/support.js";

const TIMING = { leaseMs: 3000, renewMs: 300, marginMs: 1000, reconnectMs: 200 };

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await createTestApp({ authzTiming: TIMING });
  b = await createTestApp({ database: a.database, authzTiming: TIMING });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

type Credentials = { token: string } | { cookies: Record<string, string> };

/** A client of `t` with the person's Bearer token or session cookie. */
function on(t: TestApp, who: Credentials): TestClient {
  const c = t.client();
  if ("token" in who) c.bearer = who.token;
  else c.cookies = { ...who.cookies };
  return c;
}

/** Asks twice; the second answer must come from the cache (session and membership: no query). */
async function warm(t: TestApp, who: Credentials, url: string, status = 200) {
  expect((await on(t, who).get(url)).statusCode).toBe(status);
  const stats = t.app.ctx.authz.cache.stats;
  const before = { ...stats };
  expect((await on(t, who).get(url)).statusCode).toBe(status);
  expect(stats.misses - before.misses).toBe(0);
  expect(stats.hits - before.hits).toBeGreaterThanOrEqual(url.includes("/orgs/") ? 2 : 1);
}

const rolesUrl = (orgId: string) => `/api/v1/orgs/${orgId}/roles`;

async function team() {
  const org = await orgWithOwner(a, "Cached", { twoFactor: true });
  const lead = await memberWith(a, org.orgId, ["administrator"], { firstName: "Lee", lastName: "Lead" });
  // Setup wrote straight to the database: let both instances take the notifications in first.
  await a.settle();
  return { ...org, lead };
}

describe("a change through instance A is in force on B's next request, though B had it cached", () => {
  it("replacing a member's roles", async () => {
    const { orgId, owner, lead } = await team();
    await warm(b, lead, rolesUrl(orgId));
    const res = await on(a, owner).patch(`/api/v1/orgs/${orgId}/members/${lead.memberId}`, { roleIds: ["operator"] });
    expect(res.statusCode).toBe(200);
    const next = await on(b, lead).get(rolesUrl(orgId));
    expect(next.statusCode).toBe(403);
    expect(next.json()).toMatchObject({ code: "permission_denied", missingPermission: "roles:read" });
  });

  it("removing the member", async () => {
    const { orgId, owner, lead } = await team();
    await warm(b, lead, rolesUrl(orgId));
    expect((await on(a, owner).delete(`/api/v1/orgs/${orgId}/members/${lead.memberId}`)).statusCode).toBe(204);
    const next = await on(b, lead).get(rolesUrl(orgId));
    expect(next.statusCode).toBe(404);
    expect(next.json().code).toBe("org_not_found");
  });

  it("signing out, and revoking a session from another one", async () => {
    const { lead } = await team();
    await warm(b, lead, "/api/v1/me");
    expect((await on(a, lead).post("/api/v1/auth/logout")).statusCode).toBe(204);
    const next = await on(b, lead).get("/api/v1/me");
    expect(next.statusCode).toBe(401);
    expect(next.json().code).toBe("session_expired");

    // A second session (cookie) of the lead, cached on B, revoked from a first one through A.
    const { lead: other } = await team();
    const browser = a.client();
    expect((await browser.post("/api/v1/auth/login", { email: other.email, password: STRONG })).statusCode).toBe(200);
    const second = { cookies: browser.cookies };
    await warm(b, second, "/api/v1/me");
    const sessions = (await on(a, other).get("/api/v1/me/sessions")).json().items as { id: string; current: boolean }[];
    const cookieSession = sessions.find((s) => !s.current)!;
    expect((await on(a, other).delete(`/api/v1/me/sessions/${cookieSession.id}`)).statusCode).toBe(204);
    expect((await on(b, second).get("/api/v1/me")).statusCode).toBe(401);
    expect((await on(b, other).get("/api/v1/me")).statusCode).toBe(200);
  });

  it("turning on the organization's two-factor requirement", async () => {
    const { orgId, owner, lead } = await team();
    await warm(b, lead, rolesUrl(orgId));
    expect((await on(a, owner).patch(`/api/v1/orgs/${orgId}`, { requireTwoFactor: true })).statusCode).toBe(200);
    const next = await on(b, lead).get(rolesUrl(orgId));
    expect(next.statusCode).toBe(403);
    expect(next.json().code).toBe("two_factor_required");
  });

  it("transferring ownership", async () => {
    const { orgId, owner, lead } = await team();
    await warm(b, owner, `/api/v1/orgs/${orgId}/me`);
    await warm(b, lead, `/api/v1/orgs/${orgId}/me`);
    const res = await on(a, owner).post(`/api/v1/orgs/${orgId}/transfer-ownership`, {
      memberId: lead.memberId,
      password: STRONG,
      code: await totpNow(),
    });
    expect(res.statusCode).toBe(200);
    expect((await on(b, owner).get(`/api/v1/orgs/${orgId}/me`)).json()).toMatchObject({ isOwner: false });
    expect((await on(b, lead).get(`/api/v1/orgs/${orgId}/me`)).json()).toMatchObject({ isOwner: true });
    // An owner-only route now refuses the old owner on B.
    const del = await on(b, owner).post(`/api/v1/orgs/${orgId}/transfer-ownership`, {
      memberId: lead.memberId,
      password: STRONG,
    });
    expect(del.statusCode).toBe(403);
    expect(del.json().code).toBe("owner_only");
  });

  it("a non-member remembered as such becomes a member", async () => {
    const { orgId, owner } = await team();
    const outsider = await memberWith(a, (await orgWithOwner(a, "Elsewhere")).orgId);
    await a.settle();
    await warm(b, outsider, rolesUrl(orgId), 404);
    const invite = await on(a, owner).post(`/api/v1/orgs/${orgId}/invitations`, {
      email: outsider.email,
      firstName: "Out",
      lastName: "Sider",
      roleIds: ["administrator"],
    });
    expect(invite.statusCode).toBe(201);
    const token = await latestInviteToken(a, outsider.email);
    expect((await on(a, outsider).post("/api/v1/invitations/accept", { token })).statusCode).toBe(200);
    expect((await on(b, outsider).get(`/api/v1/orgs/${orgId}/me`)).statusCode).toBe(200);
  });
});

describe("changes written outside the app (no request awaited the barrier)", () => {
  it("reach B through the triggers: a user's two-factor state, a session's, an organization's policy", async () => {
    const { orgId, lead } = await team();
    const db = a.database.db;
    await db.update(organizations).set({ requireTwoFactor: true }).where(eq(organizations.id, orgId));
    await a.settle();
    await warm(b, lead, rolesUrl(orgId), 403);
    // The member turns on 2FA (written as the enable flow would): the session first, then the user.
    const session = eq(sessions.tokenHash, hashToken(lead.token));
    await db.update(sessions).set({ twoFactorVerified: true }).where(session);
    await a.settle();
    expect((await on(b, lead).get(rolesUrl(orgId))).statusCode).toBe(403); // the user has no 2FA yet
    await db.update(users).set({ totpEnabledAt: new Date() }).where(eq(users.id, lead.id));
    await a.settle();
    expect((await on(b, lead).get(rolesUrl(orgId))).statusCode).toBe(200);
    // A session that did not pass 2FA is held again, whatever the user has.
    await db.update(sessions).set({ twoFactorVerified: false }).where(session);
    await a.settle();
    expect((await on(b, lead).get(rolesUrl(orgId))).statusCode).toBe(403);
    await db.update(organizations).set({ requireTwoFactor: false }).where(eq(organizations.id, orgId));
  });
});

describe("AUTHZ_CACHE=off", () => {
  it("reads the database on every request and keeps nothing", async () => {
    const off = await createTestApp({ database: a.database, env: { AUTHZ_CACHE: "off" } });
    try {
      const { orgId, lead } = await team();
      for (let i = 0; i < 3; i++) expect((await on(off, lead).get(rolesUrl(orgId))).statusCode).toBe(200);
      expect(off.app.ctx.authz.bus.trusted()).toBe(false);
      expect((await off.client().get("/readyz")).json().authorizationCache).toBe("off");
      expect(off.app.ctx.authz.cache.stats.hits).toBe(0);
      expect(off.app.ctx.authz.cache.size).toEqual({ sessions: 0, members: 0, scopes: 0 });
    } finally {
      await off.close();
    }
  });
});

describe.skipIf(!onPostgres)("PostgreSQL: leases and a lost notification connection", () => {
  const busOf = (t: TestApp) => t.app.ctx.authz.bus as PgAuthzBus;

  it("a write waits for a leaseholder that does not answer, until its lease runs out", async () => {
    const { orgId, owner, lead } = await team();
    const leaseWaits = busOf(a).stats.leaseWaits;
    const silent = crypto.randomUUID();
    await a.database.db
      .insert(authzInstances)
      .values({ id: silent, leaseUntil: sql`now() + interval '1500 milliseconds'` });
    const started = Date.now();
    const res = await on(a, owner).patch(`/api/v1/orgs/${orgId}/members/${lead.memberId}`, { roleIds: ["operator"] });
    expect(res.statusCode).toBe(200);
    // Not a speed check: the barrier may not answer before the silent instance's lease ends.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(busOf(a).stats.leaseWaits).toBe(leaseWaits + 1);
    await a.database.db.delete(authzInstances).where(eq(authzInstances.id, silent));
  });

  it("concurrent writes on both instances are each acked by both, never by a lease running out", async () => {
    const { orgId, owner, lead } = await team();
    const [busA, busB] = [busOf(a), busOf(b)];
    const before = { a: { ...busA.stats }, b: { ...busB.stats } };
    const roleSets = [["operator"], ["administrator"], ["contact_manager"], ["broadcast_manager"]];
    const writes = Array.from({ length: 16 }, (_, i) =>
      on(i % 2 ? a : b, owner).patch(`/api/v1/orgs/${orgId}/members/${lead.memberId}`, {
        roleIds: roleSets[i % roleSets.length],
      }),
    );
    const barriers = Array.from({ length: 16 }, (_, i) => (i % 2 ? busA : busB).barrier());
    const answers = await Promise.all(writes);
    await Promise.all(barriers);
    expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 200));
    expect(busA.stats.barriers - before.a.barriers).toBe(16);
    expect(busB.stats.barriers - before.b.barriers).toBe(16);
    expect(busA.stats.leaseWaits).toBe(before.a.leaseWaits);
    expect(busB.stats.leaseWaits).toBe(before.b.leaseWaits);
    // Whatever order they committed in, both instances now answer with the last committed roles.
    const final = (await on(a, owner).get(`/api/v1/orgs/${orgId}/members/${lead.memberId}`)).json().roleIds;
    expect((await on(b, lead).get(`/api/v1/orgs/${orgId}/me`)).json().roleIds).toEqual(final);
    expect((await on(a, lead).get(`/api/v1/orgs/${orgId}/me`)).json().roleIds).toEqual(final);
  });

  it("concurrent barriers share pings: one in flight, the callers meanwhile share the next; each still waits for every instance", async () => {
    const [busA, busB] = [busOf(a), busOf(b)];
    const before = { ...busA.stats };
    const silent = crypto.randomUUID();
    await a.database.db.insert(authzInstances).values({ id: silent, leaseUntil: sql`now() + interval '2 seconds'` });
    // 20 barriers at once: the first sends its ping, the other 19 wait for the next one together.
    const pending = Array.from({ length: 20 }, () => busA.barrier());
    let settled = 0;
    for (const p of pending) void p.then(() => settled++);
    // Instance b acks at once; the silent leaseholder has not: nobody is through yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(0);
    // The silent one acks once, for a ping later than both: it covers all twenty.
    await a.database.db.execute(
      sql`select pg_notify('chorus_authz', ${`a:${busA.id}:${Number.MAX_SAFE_INTEGER}:${silent}`})`,
    );
    await Promise.all(pending);
    expect(busA.stats.barriers - before.barriers).toBe(20);
    expect(busA.stats.pings - before.pings).toBe(2);
    expect(busA.stats.leaseWaits).toBe(before.leaseWaits);
    expect(busB.trusted()).toBe(true);
    await a.database.db.delete(authzInstances).where(eq(authzInstances.id, silent));
  });

  it("one ack covers every earlier ping of its writer (acks of a burst are sent together)", async () => {
    const busA = busOf(a);
    const silent = crypto.randomUUID();
    await a.database.db.insert(authzInstances).values({ id: silent, leaseUntil: sql`now() + interval '3 seconds'` });
    const leaseWaits = busA.stats.leaseWaits;
    const pending = [busA.barrier(), busA.barrier(), busA.barrier()];
    // The "silent" instance acks once, for a ping later than all three.
    await a.database.db.execute(
      sql`select pg_notify('chorus_authz', ${`a:${busA.id}:${Number.MAX_SAFE_INTEGER}:${silent}`})`,
    );
    await Promise.all(pending);
    expect(busA.stats.leaseWaits).toBe(leaseWaits);
    await a.database.db.delete(authzInstances).where(eq(authzInstances.id, silent));
  });

  it("a write waits whatever it answers once its handler ran; a request refused before it does not", async () => {
    const { owner } = await team();
    const bus = busOf(a);
    const count = async (send: () => Promise<{ statusCode: number }>, status: number) => {
      const before = bus.stats.barriers;
      expect((await send()).statusCode).toBe(status);
      return bus.stats.barriers - before;
    };
    // The handler ran and refused (wrong password): it may have written (throttling), so it waits.
    expect(
      await count(
        () => a.client().post("/api/v1/auth/login", { email: owner.email, password: "wrong password!" }),
        401,
      ),
    ).toBe(1);
    // Refused by validation, or by the guard, before any handler: nothing to wait for.
    expect(await count(() => a.client().post("/api/v1/auth/login", { email: "not an email" }), 400)).toBe(0);
    expect(await count(() => a.client().post("/api/v1/orgs", { name: "Nobody's" }), 401)).toBe(0);
    // Reads never wait.
    expect(await count(() => on(a, owner).get("/api/v1/me"), 200)).toBe(0);
  });

  it("an instance that closes gives up its lease", async () => {
    const c = await createTestApp({ database: a.database, authzTiming: TIMING });
    const id = busOf(c).id;
    const leases = () => a.database.db.select().from(authzInstances).where(eq(authzInstances.id, id));
    expect(await leases()).toHaveLength(1);
    await c.close();
    expect(await leases()).toHaveLength(0);
  });

  it("B stops trusting its cache when its LISTEN connection dies, reads the database meanwhile, and recovers", async () => {
    const { orgId, owner, lead } = await team();
    await warm(b, lead, rolesUrl(orgId));
    const bus = busOf(b);
    const killed = (await a.database.db.execute(
      sql`select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = ${`chorus-authz:${bus.id}`}`,
    )) as unknown as { rows: unknown[] };
    expect(killed.rows).toEqual([{ ok: true }]);
    await until(() => !bus.trusted());
    expect((await b.client().get("/readyz")).json()).toMatchObject({ status: "ready", authorizationCache: "degraded" });
    // Written outside the app while B hears nothing: B reads the database, so it sees it.
    await a.database.db.execute(sql`delete from member_roles where org_id = ${orgId} and member_id = ${lead.memberId}`);
    const misses = b.app.ctx.authz.cache.stats.misses;
    expect((await on(b, lead).get(rolesUrl(orgId))).statusCode).toBe(403);
    expect(b.app.ctx.authz.cache.stats.misses).toBeGreaterThan(misses);
    // Back: listening again, trusted, and caching.
    await until(() => bus.trusted(), 10_000);
    expect((await b.client().get("/readyz")).json().authorizationCache).toBe("on");
    await warm(b, owner, rolesUrl(orgId));
    expect(
      (await on(a, owner).patch(`/api/v1/orgs/${orgId}/members/${lead.memberId}`, { roleIds: ["administrator"] }))
        .statusCode,
    ).toBe(200);
    expect((await on(b, lead).get(rolesUrl(orgId))).statusCode).toBe(200);
  });
});

describe.skipIf(onPostgres)("PGlite", () => {
  it("runs the listeners of a commit's notifications before the COMMIT returns (why it needs no barrier)", async () => {
    const client = a.database.pglite!;
    const seen: string[] = [];
    const unlisten = await client.listen("chorus_authz", (p) => seen.push(p));
    try {
      const { orgId } = await team();
      seen.length = 0;
      await a.database.db.transaction(async (tx) => {
        await tx.update(organizations).set({ name: "Renamed" }).where(eq(organizations.id, orgId));
        expect(seen).toEqual([]);
      });
      expect(seen).toEqual([`o:${orgId}`]);
    } finally {
      await unlisten();
    }
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
