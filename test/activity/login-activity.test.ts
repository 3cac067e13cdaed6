import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addMember,
  clientAs,
  createOrg,
  createUser,
  daysAgo,
  insertLoginAttempt,
  type TestUser,
} from "../helpers/activity.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let owner: TestUser;
let alice: TestUser;
let bob: TestUser;
let stranger: TestUser;
let orgId: string;
let aliceMemberId: string;
let bobMemberId: string;
const T0 = Date.now() - 3_600_000;
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  owner = await createUser(db, { firstName: "Olive", lastName: "Owner" });
  alice = await createUser(db, { firstName: "Alice", lastName: "Agent" });
  bob = await createUser(db, { firstName: "Bob", lastName: "Builder" });
  stranger = await createUser(db, { firstName: "Sam", lastName: "Stranger" });
  ({ orgId } = await createOrg(db, owner));
  aliceMemberId = await addMember(db, orgId, alice, ["operator"], { joinedAt: daysAgo(10) });
  bobMemberId = await addMember(db, orgId, bob, [], { joinedAt: daysAgo(10) });

  await insertLoginAttempt(db, alice, { at: daysAgo(20), ip: "198.51.100.9" }); // before joining: not shown
  await insertLoginAttempt(db, alice, { at: at(1), ip: "198.51.100.1", userAgent: "Firefox" });
  await insertLoginAttempt(db, alice, { at: at(2), success: false, failureReason: "invalid_password" });
  await insertLoginAttempt(db, bob, { at: at(3), twoFactorUsed: true, method: "totp", ip: "203.0.113.7" });
  await insertLoginAttempt(db, alice, { at: at(4), success: false, failureReason: "invalid_2fa_code" });
  await insertLoginAttempt(db, bob, { at: at(5) });
  await insertLoginAttempt(db, stranger, { at: at(6) }); // not a member
  await insertLoginAttempt(db, null, { at: at(7), success: false, failureReason: "unknown_email" });
});
afterAll(async () => {
  await t?.close();
});

const url = (q = "") => `/api/v1/orgs/${orgId}/login-activity${q ? `?${q}` : ""}`;
type Item = { at: string; member: { memberId: string; name: string; email: string }; success: boolean };

describe("GET /orgs/:orgId/login-activity", () => {
  it("lists the members' sign-in attempts since they joined, newest first", async () => {
    const res = await clientAs(t, owner).get(url());
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Item[];
    expect(items.map((i) => [i.member.name, i.at])).toEqual([
      ["Bob Builder", at(5).toISOString()],
      ["Alice Agent", at(4).toISOString()],
      ["Bob Builder", at(3).toISOString()],
      ["Alice Agent", at(2).toISOString()],
      ["Alice Agent", at(1).toISOString()],
    ]);
    expect(items[2]).toMatchObject({
      member: { memberId: bobMemberId, name: "Bob Builder", email: bob.email },
      ip: "203.0.113.7",
      success: true,
      failureReason: null,
      method: "totp",
      twoFactorUsed: true,
    });
    expect(items[1]).toMatchObject({ success: false, failureReason: "invalid_2fa_code", twoFactorUsed: false });
    expect(items[4]).toMatchObject({ ip: "198.51.100.1", userAgent: "Firefox" });
  });

  it("filters by member, success and time", async () => {
    const c = clientAs(t, owner);
    const byAlice = (await c.get(url(`memberId=${aliceMemberId}`))).json().items as Item[];
    expect(byAlice.map((i) => i.at)).toEqual([at(4), at(2), at(1)].map((d) => d.toISOString()));
    const failed = (await c.get(url("success=false"))).json().items as Item[];
    expect(failed.map((i) => i.at)).toEqual([at(4), at(2)].map((d) => d.toISOString()));
    const ranged = (await c.get(url(`from=${at(2).toISOString()}&to=${at(4).toISOString()}`))).json().items as Item[];
    expect(ranged.map((i) => i.at)).toEqual([at(3), at(2)].map((d) => d.toISOString()));
    const okAlice = (await c.get(url(`memberId=${aliceMemberId}&success=true`))).json().items as Item[];
    expect(okAlice.map((i) => i.at)).toEqual([at(1).toISOString()]);
    // A member id of nobody here: empty, not an error.
    expect((await c.get(url("memberId=00000000-0000-4000-8000-000000000000"))).json().items).toEqual([]);
  });

  it("paginates with a cursor", async () => {
    const c = clientAs(t, owner);
    const p1 = (await c.get(url("limit=2"))).json();
    const p2 = (await c.get(url(`limit=2&cursor=${p1.nextCursor}`))).json();
    const p3 = (await c.get(url(`limit=2&cursor=${p2.nextCursor}`))).json();
    expect(p3.nextCursor).toBeNull();
    const all = [...p1.items, ...p2.items, ...p3.items].map((i: Item) => i.at);
    expect(all).toEqual([at(5), at(4), at(3), at(2), at(1)].map((d) => d.toISOString()));
  });

  it("rejects bad input and guards access", async () => {
    const c = clientAs(t, owner);
    for (const q of ["success=maybe", "memberId=x", "from=2025-13-01", "cursor=abc", "limit=1000"]) {
      expect((await c.get(url(q))).statusCode, q).toBe(400);
    }
    const denied = await clientAs(t, alice).get(url());
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe("permission_denied");
    expect((await clientAs(t, stranger).get(url())).statusCode).toBe(404);
  });
});
