// 100,000 rows in one import, on PostgreSQL, outside the default suite (about a minute):
//   IMPORT_100K=1 TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx vitest run test/contacts/import-100k.test.ts
// Throughput and memory are measured by `npm run bench contacts`; this checks the outcome.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contacts, contactTags, listContacts } from "../../src/server/db/schema/index.js";
import { contactImportJob } from "../../src/server/modules/contacts/import.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { as, makeOrg, type RbacOrg } from "../helpers/rbac.js";

const ROWS = 100_000;
const run = Boolean(process.env.IMPORT_100K && process.env.TEST_DATABASE_URL);

describe.skipIf(!run)("a 100,000-row import on PostgreSQL", () => {
  let t: TestApp;
  let org: RbacOrg;
  beforeAll(async () => {
    t = await createTestApp();
    org = await makeOrg(t.database.db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("imports every row once, with a 1,000-row overlap of existing phones updated", async () => {
    const db = t.database.db;
    await db.execute(sql`insert into contacts (org_id, phone, name)
      select ${org.orgId}::uuid, '+1303' || (1000000 + g)::text, 'Existing ' || g from generate_series(0, 999) g`);
    const lines = ["phone,name,tags,lists,attr.city"];
    for (let i = 0; i < ROWS; i++)
      lines.push(`+1303${1_000_000 + i},Person ${i},vip;t${i % 10},spring,City ${i % 100}`);
    const started = performance.now();
    const res = await as(t, org.owner).post(`/api/v1/orgs/${org.orgId}/contacts/import`, lines.join("\n"), {
      "content-type": "text/csv",
    });
    expect(res.statusCode).toBe(202);
    await t.app.ctx.jobs.drain(contactImportJob);
    const seconds = (performance.now() - started) / 1000;
    const p = (await as(t, org.owner).get(`/api/v1/orgs/${org.orgId}/contacts/imports/${res.json().id}`)).json();
    expect(p).toMatchObject({
      state: "completed",
      total: ROWS,
      processed: ROWS,
      created: ROWS - 1000,
      updated: 1000,
      failed: 0,
    });
    const count = async (table: typeof contacts | typeof contactTags | typeof listContacts) =>
      (await db.select({ n: sql<number>`count(*)::int` }).from(table).where(eq(table.orgId, org.orgId)))[0]!.n;
    expect(await count(contacts)).toBe(ROWS);
    expect(await count(contactTags)).toBe(2 * ROWS);
    expect(await count(listContacts)).toBe(ROWS);
    console.log(`100,000-row import: ${seconds.toFixed(1)} s, ${Math.round(ROWS / seconds)} rows/s`);
  }, 600_000);
});
