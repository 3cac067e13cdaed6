import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invitations } from "../../src/server/db/schema/index.js";
import { MAX_BULK_INVITATIONS } from "../../src/shared/schemas/invitations.js";
import { createTestApp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import { expectProblem, invite } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const pendingCount = async (orgId: string) =>
  (
    await t.database.db
      .select()
      .from(invitations)
      .where(and(eq(invitations.orgId, orgId)))
  ).length;

describe("audit finding 9: a CSV import stops reading at the row limit", () => {
  it("refuses a body with far more rows than the limit, naming the limit, and invites no one", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Big Import Co");
    const rows = Array.from({ length: 5_000 }, (_, i) => `r${i}.${uniqueEmail("bulk")},R,${i}`);
    const res = await invite(owner.client, orgId, `email,firstName,lastName\n${rows.join("\n")}\n`);
    const problem = expectProblem(res, 400, "too_many_rows");
    expect(problem.detail).toContain(String(MAX_BULK_INVITATIONS));
    expect(problem.maxRows).toBe(MAX_BULK_INVITATIONS);
    expect(await pendingCount(orgId)).toBe(0);
  });

  it("does not read past the limit: 101 valid rows then a malformed tail is refused for the limit", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Tail Import Co");
    const rows = Array.from({ length: MAX_BULK_INVITATIONS + 1 }, (_, i) => `r${i}.${uniqueEmail("t")},R,${i}`);
    // An unclosed quote: a parser reading the whole body would answer invalid_csv.
    const tail = `x@example.com,"never closed,B\n${"junk,".repeat(10_000)}`;
    const res = await invite(owner.client, orgId, `email,firstName,lastName\n${rows.join("\n")}\n${tail}`);
    expectProblem(res, 400, "too_many_rows");
    expect(await pendingCount(orgId)).toBe(0);
  });

  it("exactly the limit is read in full (blank and comma-only lines are not rows)", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Exact Import Co");
    const rows = Array.from({ length: MAX_BULK_INVITATIONS }, (_, i) => `r${i}.${uniqueEmail("e")},R,${i}`);
    const res = await invite(owner.client, orgId, `email,firstName,lastName\n,,\n\n${rows.join("\n")}\n,,\n`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().invited).toBe(MAX_BULK_INVITATIONS);
  });
});

describe("audit hardening: each route accepts only the content types it needs", () => {
  it("text/plain (sent cross-site without preflight) is 415 on the invitations route and on JSON routes", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Content Type Co");
    const csv = `email,firstName,lastName\n${uniqueEmail("plain")},P,Q\n`;
    const headers = { "content-type": "text/plain" };
    const plainCsv = await owner.client.post(`/api/v1/orgs/${orgId}/invitations`, csv, headers);
    expectProblem(plainCsv, 415, "unsupported_media_type");
    const json = JSON.stringify({ email: uniqueEmail("plain"), firstName: "P", lastName: "Q" });
    expectProblem(
      await owner.client.post(`/api/v1/orgs/${orgId}/invitations`, json, headers),
      415,
      "unsupported_media_type",
    );
    expectProblem(
      await owner.client.patch(`/api/v1/orgs/${orgId}`, JSON.stringify({ name: "X" }), headers),
      415,
      "unsupported_media_type",
    );
    expectProblem(
      await owner.client.post("/api/v1/orgs", JSON.stringify({ name: "X" }), headers),
      415,
      "unsupported_media_type",
    );
    expect(await pendingCount(orgId)).toBe(0);
  });

  it("text/csv is for the import only: other routes, even of the invitations module, answer 415", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Csv Elsewhere Co");
    const headers = { "content-type": "text/csv" };
    expectProblem(
      await owner.client.patch(`/api/v1/orgs/${orgId}`, "name\nX\n", headers),
      415,
      "unsupported_media_type",
    );
    const accept = await t.client().post("/api/v1/invitations/accept", "a,b\n", headers);
    expectProblem(accept, 415, "unsupported_media_type");
    // The import itself still takes text/csv.
    const ok = await invite(owner.client, orgId, `email,firstName,lastName\n${uniqueEmail("csv")},C,D\n`);
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe("audit hardening: already_member reveals the member id only to members:read", () => {
  it("members:invite without members:read gets the 409 without memberId; with it, the id", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Already Co");
    const existing = await memberWith(t, orgId, []);
    const inviteOnly = await insertCustomRole(t.database.db, orgId, ["members:invite"], "Invite only");
    const inviter = await memberWith(t, orgId, [inviteOnly]);
    const body = { email: existing.email, firstName: "E", lastName: "X" };
    const blind = expectProblem(await invite(inviter.client, orgId, body), 409, "already_member");
    expect(blind).not.toHaveProperty("memberId");
    expect(JSON.stringify(blind)).not.toContain(existing.memberId);
    const seen = expectProblem(await invite(owner.client, orgId, body), 409, "already_member");
    expect(seen.memberId).toBe(existing.memberId);
  });
});
