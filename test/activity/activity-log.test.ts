import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, organizations } from "../../src/server/db/schema/index.js";
import { recordActivity } from "../../src/server/modules/activity/record.js";
import { addMember, clientAs, createOrg, createUser, insertActivity, type TestUser } from "../helpers/activity.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let owner: TestUser;
let auditor: TestUser;
let operator: TestUser;
let outsider: TestUser;
let orgId: string;
let otherOrgId: string;
const T0 = Date.parse("2025-03-01T12:00:00.000Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  owner = await createUser(db, { firstName: "Olive", lastName: "Owner" });
  auditor = await createUser(db, { firstName: "Ada", lastName: "Auditor" });
  operator = await createUser(db, { firstName: "Otto", lastName: "Operator" });
  outsider = await createUser(db, { firstName: "Xena", lastName: "Outsider" });
  ({ orgId } = await createOrg(db, owner));
  await addMember(db, orgId, auditor, ["administrator"]);
  await addMember(db, orgId, operator, ["operator"]);
  ({ orgId: otherOrgId } = await createOrg(db, outsider, { name: "Other" }));

  await insertActivity(db, orgId, [
    { at: at(1), actorId: owner.id, actorName: "Olive Owner", action: "member.invited", targetId: "m1" },
    { at: at(2), actorId: owner.id, actorName: "Olive Owner", action: "member.roles_changed", targetId: "m1" },
    { at: at(3), actorId: auditor.id, actorName: "Ada Auditor", action: "role.created", targetId: "r1" },
    { at: at(4), actorId: auditor.id, actorName: "Ada Auditor", action: "member.removed", targetId: "m2" },
    { at: at(5), actorId: owner.id, actorName: "Olive Owner", action: "invitation.revoked", targetId: "i1" },
    { at: at(6), actorId: null, actorType: "system", actorName: "Chorus", action: "organization.updated" },
    // Same instant, two records: the id breaks the tie.
    { at: at(7), actorId: owner.id, actorName: "Olive Owner", action: "role.updated", targetId: "r1" },
    { at: at(7), actorId: owner.id, actorName: "Olive Owner", action: "role.deleted", targetId: "r1" },
    { at: at(8), actorId: owner.id, actorName: "Olive Owner", action: "memberx.weird", targetType: "memberx" },
  ]);
  await insertActivity(db, otherOrgId, [
    { at: at(5), actorId: outsider.id, actorName: "Xena Outsider", action: "member.invited" },
  ]);
});
afterAll(async () => {
  await t?.close();
});

const url = (q = "") => `/api/v1/orgs/${orgId}/activity${q ? `?${q}` : ""}`;
const actions = (body: { items: { action: string }[] }) => body.items.map((i) => i.action);

describe("GET /orgs/:orgId/activity", () => {
  it("lists newest first with the record's shape, and only this organization's records", async () => {
    const res = await clientAs(t, auditor).get(url());
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(actions(body)).toEqual([
      "memberx.weird",
      "role.deleted",
      "role.updated",
      "organization.updated",
      "invitation.revoked",
      "member.removed",
      "role.created",
      "member.roles_changed",
      "member.invited",
    ]);
    expect(body.nextCursor).toBeNull();
    expect(body.items[5]).toMatchObject({
      at: at(4).toISOString(),
      actor: { type: "user", id: auditor.id, name: "Ada Auditor" },
      action: "member.removed",
      target: { type: "member", id: "m2", label: null },
      ip: "10.0.0.1",
      userAgent: "seed",
    });
    expect(body.items[3].actor).toEqual({ type: "system", id: null, name: "Chorus" });
  });

  it("filters by actor, exact action, action prefix, target and time range", async () => {
    const c = clientAs(t, auditor);
    expect(actions((await c.get(url(`actorId=${auditor.id}`))).json())).toEqual(["member.removed", "role.created"]);
    expect(actions((await c.get(url("action=role.created"))).json())).toEqual(["role.created"]);
    // `member.` and `member.*` are prefixes of the group: `memberx.weird` is not in it.
    const prefixed = ["member.removed", "member.roles_changed", "member.invited"];
    expect(actions((await c.get(url("action=member."))).json())).toEqual(prefixed);
    expect(actions((await c.get(url("action=member.*"))).json())).toEqual(prefixed);
    expect(actions((await c.get(url("action=member.r*"))).json())).toEqual(["member.removed", "member.roles_changed"]);
    // A bare `member*` is a plain string prefix.
    expect(actions((await c.get(url("action=member*"))).json())).toEqual(["memberx.weird", ...prefixed]);
    expect(actions((await c.get(url("targetType=role&targetId=r1"))).json())).toEqual([
      "role.deleted",
      "role.updated",
      "role.created",
    ]);
    const range = `from=${encodeURIComponent(at(2).toISOString())}&to=${encodeURIComponent(at(4).toISOString())}`;
    expect(actions((await c.get(url(range))).json())).toEqual(["role.created", "member.roles_changed"]);
    expect(actions((await c.get(url(`actorId=${owner.id}&action=role.&from=${at(7).toISOString()}`))).json())).toEqual([
      "role.deleted",
      "role.updated",
    ]);
    // Another organization's actor: nothing here.
    expect((await c.get(url(`actorId=${outsider.id}`))).json().items).toEqual([]);
  });

  it("paginates with a cursor without gaps or repeats, ties included", async () => {
    const c = clientAs(t, auditor);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await c.get(url(`limit=2${cursor ? `&cursor=${cursor}` : ""}`));
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((i: { id: string }) => i.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(5);
    const all = (await c.get(url("limit=100"))).json().items.map((i: { id: string }) => i.id);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(9);

    // The cursor keeps the filters' meaning: page 2 of a filtered list.
    const p1 = (await c.get(url("action=member.&limit=2"))).json();
    const p2 = (await c.get(url(`action=member.&limit=2&cursor=${p1.nextCursor}`))).json();
    expect([...actions(p1), ...actions(p2)]).toEqual(["member.removed", "member.roles_changed", "member.invited"]);
    expect(p2.nextCursor).toBeNull();
  });

  it("keeps microsecond ordering across pages", async () => {
    const { orgId: o } = await createOrg(t.database.db, owner, { name: "Micro" });
    await t.database.db.execute(sql`
      insert into activity (org_id, at, actor_type, actor_name, action, target_type)
      select ${o}::uuid, timestamptz '2025-01-01 00:00:00.000100+00' + g * interval '1 microsecond',
             'system', 'S', 'tick.' || g, 'tick'
      from generate_series(1, 5) g`);
    const c = clientAs(t, owner);
    const got: string[] = [];
    let cursor: string | null = null;
    do {
      const body: { items: { action: string }[]; nextCursor: string | null } = (
        await c.get(`/api/v1/orgs/${o}/activity?limit=1${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      got.push(...actions(body));
      cursor = body.nextCursor;
    } while (cursor);
    expect(got).toEqual(["tick.5", "tick.4", "tick.3", "tick.2", "tick.1"]);
  });

  it("answers bad input with 400 problem+json", async () => {
    const c = clientAs(t, auditor);
    for (const q of [
      "actorId=not-a-uuid",
      "from=yesterday",
      `from=${at(5).toISOString()}&to=${at(1).toISOString()}`,
      // Well-formed, but outside what PostgreSQL stores (year 0) or writes back (year 10000).
      "from=0000-01-01T00:00:00Z",
      "to=0000-06-01T00:00:00Z",
      "from=0001-01-01T00:30:00%2B01:00",
      "to=10000-01-01T00:00:00Z",
      "cursor=%%%",
      "cursor=eyJ4IjoxfQ",
      "limit=0",
      "limit=101",
      "action=member%27%20or%201%3D1",
    ]) {
      const res = await c.get(url(q));
      expect(res.statusCode, q).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    expect((await c.get(`/api/v1/orgs/not-a-uuid/activity`)).statusCode).toBe(400);
  });

  it("refuses non-members with 404, members without audit:read with 403, anonymous with 401", async () => {
    const res404 = await clientAs(t, outsider).get(url());
    expect(res404.statusCode).toBe(404);
    expect(res404.json().code).toBe("org_not_found");
    const res403 = await clientAs(t, operator).get(url());
    expect(res403.statusCode).toBe(403);
    expect(res403.json()).toMatchObject({ code: "permission_denied", missingPermission: "audit:read" });
    expect((await t.client().get(url())).statusCode).toBe(401);
    // An unknown organization looks the same as one the caller is not in.
    const unknown = await clientAs(t, auditor).get("/api/v1/orgs/00000000-0000-4000-8000-000000000000/activity");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe("org_not_found");
  });

  it("offers no way to change or delete a record", async () => {
    const c = clientAs(t, owner);
    const [first] = (await c.get(url("limit=1"))).json().items;
    for (const [method, path] of [
      ["PATCH", `/api/v1/orgs/${orgId}/activity/${first.id}`],
      ["PUT", `/api/v1/orgs/${orgId}/activity/${first.id}`],
      ["DELETE", `/api/v1/orgs/${orgId}/activity/${first.id}`],
      ["DELETE", `/api/v1/orgs/${orgId}/activity`],
      ["POST", `/api/v1/orgs/${orgId}/activity`],
      ["PATCH", `/api/v1/orgs/${orgId}/activity`],
    ] as const) {
      const res = await c.request(method, path, method === "DELETE" ? undefined : { action: "forged" });
      expect([404, 405], `${method} ${path}`).toContain(res.statusCode);
      expect(res.headers["content-type"]).toContain("application/problem+json");
    }
    const after = (await c.get(url("limit=1"))).json().items[0];
    expect(after).toEqual(first);
    // The OpenAPI document lists no write method on any activity path.
    const paths = (await t.client().get("/api/openapi.json")).json().paths as Record<string, object>;
    for (const [p, ops] of Object.entries(paths)) {
      if (!p.includes("/activity")) continue;
      expect(Object.keys(ops).filter((m) => m !== "get")).toEqual([]);
    }
  });
});

describe("recordActivity and the change it describes share one transaction", () => {
  it("keeps neither when the transaction fails after both writes", async () => {
    const db = t.database.db;
    const actor = {
      type: "user" as const,
      id: owner.id,
      name: "Olive Owner",
      ip: null,
      userAgent: null,
      requestId: "tx-test",
    };
    await expect(
      db.transaction(async (tx) => {
        await tx.update(organizations).set({ name: "Renamed" }).where(eq(organizations.id, orgId));
        await recordActivity(tx, actor, {
          orgId,
          action: "organization.updated",
          target: { type: "organization", id: orgId, label: "Renamed" },
          changes: { name: { before: "Acme", after: "Renamed" } },
        });
        // Both writes are visible inside the transaction…
        const [inside] = await tx.select().from(activity).where(eq(activity.requestId, "tx-test"));
        expect(inside?.action).toBe("organization.updated");
        throw new Error("killed mid-way");
      }),
    ).rejects.toThrow("killed mid-way");
    // …and neither survives it.
    const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId));
    expect(org?.name).toBe("Acme");
    expect(await db.select().from(activity).where(eq(activity.requestId, "tx-test"))).toEqual([]);

    // The same code path commits both when nothing fails.
    await db.transaction(async (tx) => {
      await tx.update(organizations).set({ name: "Renamed" }).where(eq(organizations.id, orgId));
      await recordActivity(
        tx,
        { ...actor, requestId: "tx-ok" },
        {
          orgId,
          action: "organization.updated",
          target: { type: "organization", id: orgId },
        },
      );
    });
    const [renamed] = await db.select().from(organizations).where(eq(organizations.id, orgId));
    expect(renamed?.name).toBe("Renamed");
    expect(await db.select().from(activity).where(eq(activity.requestId, "tx-ok"))).toHaveLength(1);
    await db.update(organizations).set({ name: "Acme" }).where(eq(organizations.id, orgId));
    await db.delete(activity).where(eq(activity.requestId, "tx-ok"));
  });
});
