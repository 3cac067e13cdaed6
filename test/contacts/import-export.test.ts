import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, contactImports, contactLists, contacts, tags } from "../../src/server/db/schema/index.js";
import { contactImportJob, runImport } from "../../src/server/modules/contacts/import.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { as, makeMember, makeOrg, type RbacOrg, type RbacUser } from "../helpers/rbac.js";

let t: TestApp;
let org: RbacOrg;
let manager: RbacUser & { memberId: string };
let broadcaster: RbacUser & { memberId: string };
const db = () => t.database.db;
const base = (orgId = org.orgId) => `/api/v1/orgs/${orgId}/contacts`;
const CSV = { "content-type": "text/csv" };

beforeAll(async () => {
  t = await createTestApp();
  org = await makeOrg(db());
  manager = await makeMember(db(), org.orgId, ["contact_manager"], ["Cora", "Manager"]);
  broadcaster = await makeMember(db(), org.orgId, ["broadcast_manager"], ["Bea", "Cast"]);
});
afterAll(async () => {
  await t?.close();
});

async function importCsv(text: string, user: RbacUser = manager, query = "") {
  return as(t, user).post(`${base()}/import${query}`, text, CSV);
}
async function drain() {
  return t.app.ctx.jobs.drain(contactImportJob);
}
async function progress(id: string) {
  const res = await as(t, manager).get(`${base()}/imports/${id}`);
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe("import: the header", () => {
  it.each([
    ["phone,name,colour\n+15550300001,A,red\n", "unknown_column", "colour"],
    ["phone,attr.bad key\n", "unknown_column", "attr.bad key"],
    ["name,tags\nA,x\n", "missing_column", "phone"],
    ["phone,Phone\n", "duplicate_column", "Phone"],
    ["\n\n", "invalid_csv", "empty"],
  ])("%j → 400 %s naming %s", async (text, code, named) => {
    const res = await importCsv(text);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe(code);
    expect(res.json().detail).toContain(named);
  });

  it("takes a text/csv body only (JSON: 400), needs contacts:import_export, refuses bodies past the limit (413)", async () => {
    const json = await as(t, manager).post(`${base()}/import`, { phone: "+1" });
    expect(json.statusCode).toBe(400);
    expect(json.json().code).toBe("validation_failed");
    const denied = await importCsv("phone\n+15550300001\n", broadcaster);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().missingPermission).toBe("contacts:import_export");
    const huge = await importCsv(`phone\n${"+15550300001\n".repeat(2_600_000)}`);
    expect(huge.statusCode).toBe(413);
  });
});

describe("import: the job", () => {
  it("202 at once; upserts (existing phones updated), creates or matches tags and lists case-insensitively, reports row errors", async () => {
    const existing = await as(t, manager).post(base(), {
      phone: "+15550300002",
      name: "Old name",
      attributes: { keep: "1" },
    });
    const vip = await as(t, manager).post(`/api/v1/orgs/${org.orgId}/tags`, { name: "VIP" });
    expect(vip.statusCode).toBe(201);
    const text = [
      "Phone,name,tags,lists,attr.city",
      "+1 555 030 0001,New One,vip;Fresh,Spring,Madrid",
      "+15550300002,,FRESH,,Paris",
      "not a phone,Bad,,,",
      '600 123 457,"Sánchez, Ana",,spring,',
      "+15550300003,=cmd|' /C calc'!A0,,,",
      "+15550300001,Dup Row,,,Sevilla",
      "+15550300004,x,,,,extra",
    ].join("\r\n");
    const res = await importCsv(text, manager, "?country=ES");
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ state: "queued" });
    const id = res.json().id;
    expect((await progress(id)).state).toBe("queued");
    // One at a time per organization.
    const second = await importCsv("phone\n+15550300009\n");
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ code: "import_in_progress", importId: id });

    expect(await drain()).toBe(1);
    const p = await progress(id);
    expect(p).toMatchObject({ state: "completed", total: 7, processed: 7, created: 3, updated: 2, failed: 2 });
    expect(p.errors.map((e: { row: number }) => e.row)).toEqual([3, 7]);
    expect(p.errors[0].message).toMatch(/phone/);
    // Each error has a code and its parameters (the web app translates them).
    expect(p.errors).toEqual([
      { row: 3, code: "phone_not_a_number", params: { value: "not a phone" }, message: expect.stringMatching(/phone/) },
      { row: 7, code: "row_field_count", params: { fields: 6, columns: 5 }, message: expect.any(String) },
    ]);
    expect(p.finishedAt).not.toBeNull();

    const [row] = await db().select({ csv: contactImports.csv }).from(contactImports).where(eq(contactImports.id, id));
    expect(row!.csv).toBeNull();

    const byPhone = async (phone: string) =>
      (await as(t, manager).get(`${base()}?q=${encodeURIComponent(phone)}`)).json().items[0];
    const one = await byPhone("+15550300001");
    expect(one).toMatchObject({ name: "Dup Row", attributes: { city: "Sevilla" } });
    expect(one.tagIds).toContain(vip.json().id);
    expect(one.tagIds).toHaveLength(2);
    const two = await byPhone("+15550300002");
    expect(two).toMatchObject({ id: existing.json().id, name: "Old name", attributes: { keep: "1", city: "Paris" } });
    const ana = await byPhone("+34600123457");
    expect(ana).toMatchObject({ name: "Sánchez, Ana" });
    expect(ana.listIds).toHaveLength(1);
    expect(ana.listIds).toEqual(one.listIds);
    const formula = await byPhone("+15550300003");
    expect(formula.name).toBe("=cmd|' /C calc'!A0");

    const orgTags = await db().select().from(tags).where(eq(tags.orgId, org.orgId));
    expect(orgTags.map((x) => x.name).sort()).toEqual(["Fresh", "VIP"]);
    // Tags carry their contact counts: the list, one tag, an edit's answer.
    const listed = (await as(t, manager).get(`/api/v1/orgs/${org.orgId}/tags`)).json().items;
    expect(listed.map((x: { name: string; contactCount: number }) => [x.name, x.contactCount])).toEqual([
      ["Fresh", 2],
      ["VIP", 1],
    ]);
    const vipRead = await as(t, manager).get(`/api/v1/orgs/${org.orgId}/tags/${vip.json().id}`);
    expect(vipRead.json().contactCount).toBe(1);
    const vipEdit = await as(t, manager).patch(`/api/v1/orgs/${org.orgId}/tags/${vip.json().id}`, { color: "#112233" });
    expect(vipEdit.statusCode).toBe(200);
    expect(vipEdit.json().contactCount).toBe(1);
    const records = await db()
      .select({ action: activity.action, label: activity.targetLabel })
      .from(activity)
      .where(eq(activity.orgId, org.orgId));
    const actions = records.map((r) => r.action);
    expect(actions).toContain("contact.import_started");
    expect(actions).toContain("contact.import_completed");
    expect(records.filter((r) => r.action === "tag.created").map((r) => r.label)).toContain("Fresh");
    expect(records.filter((r) => r.action === "list.created").map((r) => r.label)).toEqual(["Spring"]);

    // A second run of the same job changes nothing.
    expect(await runImport(db(), org.orgId, id)).toBe(false);
    expect(await progress(id)).toMatchObject({ created: 3, updated: 2, failed: 2 });
  });

  it("a run resumes after the rows already committed: none is imported twice", async () => {
    const lines = ["phone,name"];
    for (let i = 0; i < 25; i++) lines.push(`+1555040${String(i).padStart(4, "0")},Resume ${i}`);
    const res = await importCsv(lines.join("\n"));
    const id = res.json().id;
    // As if a worker had committed the first 10 rows and been killed: progress says 10 done.
    await db()
      .update(contactImports)
      .set({ state: "running", total: 25, processed: 10, created: 10 })
      .where(and(eq(contactImports.orgId, org.orgId), eq(contactImports.id, id)));
    // Two runs at once (a lease that expired): chunks are claimed under the import's row lock.
    await Promise.all([runImport(db(), org.orgId, id, 4), runImport(db(), org.orgId, id, 4)]);
    const p = await progress(id);
    expect(p).toMatchObject({ state: "completed", processed: 25, created: 25, updated: 0, failed: 0 });
    const imported = await db()
      .select({ name: contacts.name })
      .from(contacts)
      .where(and(eq(contacts.orgId, org.orgId)));
    const resumed = imported.filter((c) => c.name?.startsWith("Resume "));
    expect(resumed).toHaveLength(15); // rows 11..25; rows 1..10 were "committed" by the killed run
    await drain(); // the queued job finds the import completed
  });

  it("opted_out sets and clears opt-outs (never the customer's own); merged attributes and the tag and list limits are rechecked per row", async () => {
    const o = await makeOrg(db(), "Limits Co");
    const owner = o.owner;
    const url = `/api/v1/orgs/${o.orgId}/contacts`;
    const attrs = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
    const full = await as(t, owner).post(url, { phone: "+15550310001", attributes: attrs });
    expect(full.statusCode).toBe(201);
    const manual = await as(t, owner).post(url, { phone: "+15550310002", optedOut: true });
    expect(manual.json()).toMatchObject({ optedOut: true, optOutSource: "manual" });
    const customer = await as(t, owner).post(url, { phone: "+15550310003" });
    // The customer opted out themselves (as the WhatsApp channel records it).
    await db()
      .update(contacts)
      .set({ optedOutAt: new Date("2026-01-01T00:00:00Z"), optOutSource: "whatsapp" })
      .where(eq(contacts.id, customer.json().id));
    // 999 tags and 1,000 lists: room for one more tag, none for a list.
    await db()
      .insert(tags)
      .values(Array.from({ length: 999 }, (_, i) => ({ orgId: o.orgId, name: `T${i}` })));
    await db()
      .insert(contactLists)
      .values(Array.from({ length: 1000 }, (_, i) => ({ orgId: o.orgId, name: `L${i}` })));

    const text = [
      "phone,tags,lists,opted_out,attr.a1,attr.a2",
      "+15550310001,,,,x,y", // 49 + 2 attributes
      "+15550310004,NewT1,,yes,,", // the 1,000th tag
      "+15550310005,NewT2,,,,", // a 1,001st tag
      "+15550310006,,NewL,,,", // a 1,001st list
      "+15550310007,t5,l5,,,", // existing, matched case-insensitively
      "+15550310002,,,false,,", // clears the manual opt-out
      "+15550310003,,,no,,", // the customer's own opt-out stays
      "+15550310008,,,maybe,,",
    ].join("\n");
    const res = await as(t, owner).post(`${url}/import`, text, CSV);
    expect(res.statusCode).toBe(202);
    expect(await drain()).toBe(1);
    const p = (await as(t, owner).get(`${url}/imports/${res.json().id}`)).json();
    expect(p).toMatchObject({ state: "completed", total: 8, processed: 8, created: 2, updated: 2, failed: 4 });
    expect(p.errors.map((e: { row: number; code: string; params?: object }) => [e.row, e.code, e.params])).toEqual([
      [1, "too_many_attributes", { max: 50 }],
      [3, "tag_limit_reached", { max: 1000, name: "NewT2" }],
      [4, "list_limit_reached", { max: 1000, name: "NewL" }],
      [8, "opted_out_value", { value: "maybe" }],
    ]);
    const get = async (phone: string) =>
      (await as(t, owner).get(`${url}?q=${encodeURIComponent(phone)}`)).json().items[0];
    expect(Object.keys((await get("+15550310001")).attributes)).toHaveLength(49);
    expect(await get("+15550310004")).toMatchObject({ optedOut: true, optOutSource: "import" });
    expect(await get("+15550310005")).toBeUndefined();
    expect(await get("+15550310006")).toBeUndefined();
    const matched = await get("+15550310007");
    expect(matched.tagIds).toHaveLength(1);
    expect(matched.listIds).toHaveLength(1);
    expect(await get("+15550310002")).toMatchObject({ optedOut: false, optOutSource: null });
    expect(await get("+15550310003")).toMatchObject({
      optedOut: true,
      optOutSource: "whatsapp",
      optedOutAt: "2026-01-01T00:00:00.000Z",
    });
    const tagCount = await db().select().from(tags).where(eq(tags.orgId, o.orgId));
    expect(tagCount).toHaveLength(1000);
  });

  it("another organization's import answers 404", async () => {
    const otherOrg = await makeOrg(db(), "Other");
    const theirs = await as(t, otherOrg.owner).post(`${base(otherOrg.orgId)}/import`, "phone\n+15550300001\n", CSV);
    expect(theirs.statusCode).toBe(202);
    const res = await as(t, manager).get(`${base()}/imports/${theirs.json().id}`);
    expect(res.statusCode).toBe(404);
    await drain();
  });
});

describe("export", () => {
  it("streams the filtered contacts as CSV with formula cells neutralised, recorded; it imports back as is", async () => {
    const tag = (await as(t, manager).post(`/api/v1/orgs/${org.orgId}/tags`, { name: "Export me" })).json();
    await as(t, manager).post(base(), {
      phone: "+15550500001",
      name: '=HYPERLINK("http://evil")',
      attributes: { note: "+1 attack", plain: "ok" },
      tagIds: [tag.id],
    });
    await as(t, manager).post(base(), {
      phone: "+15550500002",
      name: "Plain, with comma",
      tagIds: [tag.id],
      optedOut: true,
    });
    await as(t, manager).post(base(), { phone: "+15550500003", name: "Not exported" });

    const denied = await as(t, broadcaster).get(`${base()}/export?format=csv`);
    expect(denied.statusCode).toBe(403);

    const res = await as(t, manager).get(`${base()}/export?format=csv&tagId=${tag.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    const lines = res.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "phone,name,tags,lists,attr.note,attr.plain,opted_out,wa_id,opted_out_at,opt_out_source,created_at",
    );
    expect(lines).toHaveLength(3);
    const evil = lines.find((l) => l.includes("HYPERLINK"))!;
    expect(evil.startsWith("'+15550500001,")).toBe(true);
    expect(evil).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(evil).toContain("'+1 attack");
    expect(lines.some((l) => l.includes('"Plain, with comma"'))).toBe(true);
    expect(lines.some((l) => l.includes("Not exported"))).toBe(false);
    const [rec] = await db()
      .select()
      .from(activity)
      .where(eq(activity.requestId, res.headers["x-request-id"] as string));
    expect(rec).toMatchObject({ action: "contact.exported" });

    // The opt-out travels: cleared here, the exported file's `opted_out` sets it again on import.
    expect(lines.find((l) => l.includes("Plain, with comma"))).toContain(",true,");
    expect(evil).toContain(",false,");
    await db()
      .update(contacts)
      .set({ optedOutAt: null, optOutSource: null })
      .where(and(eq(contacts.orgId, org.orgId), eq(contacts.phone, "+15550500002")));
    const back = await importCsv(res.body);
    expect(back.statusCode).toBe(202);
    await drain();
    expect(await progress(back.json().id)).toMatchObject({
      state: "completed",
      total: 2,
      created: 0,
      updated: 2,
      failed: 0,
    });
    const again = (await as(t, manager).get(`${base()}?q=15550500001`)).json().items[0];
    expect(again.name).toBe('=HYPERLINK("http://evil")');
    expect(again.attributes).toEqual({ note: "+1 attack", plain: "ok" });
    expect(again.optedOut).toBe(false);
    const optedBack = (await as(t, manager).get(`${base()}?q=15550500002`)).json().items[0];
    expect(optedBack).toMatchObject({ optedOut: true, optOutSource: "import" });
  });
});
