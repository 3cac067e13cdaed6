import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, contacts } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { as, makeMember, makeOrg, type RbacOrg, type RbacUser } from "../helpers/rbac.js";

let t: TestApp;
let org: RbacOrg;
let other: RbacOrg;
let manager: RbacUser & { memberId: string };
let broadcaster: RbacUser & { memberId: string };
let operator: RbacUser & { memberId: string };
const db = () => t.database.db;
const base = (orgId = org.orgId) => `/api/v1/orgs/${orgId}/contacts`;

beforeAll(async () => {
  t = await createTestApp();
  org = await makeOrg(db());
  other = await makeOrg(db(), "Other");
  manager = await makeMember(db(), org.orgId, ["contact_manager"], ["Cora", "Manager"]);
  broadcaster = await makeMember(db(), org.orgId, ["broadcast_manager"], ["Bea", "Cast"]);
  operator = await makeMember(db(), org.orgId, ["operator"], ["Otto", "Perator"]);
});
afterAll(async () => {
  await t?.close();
});

const recordsOf = (requestId: string) => db().select().from(activity).where(eq(activity.requestId, requestId));

async function create(body: Record<string, unknown>, user: RbacUser = manager, orgId = org.orgId) {
  return as(t, user).post(base(orgId), body);
}

describe("create, read, edit, delete", () => {
  it("normalises the phone to E.164 and records the creation in the same request", async () => {
    const res = await create({ phone: "+1 (555) 010-0001", name: "Ada Lovelace", attributes: { city: "London" } });
    expect(res.statusCode).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({
      phone: "+15550100001",
      name: "Ada Lovelace",
      attributes: { city: "London" },
      tagIds: [],
      listIds: [],
      optedOut: false,
      createdByMemberId: manager.memberId,
      updatedByMemberId: manager.memberId,
    });
    const [rec] = await recordsOf(res.headers["x-request-id"] as string);
    expect(rec).toMatchObject({ action: "contact.created", targetId: c.id, targetLabel: "Ada Lovelace" });
    expect(rec!.changes).toMatchObject({ phone: { after: "+15550100001" } });

    const got = await as(t, broadcaster).get(`${base()}/${c.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json().phone).toBe("+15550100001");
  });

  it("reads a national number with the country given, and `00` as `+`", async () => {
    const a = await create({ phone: "600 123 456", country: "es" });
    expect(a.statusCode).toBe(201);
    expect(a.json().phone).toBe("+34600123456");
    const b = await create({ phone: "0044 7700 900123" });
    expect(b.statusCode).toBe(201);
    expect(b.json().phone).toBe("+447700900123");
  });

  it.each([
    ["+34 12", "too_short"],
    ["600123456", "invalid_country"],
    ["+34 600 123 456 789 01", "too_long"],
    ["call me", "not_a_number"],
    ["+1 555 010 0002 ext. 12", "extension"],
  ])("refuses %j with 400 invalid_phone (%s)", async (phone, reason) => {
    const res = await create({ phone });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_phone", reason, errors: [{ path: "phone" }] });
  });

  it("one phone per organization: 409 contact_exists names the existing contact; another org may have it", async () => {
    const first = await create({ phone: "+15550100003" });
    const again = await create({ phone: "+1 555 010 0003", name: "Dup" });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: "contact_exists", contactId: first.json().id });
    const elsewhere = await create({ phone: "+15550100003" }, other.owner, other.orgId);
    expect(elsewhere.statusCode).toBe(201);
  });

  it("concurrent creations of one phone: exactly one 201 and one 409", async () => {
    const results = await Promise.all([
      create({ phone: "+15550100004", name: "A" }),
      create({ phone: "+15550100004", name: "B" }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const rows = await db()
      .select()
      .from(contacts)
      .where(and(eq(contacts.orgId, org.orgId), eq(contacts.phone, "+15550100004")));
    expect(rows).toHaveLength(1);
  });

  it("edits: attributes merge (null removes), opt-out with time and source, phone change checked for duplicates", async () => {
    const c = (await create({ phone: "+15550100005", attributes: { a: "1", b: "2" } })).json();
    const res = await as(t, manager).patch(`${base()}/${c.id}`, {
      attributes: { b: null, c: "3" },
      optedOut: true,
      name: "Edited",
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      attributes: { a: "1", c: "3" },
      optedOut: true,
      optOutSource: "manual",
      name: "Edited",
    });
    expect(res.json().optedOutAt).not.toBeNull();
    const [rec] = await recordsOf(res.headers["x-request-id"] as string);
    expect(rec).toMatchObject({ action: "contact.updated" });
    expect(rec!.changes).toMatchObject({
      optedOut: { before: false, after: true },
      name: { before: null, after: "Edited" },
    });

    const clash = await as(t, manager).patch(`${base()}/${c.id}`, { phone: "+15550100003" });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe("contact_exists");

    const back = await as(t, manager).patch(`${base()}/${c.id}`, { optedOut: false });
    expect(back.json()).toMatchObject({ optedOut: false, optedOutAt: null, optOutSource: null });
  });

  it("bounds attributes: key pattern, value size, count (also after a merge)", async () => {
    expect((await create({ phone: "+15550100006", attributes: { "bad key": "x" } })).statusCode).toBe(400);
    expect((await create({ phone: "+15550100006", attributes: { k: "x".repeat(1001) } })).statusCode).toBe(400);
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    const c = await create({ phone: "+15550100006", attributes: fifty });
    expect(c.statusCode).toBe(201);
    const more = await as(t, manager).patch(`${base()}/${c.json().id}`, { attributes: { extra: "x" } });
    expect(more.statusCode).toBe(400);
    expect(more.json().code).toBe("too_many_attributes");
  });

  it("deletes with its record; another organization's contact answers 404 like a missing one", async () => {
    const c = (await create({ phone: "+15550100007" })).json();
    const foreign = (await create({ phone: "+15550100008" }, other.owner, other.orgId)).json();
    for (const method of ["get", "patch", "delete"] as const) {
      const res =
        method === "patch"
          ? await as(t, manager).patch(`${base()}/${foreign.id}`, { name: "x" })
          : await as(t, manager)[method](`${base()}/${foreign.id}`);
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe("contact_not_found");
    }
    const del = await as(t, manager).delete(`${base()}/${c.id}`);
    expect(del.statusCode).toBe(204);
    const [rec] = await recordsOf(del.headers["x-request-id"] as string);
    expect(rec).toMatchObject({ action: "contact.deleted", targetId: c.id });
    expect((await as(t, manager).get(`${base()}/${c.id}`)).statusCode).toBe(404);
  });

  it("permissions: a Broadcast Manager reads but cannot write; an Operator cannot read", async () => {
    expect((await as(t, broadcaster).get(base())).statusCode).toBe(200);
    const w = await create({ phone: "+15550100009" }, broadcaster);
    expect(w.statusCode).toBe(403);
    expect(w.json()).toMatchObject({ code: "permission_denied", missingPermission: "contacts:manage" });
    const r = await as(t, operator).get(base());
    expect(r.statusCode).toBe(403);
    expect(r.json().missingPermission).toBe("contacts:read");
  });

  it("hostile text: control and bidi characters refused, formulas and unicode stored as typed, long names bounded", async () => {
    expect((await create({ phone: "+15550100010", name: "Eve\u202Egnp.exe" })).statusCode).toBe(400);
    expect((await create({ phone: "+15550100010", name: "a\u0000b" })).statusCode).toBe(400);
    expect((await create({ phone: "+15550100010", name: "x".repeat(201) })).statusCode).toBe(400);
    const f = await create({
      phone: "+15550100010",
      name: '=HYPERLINK("http://evil")',
      attributes: { note: "@SUM(1)" },
    });
    expect(f.statusCode).toBe(201);
    expect(f.json().name).toBe('=HYPERLINK("http://evil")');
    const u = await create({ phone: "+15550100011", name: "  Zoë 李 👩‍💻  " });
    expect(u.json().name).toBe("Zoë 李 👩‍💻");
  });

  it("a removed member's session reaches nothing of the organization (404), even with a contact id", async () => {
    const c = (await create({ phone: "+15550100013" })).json();
    const leaving = await makeMember(db(), org.orgId, ["contact_manager"], ["Lee", "Ving"]);
    expect((await as(t, leaving).get(`${base()}/${c.id}`)).statusCode).toBe(200);
    const removed = await as(t, org.owner).delete(`/api/v1/orgs/${org.orgId}/members/${leaving.memberId}`);
    expect(removed.statusCode).toBe(204);
    for (const res of [
      await as(t, leaving).get(`${base()}/${c.id}`),
      await as(t, leaving).patch(`${base()}/${c.id}`, { name: "Mine now" }),
      await as(t, leaving).get(`${base()}/export?format=csv`),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe("org_not_found");
    }
  });

  it("refuses a JSON body past the server's body limit with 413", async () => {
    const res = await as(t, manager).post(base(), { phone: "+15550100014", name: "x".repeat(2 * 1024 * 1024) });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe("body_too_large");
  });

  it("tag and list ids must be the organization's", async () => {
    const foreignTag = (await as(t, other.owner).post(`/api/v1/orgs/${other.orgId}/tags`, { name: "theirs" })).json();
    const res = await create({ phone: "+15550100012", tagIds: [foreignTag.id] });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("unknown_tag");
  });
});

describe("list: search, filters, sorts, cursor pages", () => {
  let tagId: string;
  let listId: string;
  const orgP = () => `/api/v1/orgs/${org.orgId}`;
  beforeAll(async () => {
    tagId = (await as(t, manager).post(`${orgP()}/tags`, { name: "VIP", color: "#ff0000" })).json().id;
    listId = (await as(t, manager).post(`${orgP()}/lists`, { name: "Newsletter" })).json().id;
    const names = ["Marta Ruiz", "mario Rossi", "Martin Luther", "Zed", "Ángel 100%"];
    for (const [i, name] of names.entries()) {
      const res = await create({
        phone: `+44 7700 9001${String(i).padStart(2, "0")}`,
        name,
        tagIds: i % 2 === 0 ? [tagId] : [],
        listIds: i < 2 ? [listId] : [],
      });
      expect(res.statusCode).toBe(201);
    }
  });

  const names = (res: { json(): { items: { name: string | null }[] } }) => res.json().items.map((c) => c.name);

  it("name prefix, case-insensitive; % is literal", async () => {
    expect(names(await as(t, manager).get(`${base()}?q=mar&sort=name`))).toEqual([
      "mario Rossi",
      "Marta Ruiz",
      "Martin Luther",
    ]);
    expect(names(await as(t, manager).get(`${base()}?q=${encodeURIComponent("ángel 100%")}`))).toEqual(["Ángel 100%"]);
    expect(names(await as(t, manager).get(`${base()}?q=${encodeURIComponent("%")}`))).toEqual([]);
  });

  it("phone prefix with and without + (and with spaces)", async () => {
    const a = await as(t, manager).get(`${base()}?q=${encodeURIComponent("+44 7700 90010")}`);
    const b = await as(t, manager).get(`${base()}?q=447700900`);
    expect(a.json().items).toHaveLength(5);
    expect(b.json().items.length).toBeGreaterThanOrEqual(5);
    const c = await as(t, manager).get(`${base()}?q=${encodeURIComponent("+447700900104")}`);
    expect(names(c)).toEqual(["Ángel 100%"]);
  });

  it("filters by tag and list and carries tag and list ids", async () => {
    const tagged = await as(t, manager).get(`${base()}?tagId=${tagId}&sort=name`);
    expect(new Set(names(tagged))).toEqual(new Set(["Marta Ruiz", "Martin Luther", "Ángel 100%"]));
    for (const c of tagged.json().items) expect(c.tagIds).toEqual([tagId]);
    const listed = await as(t, manager).get(`${base()}?listId=${listId}&tagId=${tagId}`);
    expect(names(listed)).toEqual(["Marta Ruiz"]);
    expect(listed.json().items[0].listIds).toEqual([listId]);
  });

  it("cursor pages cover every row once in each sort; a cursor of another sort is 400", async () => {
    for (const sort of ["created", "name", "lastMessage"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url: string = `${base()}?sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
        const res = await as(t, manager).get(url);
        expect(res.statusCode).toBe(200);
        seen.push(...res.json().items.map((c: { id: string }) => c.id));
        cursor = res.json().nextCursor;
        pages++;
      } while (cursor && pages < 50);
      const total = await db().select({ id: contacts.id }).from(contacts).where(eq(contacts.orgId, org.orgId));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBe(total.length);
    }
    const first = (await as(t, manager).get(`${base()}?sort=name&limit=1`)).json().nextCursor;
    const wrong = await as(t, manager).get(`${base()}?sort=created&cursor=${first}`);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().code).toBe("invalid_cursor");
    const forged = await as(t, manager).get(
      `${base()}?cursor=${Buffer.from('{"s":"created","k":"2025-02-30 00:00:00+00","id":"00000000-0000-4000-8000-000000000000"}').toString("base64url")}`,
    );
    expect(forged.statusCode).toBe(400);
  });
});

describe("bulk actions", () => {
  const orgP = () => `/api/v1/orgs/${org.orgId}`;
  it("tag by selection and by filter, untag, list, delete: one record each with the count", async () => {
    const tag = (await as(t, manager).post(`${orgP()}/tags`, { name: "Bulk" })).json();
    const list = (await as(t, manager).post(`${orgP()}/lists`, { name: "Bulk list" })).json();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await create({ phone: `+1555020000${i}`, name: `Bulk ${i}` })).json().id);

    const sel = await as(t, manager).post(`${base()}/bulk`, {
      action: "add_tag",
      tagId: tag.id,
      contactIds: ids.slice(0, 2),
    });
    expect(sel.json()).toEqual({ action: "add_tag", matched: 2, touched: 2 });
    const byFilter = await as(t, manager).post(`${base()}/bulk`, {
      action: "add_tag",
      tagId: tag.id,
      filter: { q: "bulk " },
    });
    expect(byFilter.json()).toEqual({ action: "add_tag", matched: 4, touched: 2 });
    const records = await recordsOf(byFilter.headers["x-request-id"] as string);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ action: "contact.bulk_add_tag", targetLabel: "2 contacts" });
    expect(records[0]!.changes).toMatchObject({ count: { after: 2 }, tag: { after: { id: tag.id, name: "Bulk" } } });

    const toList = await as(t, manager).post(`${base()}/bulk`, {
      action: "add_to_list",
      listId: list.id,
      filter: { tagId: tag.id },
    });
    expect(toList.json().touched).toBe(4);
    const offList = await as(t, manager).post(`${base()}/bulk`, {
      action: "remove_from_list",
      listId: list.id,
      contactIds: [ids[0]],
    });
    expect(offList.json().touched).toBe(1);
    const untag = await as(t, manager).post(`${base()}/bulk`, { action: "remove_tag", tagId: tag.id, contactIds: ids });
    expect(untag.json().touched).toBe(4);

    // Another organization's ids are not touched.
    const foreign = (await create({ phone: "+15550200009" }, other.owner, other.orgId)).json();
    const del = await as(t, manager).post(`${base()}/bulk`, { action: "delete", contactIds: [...ids, foreign.id] });
    expect(del.json()).toEqual({ action: "delete", matched: 4, touched: 4 });
    expect((await as(t, other.owner).get(`/api/v1/orgs/${other.orgId}/contacts/${foreign.id}`)).statusCode).toBe(200);
  });

  it("refuses a selection and a filter together, a missing tag, another org's tag (404)", async () => {
    const both = await as(t, manager).post(`${base()}/bulk`, {
      action: "delete",
      contactIds: [org.ownerMemberId],
      filter: {},
    });
    expect(both.statusCode).toBe(400);
    const noTag = await as(t, manager).post(`${base()}/bulk`, { action: "add_tag", filter: {} });
    expect(noTag.statusCode).toBe(400);
    const foreignTag = (await as(t, other.owner).post(`/api/v1/orgs/${other.orgId}/tags`, { name: "x" })).json();
    const res = await as(t, manager).post(`${base()}/bulk`, { action: "add_tag", tagId: foreignTag.id, filter: {} });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe("tag_not_found");
    const tooMany = await as(t, manager).post(`${base()}/bulk`, {
      action: "delete",
      contactIds: Array.from({ length: 1001 }, () => org.ownerMemberId),
    });
    expect(tooMany.statusCode).toBe(400);
  });
});
