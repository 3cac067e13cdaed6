import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity } from "../../src/server/db/schema/index.js";
import { csvCell } from "../../src/server/lib/csv-cell.js";
import { CSV_COLUMNS } from "../../src/server/modules/activity/export.js";
import {
  addMember,
  clientAs,
  createOrg,
  createUser,
  insertActivity,
  insertManyActivity,
  type TestUser,
} from "../helpers/activity.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let owner: TestUser;
let operator: TestUser;
let orgId: string;
const T0 = Date.parse("2025-03-01T12:00:00.000Z");
const NASTY = 'Eve "The Hacker", Jr.\nsecond line';
const FORMULA = '=HYPERLINK("http://evil","x")';

/** A small RFC 4180 parser: quoted fields, doubled quotes, CRLF or LF inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

beforeAll(async () => {
  t = await createTestApp();
  const db = t.database.db;
  owner = await createUser(db, { firstName: "Olive", lastName: "Owner" });
  operator = await createUser(db, { firstName: "Otto", lastName: "Operator" });
  ({ orgId } = await createOrg(db, owner));
  await addMember(db, orgId, operator, ["operator"]);
  await insertActivity(db, orgId, [
    {
      at: new Date(T0),
      actorId: owner.id,
      actorName: NASTY,
      action: "member.invited",
      targetId: "m1",
      targetLabel: FORMULA,
      changes: { roles: { before: [], after: ["operator"] } },
    },
    { at: new Date(T0 + 1000), actorId: owner.id, actorName: "+cmd|' /C calc'!A0", action: "role.created" },
    { at: new Date(T0 + 2000), actorId: owner.id, actorName: "-2+3", action: "member.removed", targetLabel: "@SUM(1)" },
  ]);
});
afterAll(async () => {
  await t?.close();
});

const exportUrl = (q: string) => `/api/v1/orgs/${orgId}/activity/export?${q}`;

describe("csvCell", () => {
  it("quotes, doubles quotes and neutralizes formulas", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell(null)).toBe("");
    expect(csvCell('a"b')).toBe('"a""b"');
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell("a\nb")).toBe('"a\nb"');
    expect(csvCell("a\r\nb")).toBe('"a\r\nb"');
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-1")).toBe("'-1");
    expect(csvCell("@x")).toBe("'@x");
    expect(csvCell('=a,"b"')).toBe(`"'=a,""b"""`);
  });
});

describe("GET /orgs/:orgId/activity/export", () => {
  it("streams a CSV with a header and RFC 4180 escaping, as an attachment", async () => {
    const res = await clientAs(t, owner).get(exportUrl("format=csv&from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z"));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/^attachment; filename="activity-[\d-T]+\.csv"$/);
    const rows = parseCsv(res.body);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(4);
    const col = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    // Newest first.
    expect(rows.slice(1).map((r) => r[col("action")])).toEqual(["member.removed", "role.created", "member.invited"]);
    const invited = rows[3]!;
    expect(invited).toHaveLength(CSV_COLUMNS.length);
    expect(invited[col("actor_name")]).toBe(NASTY);
    expect(invited[col("target_label")]).toBe(`'${FORMULA}`);
    expect(JSON.parse(invited[col("changes")]!)).toEqual({ roles: { before: [], after: ["operator"] } });
    expect(invited[col("at")]).toBe(new Date(T0).toISOString());
    expect(invited[col("actor_id")]).toBe(owner.id);
    // Formula-looking cells are neutralized.
    expect(rows[2]![col("actor_name")]).toBe("'+cmd|' /C calc'!A0");
    expect(rows[1]![col("actor_name")]).toBe("'-2+3");
    expect(rows[1]![col("target_label")]).toBe("'@SUM(1)");
    // The raw text has the quoting itself, not only a parser's view of it.
    expect(res.body).toContain('"Eve ""The Hacker"", Jr.\nsecond line"');
  });

  it("streams JSON Lines with the filters applied", async () => {
    const res = await clientAs(t, owner).get(exportUrl("format=jsonl&action=member."));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/\.jsonl"$/);
    const lines = res.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.action)).toEqual(["member.removed", "member.invited"]);
    expect(lines[1]).toMatchObject({
      actor: { type: "user", id: owner.id, name: NASTY },
      target: { type: "member", id: "m1", label: FORMULA },
      changes: { roles: { before: [], after: ["operator"] } },
    });
  });

  it("pages through more records than one batch, every record once", async () => {
    const { orgId: big } = await createOrg(t.database.db, owner, { name: "Big" });
    await insertManyActivity(t.database.db, big, 12_345, new Date(T0));
    const res = await clientAs(t, owner).get(
      `/api/v1/orgs/${big}/activity/export?format=csv&action=bulk.row&to=${new Date(T0 + 1).toISOString()}`,
    );
    expect(res.statusCode).toBe(200);
    const lines = res.body.split("\r\n").filter(Boolean);
    expect(lines).toHaveLength(12_346);
    const targetIds = lines.slice(1).map((l) => l.split(",")[CSV_COLUMNS.indexOf("target_id")]);
    expect(new Set(targetIds).size).toBe(12_345);
    expect(targetIds[0]).toBe("0");
    expect(targetIds.at(-1)).toBe("12344");
  });

  it("records who exported what", async () => {
    const c = clientAs(t, owner);
    const res = await c.get(exportUrl(`format=jsonl&actorId=${owner.id}`));
    expect(res.statusCode).toBe(200);
    const rows = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, orgId), eq(activity.requestId, res.headers["x-request-id"] as string)));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: "activity.exported",
      actorId: owner.id,
      actorName: "Olive Owner",
      targetType: "activity",
      changes: { format: { after: "jsonl" }, filters: { after: { actorId: owner.id } } },
    });
  });

  it("refuses bad input and callers without audit:read", async () => {
    const bad = await clientAs(t, owner).get(exportUrl("format=xlsx"));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("validation_failed");
    expect((await clientAs(t, owner).get(exportUrl("from=nope"))).statusCode).toBe(400);
    const denied = await clientAs(t, operator).get(exportUrl("format=csv"));
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe("permission_denied");
  });
});
