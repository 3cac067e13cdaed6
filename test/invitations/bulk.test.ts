import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invitations } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import { actionsOf, expectProblem, invitationMails, invite } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface RowResult {
  index: number;
  line?: number;
  email: string | null;
  status: "invited" | "failed";
  invitation?: { id: string; email: string; firstName: string; lastName: string; roleIds: string[] };
  error?: { status: number; code: string; detail: string; errors?: { path: string }[] };
}

const pendingOf = async (orgId: string) =>
  (
    await t.database.db
      .select({ email: invitations.email })
      .from(invitations)
      .where(and(eq(invitations.orgId, orgId), eq(invitations.status, "pending")))
  )
    .map((r) => r.email)
    .sort();

describe("inviting a list", () => {
  it("answers per-row results mixing successes and failures; each success is its own invitation and email", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Bulk");
    const member = await memberWith(t, orgId, ["operator"]);
    const a = uniqueEmail("bulk");
    const b = uniqueEmail("bulk");
    const res = await invite(owner.client, orgId, {
      invitations: [
        { email: a, firstName: "Ann", lastName: "One", roleIds: ["operator"] },
        { email: a.toUpperCase(), firstName: "Ann", lastName: "Again" },
        { email: "not an email", firstName: "Bad", lastName: "Email" },
        { email: uniqueEmail("bulk"), firstName: "Uma", lastName: "Unknown", roleIds: ["wizard"] },
        { email: member.email, firstName: "Mem", lastName: "Ber" },
        "not even an object",
        { email: b, firstName: "Bea", lastName: "Two", roleIds: ["operator", "contact_manager"] },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { results: RowResult[]; invited: number; failed: number };
    expect(body).toMatchObject({ invited: 2, failed: 5 });
    expect(body.results.map((r) => [r.index, r.status, r.error?.status ?? null, r.error?.code ?? null])).toEqual([
      [0, "invited", null, null],
      [1, "failed", 409, "invitation_pending"],
      [2, "failed", 400, "validation_failed"],
      [3, "failed", 400, "unknown_role"],
      [4, "failed", 409, "already_member"],
      [5, "failed", 400, "validation_failed"],
      [6, "invited", null, null],
    ]);
    expect(body.results[2]!.error!.errors!.map((e) => e.path)).toEqual(["email"]);
    expect(body.results[6]!.invitation).toMatchObject({ email: b, roleIds: ["contact_manager", "operator"] });
    expect(body.results[1]!.email).toBe(a);
    expect(await pendingOf(orgId)).toEqual([a, b].sort());
    expect(await invitationMails(t, a)).toHaveLength(1);
    expect(await invitationMails(t, b)).toHaveLength(1);
    expect((await actionsOf(t, orgId)).filter((x) => x === "member.invited")).toHaveLength(2);
  });

  it("refuses more than 100 rows, and an empty list, with 400 and invites nobody", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const rows = Array.from({ length: 101 }, (_, i) => ({
      email: `row${i}.${uniqueEmail("many")}`,
      firstName: "R",
      lastName: String(i),
    }));
    const tooMany = await invite(owner.client, orgId, { invitations: rows });
    expectProblem(tooMany, 400, "validation_failed");
    expect(await pendingOf(orgId)).toEqual([]);
    expectProblem(await invite(owner.client, orgId, { invitations: [] }), 400, "validation_failed");
    const hundred = await invite(owner.client, orgId, { invitations: rows.slice(0, 100) });
    expect(hundred.statusCode).toBe(200);
    expect(hundred.json()).toMatchObject({ invited: 100, failed: 0 });
  });

  it("checks each row against the actor's permissions and the seat limit", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    await owner.client.patch(`/api/v1/orgs/${orgId}`, { memberLimit: 3 });
    const recruiter = await insertCustomRole(t.database.db, orgId, [
      "members:invite",
      "chats:read_assigned",
      "chats:reply",
    ]);
    const lead = await memberWith(t, orgId, [recruiter]);
    const res = await invite(lead.client, orgId, {
      invitations: [
        { email: uniqueEmail(), firstName: "A", lastName: "A", roleIds: ["administrator"] },
        { email: uniqueEmail(), firstName: "B", lastName: "B", roleIds: ["operator"] },
        { email: uniqueEmail(), firstName: "C", lastName: "C" },
      ],
    });
    expect(res.json().results.map((r: RowResult) => r.error?.code ?? r.status)).toEqual([
      "permission_escalation",
      "invited",
      "member_limit_reached",
    ]);
  });
});

describe("inviting from a CSV document", () => {
  it("answers per-row results with line numbers; quoted fields may hold commas; roles by id or name", async () => {
    const { orgId, owner } = await orgWithOwner(t, "CSV Co");
    const a = uniqueEmail("csv");
    const b = uniqueEmail("csv");
    const c = uniqueEmail("csv");
    const csv = [
      "\uFEFFEmail,First name,Last Name,Roles",
      `"${a}","Smith, Jr.","O""Brien","Operator;template_manager"`,
      "",
      "not-an-email,Bad,Row,",
      `${b},Uma,Unknown,Wizard`,
      `${c},Carl,"Comma, Inc",contact manager`,
      `${a},Dup,Licate,`,
      `${uniqueEmail("csv")},Nul\u0000Name,X,`,
    ].join("\r\n");
    const res = await invite(owner.client, orgId, csv);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { results: RowResult[]; invited: number; failed: number };
    expect(body).toMatchObject({ invited: 2, failed: 4 });
    expect(body.results.map((r) => [r.index, r.line, r.status, r.error?.code ?? null])).toEqual([
      [0, 2, "invited", null],
      [1, 4, "failed", "validation_failed"],
      [2, 5, "failed", "unknown_role"],
      [3, 6, "invited", null],
      [4, 7, "failed", "invitation_pending"],
      [5, 8, "failed", "validation_failed"],
    ]);
    expect(body.results[0]!.invitation).toMatchObject({
      email: a,
      firstName: "Smith, Jr.",
      lastName: 'O"Brien',
      roleIds: ["operator", "template_manager"],
    });
    expect(body.results[3]!.invitation).toMatchObject({ lastName: "Comma, Inc", roleIds: ["contact_manager"] });
    expect(body.results[2]!.error!.detail).toContain("Wizard");
    expect(await pendingOf(orgId)).toEqual([a, c].sort());
  });

  it("reads the columns by their header in any order; `role` and `roleIds` mean `roles`", async () => {
    const { orgId, owner } = await orgWithOwner(t, "CSV Order");
    const a = uniqueEmail("csv");
    const b = uniqueEmail("csv");
    for (const [header, row] of [
      ["Last name,Role IDs,Email,First name", `Lee,Operator;contact_manager,${a},Ann`],
      ["role,email,firstName,lastName", `template_manager,${b},Ben,Bo`],
    ] as const) {
      const res = await invite(owner.client, orgId, `${header}\n${row}\n`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().invited).toBe(1);
    }
    const byEmail = Object.fromEntries(
      (await owner.client.get(`/api/v1/orgs/${orgId}/invitations`))
        .json()
        .items.map((i: { email: string; firstName: string; lastName: string; roleIds: string[] }) => [i.email, i]),
    );
    expect(byEmail[a]).toMatchObject({ firstName: "Ann", lastName: "Lee", roleIds: ["contact_manager", "operator"] });
    expect(byEmail[b]).toMatchObject({ firstName: "Ben", lastName: "Bo", roleIds: ["template_manager"] });
  });

  it("refuses malformed documents with 400 invalid_csv and a message saying what is wrong", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const email = uniqueEmail("csv");
    const cases: [string, string, RegExp][] = [
      [`email,firstName,lastName\n"${email},Open,Quote\n`, "invalid_csv", /Line 2: a quoted field is not closed/],
      [`email,firstName,lastName\n${email},Bad"Quote,X\n`, "invalid_csv", /Line 2: a quote appears inside/],
      [`email,firstName,lastName\n"${email}"x,A,B\n`, "invalid_csv", /Line 2: a quoted field is followed/],
      [`email,roles\n${email},operator\n`, "invalid_csv", /missing: firstname, lastname/],
      // A misspelt column is refused, never ignored (a "rolez" column would invite with no role).
      [`mail,name\n${email},A\n`, "invalid_csv", /Unknown CSV columns: "mail", "name"/],
      [`email,firstName,lastName,rolez\n${email},A,B,operator\n`, "invalid_csv", /Unknown CSV column: "rolez"/],
      ["email,firstName,lastName\n", "invalid_csv", /no rows/],
      ["\n\n  \n", "invalid_csv", /empty/],
    ];
    for (const [csv, code, detail] of cases) {
      const res = await invite(owner.client, orgId, csv);
      const problem = expectProblem(res, 400, code);
      expect(problem.detail).toMatch(detail);
    }
    const rows = Array.from({ length: 101 }, (_, i) => `r${i}.${email},R,${i}`);
    const tooMany = await invite(owner.client, orgId, `email,firstName,lastName\n${rows.join("\n")}`);
    expectProblem(tooMany, 400, "too_many_rows");
    expectProblem(await invite(owner.client, orgId, ""), 400, "validation_failed");
    expect(await pendingOf(orgId)).toEqual([]);
  });

  it("needs members:invite like any invitation", async () => {
    const { orgId } = await orgWithOwner(t);
    const op = await memberWith(t, orgId, ["operator"]);
    const res = await invite(op.client, orgId, `email,firstName,lastName\n${uniqueEmail()},A,B\n`);
    expect(expectProblem(res, 403, "permission_denied")).toMatchObject({ missingPermission: "members:invite" });
  });
});
