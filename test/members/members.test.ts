import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, memberships, users } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp, type TestClient, uniqueEmail } from "../helpers/app.js";
import { memberWith, orgWithOwner, person } from "../helpers/orgs.js";
import { insertCustomRole, rolesOfMember } from "../helpers/rbac.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface MemberRow {
  memberId: string;
  name: string;
  email: string;
  pictureUrl: string | null;
  roleIds: string[];
  isOwner: boolean;
  twoFactorEnabled: boolean;
  joinedAt: string;
  lastActiveAt: string | null;
}

const DAY = 86_400_000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY);

const recordsOf = (orgId: string, action: string) =>
  t.database.db
    .select()
    .from(activity)
    .where(and(eq(activity.orgId, orgId), eq(activity.action, action)))
    .orderBy(activity.id);

async function setSeen(orgId: string, memberId: string, joinedAt: Date, lastActiveAt: Date | null) {
  await t.database.db
    .update(memberships)
    .set({ joinedAt, lastActiveAt })
    .where(and(eq(memberships.orgId, orgId), eq(memberships.id, memberId)));
}

async function list(
  client: TestClient,
  orgId: string,
  query = "",
): Promise<{ items: MemberRow[]; nextCursor: string | null }> {
  const res = await client.get(`/api/v1/orgs/${orgId}/members${query ? `?${query}` : ""}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Every page of a listing, following nextCursor to the end. */
async function walk(client: TestClient, orgId: string, query: string, limit: number) {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await list(
      client,
      orgId,
      `${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((m) => m.memberId));
    cursor = page.nextCursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

/**
 * A team of 12 with known names, emails, roles and activity dates (owner included). Two pairs
 * share a name or a joining instant, so the id tie-breaker of the cursor is exercised.
 */
async function team() {
  const { orgId, owner, ownerMemberId } = await orgWithOwner(t, "Listing");
  const tag = uniqueEmail("x").split("@")[0]!.replace(/\./g, "");
  let n = 0;
  const add = async (
    firstName: string,
    lastName: string,
    roleIds: string[],
    joined: Date,
    lastActive: Date | null,
    over: { twoFactor?: boolean } = {},
  ) => {
    const m = await memberWith(t, orgId, roleIds, {
      firstName,
      lastName,
      email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}.${tag}${n++}@${lastName === "Vendor" ? "partner" : "acme"}.test`,
      ...over,
    });
    await setSeen(orgId, m.memberId, joined, lastActive);
    return m;
  };
  const sameJoin = daysAgo(30);
  const people = {
    amy: await add("Amy", "Adams", ["administrator"], daysAgo(400), daysAgo(1), { twoFactor: true }),
    ben: await add("Ben", "Baker", ["operator"], daysAgo(20), daysAgo(2)),
    cara: await add("Cara", "Cole", ["operator", "template_manager"], sameJoin, daysAgo(3)),
    dan: await add("Dan", "Diaz", ["chat_manager"], sameJoin, null),
    eve: await add("Eve", "Evans", [], daysAgo(200), null),
    finn: await add("Finn", "Vendor", ["operator"], daysAgo(150), daysAgo(100)),
    gus: await add("Gus", "Green", ["contact_manager"], daysAgo(5), daysAgo(4)),
    sam1: await add("Sam", "Same", ["operator"], daysAgo(8), daysAgo(6)),
    sam2: await add("Sam", "Same", [], daysAgo(8), daysAgo(6)),
    zoe: await add("Zoe", "Zimmer", ["broadcast_manager"], daysAgo(3), daysAgo(5)),
    hal: await add("Hal", "Hill", ["automation_manager"], daysAgo(60), daysAgo(61)),
  };
  await t.database.db
    .update(users)
    .set({ pictureUrl: "https://cdn.example.com/amy.png" })
    .where(eq(users.id, people.amy.id));
  return { orgId, owner, ownerMemberId, people, tag };
}

let T: Awaited<ReturnType<typeof team>>;
beforeAll(async () => {
  T = await team();
});

describe("listing members", () => {
  it("shows each member's name, email, picture, roles, owner flag, 2FA, joined and last active", async () => {
    const { items } = await list(T.owner.client, T.orgId, "limit=100");
    expect(items).toHaveLength(12);
    const amy = items.find((m) => m.memberId === T.people.amy.memberId)!;
    expect(amy).toMatchObject({
      name: "Amy Adams",
      email: T.people.amy.email,
      pictureUrl: "https://cdn.example.com/amy.png",
      roleIds: ["administrator"],
      isOwner: false,
      twoFactorEnabled: true,
    });
    expect(Date.parse(amy.joinedAt)).toBeCloseTo(daysAgo(400).getTime(), -5);
    expect(Date.parse(amy.lastActiveAt!)).toBeCloseTo(daysAgo(1).getTime(), -5);
    const cara = items.find((m) => m.memberId === T.people.cara.memberId)!;
    expect(cara).toMatchObject({
      roleIds: ["operator", "template_manager"],
      twoFactorEnabled: false,
      pictureUrl: null,
    });
    const owner = items.find((m) => m.isOwner)!;
    expect(owner).toMatchObject({ memberId: T.ownerMemberId, name: "Olive Owner", email: T.owner.email });
    expect(items.find((m) => m.memberId === T.people.eve.memberId)!.lastActiveAt).toBeNull();
  });

  it("searches by name and by email, case-insensitively, with wildcards taken literally", async () => {
    const byName = await list(T.owner.client, T.orgId, "q=cara%20CO");
    expect(byName.items.map((m) => m.memberId)).toEqual([T.people.cara.memberId]);
    const byLast = await list(T.owner.client, T.orgId, "q=same");
    expect(byLast.items.map((m) => m.memberId).sort()).toEqual([T.people.sam1.memberId, T.people.sam2.memberId].sort());
    const byDomain = await list(T.owner.client, T.orgId, "q=PARTNER.test");
    expect(byDomain.items.map((m) => m.memberId)).toEqual([T.people.finn.memberId]);
    const byLocalPart = await list(T.owner.client, T.orgId, `q=${encodeURIComponent(`zoe.zimmer.${T.tag}`)}`);
    expect(byLocalPart.items.map((m) => m.memberId)).toEqual([T.people.zoe.memberId]);
    // `%` and `_` would match everything if they reached LIKE unescaped.
    expect((await list(T.owner.client, T.orgId, "q=%25")).items).toEqual([]);
    expect((await list(T.owner.client, T.orgId, "q=_")).items).toEqual([]);
  });

  it("filters by role and by status", async () => {
    const operators = await list(T.owner.client, T.orgId, "roleId=operator");
    expect(operators.items.map((m) => m.memberId).sort()).toEqual(
      [T.people.ben.memberId, T.people.cara.memberId, T.people.finn.memberId, T.people.sam1.memberId].sort(),
    );
    expect(operators.items.every((m) => m.roleIds.includes("operator"))).toBe(true);
    const inactive = await list(T.owner.client, T.orgId, "status=inactive&limit=100");
    // Not seen for 90 days: Eve joined 200 days ago and never came back, Finn was last seen 100 days ago.
    expect(inactive.items.map((m) => m.memberId).sort()).toEqual(
      [T.people.eve.memberId, T.people.finn.memberId].sort(),
    );
    const active = await list(T.owner.client, T.orgId, "status=active&limit=100");
    expect(active.items).toHaveLength(10);
    expect(active.items.map((m) => m.memberId)).not.toContain(T.people.eve.memberId);
    const both = await list(T.owner.client, T.orgId, "status=active&roleId=operator&q=a");
    expect(both.items.map((m) => m.memberId).sort()).toEqual(
      [T.people.ben.memberId, T.people.cara.memberId, T.people.sam1.memberId].sort(),
    );
    expect((await list(T.owner.client, T.orgId, "roleId=no_such_role")).items).toEqual([]);
  });

  it("filters by 2FA status (issue 18), alone and with other filters; refuses other values", async () => {
    const on = await list(T.owner.client, T.orgId, "twoFactor=on&limit=100");
    expect(on.items.map((m) => m.memberId)).toEqual([T.people.amy.memberId]);
    expect(on.items.every((m) => m.twoFactorEnabled)).toBe(true);
    const off = await list(T.owner.client, T.orgId, "twoFactor=off&limit=100");
    expect(off.items).toHaveLength(11);
    expect(off.items.some((m) => m.twoFactorEnabled)).toBe(false);
    expect((await list(T.owner.client, T.orgId, "twoFactor=on&roleId=operator")).items).toEqual([]);
    const offOperators = await list(T.owner.client, T.orgId, "twoFactor=off&roleId=operator&sort=joined");
    expect(offOperators.items).toHaveLength(4);
    const bad = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members?twoFactor=maybe`);
    expect(bad.statusCode).toBe(400);
  });

  it("sorts by name, by joined (newest first) and by last active (never-seen last)", async () => {
    const byName = (await list(T.owner.client, T.orgId, "sort=name&limit=100")).items;
    const names = byName.map((m) => m.name.toLowerCase());
    expect(names).toEqual([...names].sort());
    expect(byName[0]!.name).toBe("Amy Adams");
    expect(byName.at(-1)!.name).toBe("Zoe Zimmer");

    const byJoined = (await list(T.owner.client, T.orgId, "sort=joined&limit=100")).items;
    const joined = byJoined.map((m) => Date.parse(m.joinedAt));
    expect(joined).toEqual([...joined].sort((a, b) => b - a));
    expect(byJoined[0]!.memberId).toBe(T.ownerMemberId);
    expect(byJoined.at(-1)!.memberId).toBe(T.people.amy.memberId);

    const byActive = (await list(T.owner.client, T.orgId, "sort=lastActive&limit=100")).items;
    // The owner's own requests mark them active just now.
    expect(byActive[0]!.memberId).toBe(T.ownerMemberId);
    expect(byActive.slice(1, 4).map((m) => m.memberId)).toEqual([
      T.people.amy.memberId,
      T.people.ben.memberId,
      T.people.cara.memberId,
    ]);
    expect(
      byActive
        .slice(-2)
        .map((m) => m.memberId)
        .sort(),
    ).toEqual([T.people.dan.memberId, T.people.eve.memberId].sort());
    const seen = byActive.filter((m) => m.lastActiveAt).map((m) => Date.parse(m.lastActiveAt!));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it.each(["name", "joined", "lastActive"])("walks every page sorted by %s: no duplicates, no gaps", async (sort) => {
    const all = (await list(T.owner.client, T.orgId, `sort=${sort}&limit=100`)).items.map((m) => m.memberId);
    for (const limit of [1, 3, 5]) {
      const { ids, pages } = await walk(T.owner.client, T.orgId, `sort=${sort}`, limit);
      expect(ids).toEqual(all);
      expect(new Set(ids).size).toBe(12);
      expect(pages).toBe(Math.ceil(12 / limit));
    }
    const filtered = await walk(T.owner.client, T.orgId, `sort=${sort}&roleId=operator`, 1);
    expect(filtered.ids.sort()).toEqual(
      [T.people.ben.memberId, T.people.cara.memberId, T.people.finn.memberId, T.people.sam1.memberId].sort(),
    );
  });

  it("refuses bad cursors and bad queries with 400, including a cursor of another sort", async () => {
    const first = await list(T.owner.client, T.orgId, "sort=name&limit=2");
    const reused = await T.owner.client.get(
      `/api/v1/orgs/${T.orgId}/members?sort=joined&cursor=${encodeURIComponent(first.nextCursor!)}`,
    );
    expect(reused.statusCode).toBe(400);
    expect(reused.json().code).toBe("invalid_cursor");
    const forged = Buffer.from(
      JSON.stringify({ s: "joined", k: "2024-02-30 10:00:00+00", id: T.ownerMemberId }),
    ).toString("base64url");
    const bad = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members?sort=joined&cursor=${forged}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.headers["content-type"]).toContain("application/problem+json");
    expect(bad.json().code).toBe("invalid_cursor");
    for (const q of ["cursor=garbage", "limit=0", "limit=101", "sort=age", "status=gone", "roleId=bad%20id"]) {
      const res = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members?${q}`);
      expect(res.statusCode, q).toBe(400);
    }
    const nul = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members?q=a%00b`);
    expect(nul.statusCode).toBe(400);
  });

  it("needs members:read (403 naming it); chat managers have it", async () => {
    const denied = await T.people.ben.client.get(`/api/v1/orgs/${T.orgId}/members`);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "members:read" });
    expect((await T.people.dan.client.get(`/api/v1/orgs/${T.orgId}/members`)).statusCode).toBe(200);
    const outsider = await person(t);
    const theirs = await outsider.client.get(`/api/v1/orgs/${T.orgId}/members`);
    expect(theirs.statusCode).toBe(404);
    expect(theirs.json().code).toBe("org_not_found");
  });
});

describe("exporting the member list (issue 18)", () => {
  it("answers CSV with named roles and formula-safe cells, honours the filters, and is recorded", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Export");
    const evil = await memberWith(t, orgId, ["operator", "template_manager"], {
      firstName: "=HYPERLINK(1)",
      lastName: "Evil",
    });
    await memberWith(t, orgId, [], { firstName: "Quiet", lastName: "One", twoFactor: true });
    const res = await owner.client.get(`/api/v1/orgs/${orgId}/members/export`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/^attachment; filename="members-[\dT-]+\.csv"$/);
    const lines = res.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe("name,email,roles,owner,two_factor,joined_at,last_active_at");
    expect(lines).toHaveLength(4); // header, owner, two members
    const evilLine = lines.find((l) => l.includes(evil.email))!;
    expect(evilLine.startsWith("'=HYPERLINK(1) Evil,")).toBe(true);
    expect(evilLine).toMatch(/"(Operator; Template Manager|Template Manager; Operator)"/);
    expect(evilLine).not.toContain("template_manager");
    expect(lines.find((l) => l.startsWith("Quiet One,"))).toContain(",no,on,");

    const onlyOn = await owner.client.get(`/api/v1/orgs/${orgId}/members/export?twoFactor=on`);
    expect(onlyOn.body.trimEnd().split("\r\n")).toHaveLength(2);

    const records = await recordsOf(orgId, "member.list_exported");
    expect(records).toHaveLength(2);
    const filtered = records.find((r) => JSON.stringify(r.changes).includes("twoFactor"));
    expect(filtered?.changes).toEqual({ filters: { after: { twoFactor: "on", sort: "name" } } });
  });

  it("needs audit:read as well as members:read", async () => {
    const denied = await T.people.dan.client.get(`/api/v1/orgs/${T.orgId}/members/export`);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "audit:read" });
    expect((await T.people.amy.client.get(`/api/v1/orgs/${T.orgId}/members/export`)).statusCode).toBe(200);
    const outsider = await person(t);
    expect((await outsider.client.get(`/api/v1/orgs/${T.orgId}/members/export`)).statusCode).toBe(404);
  });
});

describe("reading one member", () => {
  it("answers the member, 404 for another organization's member and 400 for a bad UUID", async () => {
    const res = await T.people.dan.client.get(`/api/v1/orgs/${T.orgId}/members/${T.people.cara.memberId}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      memberId: T.people.cara.memberId,
      userId: T.people.cara.id,
      firstName: "Cara",
      lastName: "Cole",
      name: "Cara Cole",
      roleIds: ["operator", "template_manager"],
      isOwner: false,
    });
    const other = await orgWithOwner(t, "Elsewhere");
    const stranger = await memberWith(t, other.orgId, ["operator"]);
    const cross = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members/${stranger.memberId}`);
    const missing = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members/00000000-0000-4000-8000-000000000000`);
    expect(cross.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(cross.json().code).toBe("member_not_found");
    expect(cross.json().code).toBe(missing.json().code);
    const badId = await T.owner.client.get(`/api/v1/orgs/${T.orgId}/members/not-a-uuid`);
    expect(badId.statusCode).toBe(400);
    expect(badId.headers["content-type"]).toContain("application/problem+json");
    expect((await T.owner.client.get("/api/v1/orgs/nope/members/also-nope")).statusCode).toBe(400);
  });
});

describe("editing a member", () => {
  it("changes details and replaces the role set, in force on the member's next request, recorded", async () => {
    const { orgId } = await orgWithOwner(t, "Editing");
    const admin = await memberWith(t, orgId, ["administrator"], { firstName: "Ada", lastName: "Admin" });
    const op = await memberWith(t, orgId, ["operator"], { firstName: "Otto", lastName: "Op" });
    const url = `/api/v1/orgs/${orgId}/members/${op.memberId}`;
    expect((await op.client.get(`/api/v1/orgs/${orgId}/roles`)).statusCode).toBe(403);

    const res = await admin.client.patch(url, {
      firstName: " Otto ",
      lastName: "Operator",
      roleIds: ["template_manager", "contact_manager", "template_manager"],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      name: "Otto Operator",
      lastName: "Operator",
      roleIds: ["contact_manager", "template_manager"],
    });
    expect(await rolesOfMember(t.database.db, orgId, op.memberId)).toEqual(["contact_manager", "template_manager"]);
    const me = (await op.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    expect(me.permissions).toEqual(expect.arrayContaining(["templates:manage", "contacts:import_export"]));
    expect(me.permissions).not.toContain("chats:reply");

    const [updated] = await recordsOf(orgId, "member.updated");
    expect(updated).toMatchObject({ actorId: admin.id, targetType: "member", targetId: op.memberId });
    expect(updated!.changes).toEqual({
      lastName: { before: "Op", after: "Operator" },
      roleIds: { before: ["operator"], after: ["contact_manager", "template_manager"] },
    });

    const onlyRoles = await admin.client.patch(url, { roleIds: [] });
    expect(onlyRoles.json().roleIds).toEqual([]);
    // The answer is the member as reading them gives it: every field, timestamps included (to the
    // millisecond; both drivers), after a sign-in made lastActiveAt non-null.
    await setSeen(orgId, op.memberId, new Date("2025-01-02T03:04:05.678Z"), new Date("2026-11-30T12:00:00.123Z"));
    const seen = await admin.client.patch(url, { roleIds: ["operator"] });
    expect(seen.json()).toEqual((await admin.client.get(url)).json());
    expect(seen.json()).toMatchObject({
      joinedAt: "2025-01-02T03:04:05.678Z",
      lastActiveAt: "2026-11-30T12:00:00.123Z",
    });
    await admin.client.patch(url, { roleIds: [] });
    const [changed] = await recordsOf(orgId, "member.roles_changed");
    expect(changed!.changes).toEqual({ roleIds: { before: ["contact_manager", "template_manager"], after: [] } });
    expect((await op.client.get(`/api/v1/orgs/${orgId}/me`)).json().permissions).toEqual([]);

    // The same values again: nothing changes, nothing is recorded.
    expect((await admin.client.patch(url, { firstName: "Otto", roleIds: [] })).statusCode).toBe(200);
    expect(await recordsOf(orgId, "member.updated")).toHaveLength(1);
    expect(await recordsOf(orgId, "member.roles_changed")).toHaveLength(3);
  });

  it("refuses bad bodies with field errors and unknown roles with 400 unknown_role", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const op = await memberWith(t, orgId, ["operator"]);
    const url = `/api/v1/orgs/${orgId}/members/${op.memberId}`;
    const empty = await owner.client.patch(url, {});
    expect(empty.statusCode).toBe(400);
    const blank = await owner.client.patch(url, { firstName: "  ", isOwner: true });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().code).toBe("validation_failed");
    // NUL cannot be stored in PostgreSQL text: without the schema check this was a 500.
    const nul = await owner.client.patch(url, { firstName: "A\u0000B" });
    expect(nul.statusCode).toBe(400);
    expect(nul.json().errors.map((e: { path: string }) => e.path)).toEqual(["firstName"]);
    const unknown = await owner.client.patch(url, { roleIds: ["operator", "ghost"] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: "unknown_role", errors: [{ path: "roleIds.1" }] });
    const other = await orgWithOwner(t, "Other roles");
    const foreignRole = await insertCustomRole(t.database.db, other.orgId, ["chats:reply"]);
    expect((await owner.client.patch(url, { roleIds: [foreignRole] })).json().code).toBe("unknown_role");
    expect(await rolesOfMember(t.database.db, orgId, op.memberId)).toEqual(["operator"]);
  });

  it("refuses roles with permissions the actor lacks, and changing a member who outranks the actor", async () => {
    const { orgId } = await orgWithOwner(t);
    const teamLead = await insertCustomRole(t.database.db, orgId, ["members:read", "members:update", "chats:read_all"]);
    const lead = await memberWith(t, orgId, [teamLead, "operator"]);
    const op = await memberWith(t, orgId, ["operator"]);
    const admin = await memberWith(t, orgId, ["administrator"]);
    const up = await lead.client.patch(`/api/v1/orgs/${orgId}/members/${op.memberId}`, {
      roleIds: ["operator", "template_manager"],
    });
    expect(up.statusCode).toBe(403);
    expect(up.json().code).toBe("permission_escalation");
    expect(up.json().missingPermissions).toEqual(expect.arrayContaining(["templates:read", "templates:manage"]));
    const demote = await lead.client.patch(`/api/v1/orgs/${orgId}/members/${admin.memberId}`, { roleIds: [] });
    expect(demote.statusCode).toBe(403);
    expect(demote.json().code).toBe("permission_escalation");
    expect(await rolesOfMember(t.database.db, orgId, admin.memberId)).toEqual(["administrator"]);
    // Renaming counts as changing: an Administrator's name is not the lead's to edit either.
    const adminName = (await admin.client.get(`/api/v1/orgs/${orgId}/me`)).json().firstName;
    const rename = await lead.client.patch(`/api/v1/orgs/${orgId}/members/${admin.memberId}`, { firstName: "Mallory" });
    expect(rename.statusCode).toBe(403);
    expect(rename.json().code).toBe("permission_escalation");
    expect(adminName).toEqual(expect.any(String));
    expect((await admin.client.get(`/api/v1/orgs/${orgId}/me`)).json().firstName).toBe(adminName);
    const renameOp = await lead.client.patch(`/api/v1/orgs/${orgId}/members/${op.memberId}`, { firstName: "Opal" });
    expect(renameOp.statusCode).toBe(200);
    expect(renameOp.json().firstName).toBe("Opal");
    // Within the lead's own permissions it works.
    const ok = await lead.client.patch(`/api/v1/orgs/${orgId}/members/${op.memberId}`, { roleIds: [teamLead] });
    expect(ok.statusCode).toBe(200);
  });

  it("nobody edits the owner, not even the owner; a member cannot change their own roles", async () => {
    const { orgId, owner, ownerMemberId } = await orgWithOwner(t);
    const admin = await memberWith(t, orgId, ["administrator"]);
    for (const [who, body] of [
      [admin, { firstName: "Evil" }],
      [admin, { roleIds: ["operator"] }],
      [owner, { roleIds: ["administrator"] }],
    ] as const) {
      const res = await who.client.patch(`/api/v1/orgs/${orgId}/members/${ownerMemberId}`, body);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe("owner_protected");
    }
    const own = await admin.client.patch(`/api/v1/orgs/${orgId}/members/${admin.memberId}`, { roleIds: [] });
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe("cannot_change_own_roles");
    expect(await rolesOfMember(t.database.db, orgId, admin.memberId)).toEqual(["administrator"]);
    // Their own name is not a role change.
    const name = await admin.client.patch(`/api/v1/orgs/${orgId}/members/${admin.memberId}`, { lastName: "Renamed" });
    expect(name.statusCode).toBe(200);
  });

  it("needs members:update, and cannot reach another organization's member", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const reader = await memberWith(t, orgId, ["chat_manager"]);
    const op = await memberWith(t, orgId, ["operator"]);
    const denied = await reader.client.patch(`/api/v1/orgs/${orgId}/members/${op.memberId}`, { firstName: "X" });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "members:update" });
    const other = await orgWithOwner(t, "Far away");
    const stranger = await memberWith(t, other.orgId, ["operator"]);
    const cross = await owner.client.patch(`/api/v1/orgs/${orgId}/members/${stranger.memberId}`, { roleIds: [] });
    expect(cross.statusCode).toBe(404);
    expect(cross.json().code).toBe("member_not_found");
    expect(await rolesOfMember(t.database.db, other.orgId, stranger.memberId)).toEqual(["operator"]);
    expect((await owner.client.patch(`/api/v1/orgs/${orgId}/members/123`, { firstName: "X" })).statusCode).toBe(400);
  });
});

describe("removing a member", () => {
  it("ends access on the very next request and records the removal", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Removal");
    const cm = await memberWith(t, orgId, ["chat_manager"], { firstName: "Rita", lastName: "Removed" });
    expect((await cm.client.get(`/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
    const res = await owner.client.delete(`/api/v1/orgs/${orgId}/members/${cm.memberId}`);
    expect(res.statusCode).toBe(204);
    const next = await cm.client.get(`/api/v1/orgs/${orgId}/members`);
    expect(next.statusCode).toBe(404);
    expect(next.json().code).toBe("org_not_found");
    expect((await cm.client.get(`/api/v1/orgs/${orgId}`)).statusCode).toBe(404);
    const ids = (await list(owner.client, orgId, "limit=100")).items.map((m) => m.memberId);
    expect(ids).not.toContain(cm.memberId);
    const [rec] = await recordsOf(orgId, "member.removed");
    expect(rec).toMatchObject({ actorId: owner.id, targetId: cm.memberId, targetLabel: "Rita Removed" });
    expect(rec!.changes).toMatchObject({ roleIds: { before: ["chat_manager"] } });
    const again = await owner.client.delete(`/api/v1/orgs/${orgId}/members/${cm.memberId}`);
    expect(again.statusCode).toBe(404);
  });

  it("guards: never the owner, not oneself, not someone who outranks you, needs members:remove", async () => {
    const { orgId, ownerMemberId } = await orgWithOwner(t);
    const admin = await memberWith(t, orgId, ["administrator"]);
    const remover = await insertCustomRole(t.database.db, orgId, [
      "members:read",
      "members:remove",
      "chats:read_assigned",
      "chats:reply",
    ]);
    const lead = await memberWith(t, orgId, [remover]);
    const op = await memberWith(t, orgId, ["operator"]);

    const ownerGone = await admin.client.delete(`/api/v1/orgs/${orgId}/members/${ownerMemberId}`);
    expect(ownerGone.statusCode).toBe(403);
    expect(ownerGone.json().code).toBe("owner_protected");
    const self = await admin.client.delete(`/api/v1/orgs/${orgId}/members/${admin.memberId}`);
    expect(self.statusCode).toBe(403);
    expect(self.json().code).toBe("cannot_remove_self");
    const up = await lead.client.delete(`/api/v1/orgs/${orgId}/members/${admin.memberId}`);
    expect(up.statusCode).toBe(403);
    expect(up.json().code).toBe("permission_escalation");
    const denied = await op.client.delete(`/api/v1/orgs/${orgId}/members/${lead.memberId}`);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "members:remove" });
    const bad = await admin.client.delete(`/api/v1/orgs/${orgId}/members/not-a-uuid`);
    expect(bad.statusCode).toBe(400);
    expect(await recordsOf(orgId, "member.removed")).toHaveLength(0);
    // An operator's permissions are within the lead's: that removal is allowed.
    expect((await lead.client.delete(`/api/v1/orgs/${orgId}/members/${op.memberId}`)).statusCode).toBe(204);
  });
});

describe("leaving", () => {
  it("the owner cannot leave; a member can, and loses access at once", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Leaving");
    const ownerLeaves = await owner.client.post(`/api/v1/orgs/${orgId}/leave`);
    expect(ownerLeaves.statusCode).toBe(403);
    expect(ownerLeaves.json().code).toBe("owner_cannot_leave");
    const cm = await memberWith(t, orgId, ["chat_manager"], { firstName: "Lea", lastName: "Leaver" });
    const left = await cm.client.post(`/api/v1/orgs/${orgId}/leave`);
    expect(left.statusCode).toBe(204);
    expect((await cm.client.get(`/api/v1/orgs/${orgId}/members`)).statusCode).toBe(404);
    expect((await cm.client.post(`/api/v1/orgs/${orgId}/leave`)).statusCode).toBe(404);
    const [rec] = await recordsOf(orgId, "member.left");
    expect(rec).toMatchObject({ actorId: cm.id, targetId: cm.memberId, targetLabel: "Lea Leaver" });
    expect(rec!.changes).toMatchObject({ roleIds: { before: ["chat_manager"] } });
    expect((await list(owner.client, orgId)).items.map((m) => m.memberId)).not.toContain(cm.memberId);
  });
});
