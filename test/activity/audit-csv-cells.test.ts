import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvCell } from "../../src/server/lib/csv-cell.js";
import { CSV_COLUMNS } from "../../src/server/modules/activity/export.js";
import { clientAs, createOrg, createUser, insertActivity, type TestUser } from "../helpers/activity.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let owner: TestUser;
let orgId: string;
beforeAll(async () => {
  t = await createTestApp();
  owner = await createUser(t.database.db, { firstName: "Olive", lastName: "Owner" });
  ({ orgId } = await createOrg(t.database.db, owner));
});
afterAll(async () => {
  await t?.close();
});

describe("audit hardening: CSV cells are safe in spreadsheets of every locale", () => {
  it("neutralises formulas after leading whitespace and quotes cells holding ';'", () => {
    expect(csvCell("  =1+1")).toBe("'  =1+1");
    expect(csvCell(" \t@SUM(A1)")).toBe("' \t@SUM(A1)");
    expect(csvCell("\t=cmd")).toBe("'\t=cmd");
    expect(csvCell("\r=cmd")).toBe(`"'\r=cmd"`);
    expect(csvCell("a;b")).toBe('"a;b"');
    expect(csvCell(" =x;y")).toBe(`"' =x;y"`);
    // Ordinary text stays as it is.
    expect(csvCell("Ada Lovelace")).toBe("Ada Lovelace");
    expect(csvCell("a - b")).toBe("a - b");
  });

  it("the activity export writes such cells safely (over HTTP)", async () => {
    await insertActivity(t.database.db, orgId, [
      { actorId: owner.id, actorName: "  =HYPERLINK(1)", action: "org.updated", targetLabel: "Acme; Inc" },
    ]);
    const res = await clientAs(t, owner).get(`/api/v1/orgs/${orgId}/activity/export?format=csv`);
    expect(res.statusCode).toBe(200);
    const lines = res.body.split("\r\n");
    expect(lines[0]).toBe(CSV_COLUMNS.join(","));
    const row = lines.find((l) => l.includes("HYPERLINK"));
    expect(row).toContain(",'  =HYPERLINK(1),");
    expect(row).toContain(',"Acme; Inc",');
  });
});
