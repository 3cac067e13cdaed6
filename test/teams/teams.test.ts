import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, teamMembers } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { as, makeMember, makeOrg, type RbacOrg, type RbacUser } from "../helpers/rbac.js";

let t: TestApp;
let org: RbacOrg;
let other: RbacOrg;
let admin: RbacUser & { memberId: string };
let chatManager: RbacUser & { memberId: string };
let operator: RbacUser & { memberId: string };
let contactManager: RbacUser & { memberId: string };
const db = () => t.database.db;
const orgP = (orgId = org.orgId) => `/api/v1/orgs/${orgId}`;
const recordsOf = (requestId: string) => db().select().from(activity).where(eq(activity.requestId, requestId));

beforeAll(async () => {
  t = await createTestApp();
  org = await makeOrg(db());
  other = await makeOrg(db(), "Other");
  admin = await makeMember(db(), org.orgId, ["administrator"], ["Ad", "Min"]);
  chatManager = await makeMember(db(), org.orgId, ["chat_manager"], ["Chat", "Lead"]);
  operator = await makeMember(db(), org.orgId, ["operator"], ["Op", "One"]);
  contactManager = await makeMember(db(), org.orgId, ["contact_manager"], ["Cora", "Manager"]);
});
afterAll(async () => {
  await t?.close();
});

describe("teams", () => {
  it("create, read, edit, delete with records; names unique case-insensitively; members must be this org's", async () => {
    const res = await as(t, admin).post(`${orgP()}/teams`, {
      name: "Sales",
      description: "Closers",
      memberIds: [operator.memberId, chatManager.memberId, operator.memberId],
    });
    expect(res.statusCode).toBe(201);
    const team = res.json();
    expect(team).toMatchObject({ name: "Sales", memberCount: 2 });
    expect(team.memberIds).toEqual([operator.memberId, chatManager.memberId].sort());
    const [rec] = await recordsOf(res.headers["x-request-id"] as string);
    expect(rec).toMatchObject({ action: "team.created", targetId: team.id, targetLabel: "Sales" });

    const dup = await as(t, admin).post(`${orgP()}/teams`, { name: "  sales " });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe("team_name_taken");
    const foreign = await as(t, admin).post(`${orgP()}/teams`, { name: "X", memberIds: [other.ownerMemberId] });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json()).toMatchObject({ code: "unknown_member", errors: [{ path: "memberIds.0" }] });

    const edit = await as(t, admin).patch(`${orgP()}/teams/${team.id}`, { memberIds: [operator.memberId] });
    expect(edit.json()).toMatchObject({ memberIds: [operator.memberId], memberCount: 1 });
    const [editRec] = await recordsOf(edit.headers["x-request-id"] as string);
    expect(editRec!.changes).toMatchObject({ memberIds: { after: [operator.memberId] } });

    const list = await as(t, chatManager).get(`${orgP()}/teams`);
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((x: { name: string }) => x.name)).toContain("Sales");

    const del = await as(t, admin).delete(`${orgP()}/teams/${team.id}`);
    expect(del.statusCode).toBe(204);
    expect((await recordsOf(del.headers["x-request-id"] as string))[0]).toMatchObject({ action: "team.deleted" });
    expect((await as(t, admin).get(`${orgP()}/teams/${team.id}`)).statusCode).toBe(404);
  });

  it("permissions: reading needs members:read, managing members:update", async () => {
    const read = await as(t, operator).get(`${orgP()}/teams`);
    expect(read.statusCode).toBe(403);
    expect(read.json().missingPermission).toBe("members:read");
    const write = await as(t, chatManager).post(`${orgP()}/teams`, { name: "Nope" });
    expect(write.statusCode).toBe(403);
    expect(write.json().missingPermission).toBe("members:update");
  });

  it("another organization's team answers 404", async () => {
    const theirs = (await as(t, other.owner).post(`${orgP(other.orgId)}/teams`, { name: "Theirs" })).json();
    expect((await as(t, admin).get(`${orgP()}/teams/${theirs.id}`)).statusCode).toBe(404);
    expect((await as(t, admin).patch(`${orgP()}/teams/${theirs.id}`, { name: "Mine" })).statusCode).toBe(404);
    expect((await as(t, admin).delete(`${orgP()}/teams/${theirs.id}`)).statusCode).toBe(404);
  });

  it("GET /orgs/:orgId/me lists the caller's teams; the member list filters by team", async () => {
    const a = (await as(t, admin).post(`${orgP()}/teams`, { name: "Support", memberIds: [operator.memberId] })).json();
    const b = (
      await as(t, admin).post(`${orgP()}/teams`, { name: "billing", memberIds: [operator.memberId, admin.memberId] })
    ).json();
    const me = await as(t, operator).get(`${orgP()}/me`);
    expect(me.json().teams).toEqual([
      { id: b.id, name: "billing" },
      { id: a.id, name: "Support" },
    ]);
    const members = await as(t, admin).get(`${orgP()}/members?teamId=${b.id}`);
    expect(members.statusCode).toBe(200);
    expect(
      members
        .json()
        .items.map((m: { memberId: string }) => m.memberId)
        .sort(),
    ).toEqual([operator.memberId, admin.memberId].sort());
  });

  it("removing a member removes them from their teams", async () => {
    const leaving = await makeMember(db(), org.orgId, ["operator"], ["Lea", "Ving"]);
    const team = (await as(t, admin).post(`${orgP()}/teams`, { name: "Temp", memberIds: [leaving.memberId] })).json();
    const res = await as(t, org.owner).delete(`${orgP()}/members/${leaving.memberId}`);
    expect(res.statusCode).toBe(204);
    const rows = await db().select().from(teamMembers).where(eq(teamMembers.memberId, leaving.memberId));
    expect(rows).toEqual([]);
    expect((await as(t, admin).get(`${orgP()}/teams/${team.id}`)).json()).toMatchObject({
      memberIds: [],
      memberCount: 0,
    });
  });
});

describe("tags", () => {
  it("name unique case-insensitively, colour validated, team must be this org's; deleting the team keeps the tag", async () => {
    const team = (await as(t, admin).post(`${orgP()}/teams`, { name: "Tagged team" })).json();
    const res = await as(t, contactManager).post(`${orgP()}/tags`, {
      name: "Hot lead",
      color: "#22C55E",
      teamId: team.id,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: "Hot lead", color: "#22c55e", teamId: team.id });
    const [rec] = await recordsOf(res.headers["x-request-id"] as string);
    expect(rec).toMatchObject({ action: "tag.created", targetLabel: "Hot lead" });

    expect((await as(t, contactManager).post(`${orgP()}/tags`, { name: "HOT LEAD" })).json().code).toBe(
      "tag_name_taken",
    );
    expect((await as(t, contactManager).post(`${orgP()}/tags`, { name: "c", color: "red" })).statusCode).toBe(400);
    const theirTeam = (await as(t, other.owner).post(`${orgP(other.orgId)}/teams`, { name: "Their team" })).json();
    const foreign = await as(t, contactManager).post(`${orgP()}/tags`, { name: "f", teamId: theirTeam.id });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().code).toBe("unknown_team");

    const byTeam = await as(t, contactManager).get(`${orgP()}/tags?teamId=${team.id}`);
    expect(byTeam.json().items.map((x: { name: string }) => x.name)).toEqual(["Hot lead"]);

    await as(t, admin).delete(`${orgP()}/teams/${team.id}`);
    const after = await as(t, contactManager).get(`${orgP()}/tags/${res.json().id}`);
    expect(after.json()).toMatchObject({ name: "Hot lead", teamId: null });

    const edit = await as(t, contactManager).patch(`${orgP()}/tags/${res.json().id}`, { name: "Warm lead" });
    expect(edit.json().name).toBe("Warm lead");
    const del = await as(t, contactManager).delete(`${orgP()}/tags/${res.json().id}`);
    expect(del.statusCode).toBe(204);
    expect((await recordsOf(del.headers["x-request-id"] as string))[0]).toMatchObject({ action: "tag.deleted" });
  });

  it("another organization's tag or list answers 404 on every route", async () => {
    const tag = (await as(t, other.owner).post(`${orgP(other.orgId)}/tags`, { name: "Their tag" })).json();
    const list = (await as(t, other.owner).post(`${orgP(other.orgId)}/lists`, { name: "Their list" })).json();
    const c = as(t, contactManager);
    const answers = [
      await c.get(`${orgP()}/tags/${tag.id}`),
      await c.patch(`${orgP()}/tags/${tag.id}`, { name: "Mine" }),
      await c.delete(`${orgP()}/tags/${tag.id}`),
      await c.get(`${orgP()}/lists/${list.id}`),
      await c.patch(`${orgP()}/lists/${list.id}`, { name: "Mine" }),
      await c.delete(`${orgP()}/lists/${list.id}`),
      await c.delete(`${orgP()}/lists/${list.id}/contacts`, { contactIds: [list.id] }),
    ];
    expect(answers.map((r) => r.statusCode)).toEqual([404, 404, 404, 404, 404, 404, 404]);
    expect((await as(t, other.owner).get(`${orgP(other.orgId)}/tags/${tag.id}`)).json().name).toBe("Their tag");
  });

  it("concurrent creations of one name: one 201, one 409", async () => {
    const results = await Promise.all([
      as(t, contactManager).post(`${orgP()}/tags`, { name: "Race" }),
      as(t, contactManager).post(`${orgP()}/tags`, { name: "race" }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
  });

  it("a Broadcast Manager reads tags but cannot write them; an Operator cannot read them", async () => {
    const bm = await makeMember(db(), org.orgId, ["broadcast_manager"]);
    expect((await as(t, bm).get(`${orgP()}/tags`)).statusCode).toBe(200);
    expect((await as(t, bm).post(`${orgP()}/tags`, { name: "No" })).statusCode).toBe(403);
    expect((await as(t, operator).get(`${orgP()}/tags`)).statusCode).toBe(403);
  });
});

describe("lists", () => {
  it("static lists with counts; add and remove contacts (others' ids ignored), one record each", async () => {
    const list = (await as(t, contactManager).post(`${orgP()}/lists`, { name: "Spring promo" })).json();
    expect(list).toMatchObject({ name: "Spring promo", description: "", contactCount: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await as(t, contactManager).post(`${orgP()}/contacts`, { phone: `+1555060000${i}` })).json().id);
    }
    const foreign = (await as(t, other.owner).post(`${orgP(other.orgId)}/contacts`, { phone: "+15550600009" })).json();
    const add = await as(t, contactManager).post(`${orgP()}/lists/${list.id}/contacts`, {
      contactIds: [...ids, foreign.id],
    });
    expect(add.json()).toEqual({ listId: list.id, touched: 3, contactCount: 3 });
    const [rec] = await recordsOf(add.headers["x-request-id"] as string);
    expect(rec).toMatchObject({ action: "list.contacts_added", changes: { count: { after: 3 } } });
    const again = await as(t, contactManager).post(`${orgP()}/lists/${list.id}/contacts`, { contactIds: ids });
    expect(again.json().touched).toBe(0);
    const rm = await as(t, contactManager).delete(`${orgP()}/lists/${list.id}/contacts`, { contactIds: [ids[0]] });
    expect(rm.json()).toEqual({ listId: list.id, touched: 1, contactCount: 2 });
    const all = await as(t, contactManager).get(`${orgP()}/lists`);
    expect(all.json().items.find((l: { id: string }) => l.id === list.id).contactCount).toBe(2);
    const members = await as(t, contactManager).get(`${orgP()}/contacts?listId=${list.id}`);
    expect(members.json().items).toHaveLength(2);

    expect((await as(t, contactManager).post(`${orgP()}/lists`, { name: "spring PROMO" })).json().code).toBe(
      "list_name_taken",
    );
    const theirs = (await as(t, other.owner).post(`${orgP(other.orgId)}/lists`, { name: "Theirs" })).json();
    expect(
      (await as(t, contactManager).post(`${orgP()}/lists/${theirs.id}/contacts`, { contactIds: ids })).statusCode,
    ).toBe(404);
    const del = await as(t, contactManager).delete(`${orgP()}/lists/${list.id}`);
    expect(del.statusCode).toBe(204);
    expect((await as(t, contactManager).get(`${orgP()}/contacts/${ids[1]}`)).json().listIds).toEqual([]);
  });
});
