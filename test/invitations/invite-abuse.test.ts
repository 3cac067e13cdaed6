import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../../src/server/db/schema/index.js";
import {
  INVITATIONS_PER_INVITER_PER_HOUR,
  INVITATIONS_PER_ORG_PER_HOUR,
  invitationLimitKeys,
} from "../../src/server/modules/invitations/limits.js";
import { seedRateLimitHits } from "../auth/support.js";
import { APP_URL, createTestApp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { expectProblem, invitationMails, invite } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const one = (email = uniqueEmail("inv")) => ({ email, firstName: "Ivy", lastName: "Invitee", roleIds: ["operator"] });

describe("audit finding 7: invitations need a verified inviter, are rate limited, and carry no links in user text", () => {
  it("refuses an inviter whose email is not verified with 403 email_not_verified, single, bulk, CSV and resend", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Unverified Co");
    const ok = await invite(owner.client, orgId, one());
    expect(ok.statusCode, ok.body).toBe(201);
    await t.database.db.update(users).set({ emailVerifiedAt: null }).where(eq(users.id, owner.id));
    await t.settle();

    const email = uniqueEmail("spam");
    expectProblem(await invite(owner.client, orgId, one(email)), 403, "email_not_verified");
    expectProblem(await invite(owner.client, orgId, { invitations: [one(email)] }), 403, "email_not_verified");
    expectProblem(
      await invite(owner.client, orgId, `email,firstName,lastName,roles\n${email},Ivy,Invitee,Operator\n`),
      403,
      "email_not_verified",
    );
    const resend = await owner.client.post(`/api/v1/orgs/${orgId}/invitations/${ok.json().id}/resend`);
    expectProblem(resend, 403, "email_not_verified");
    expect(await invitationMails(t, email)).toHaveLength(0);
    expect(await invitationMails(t, ok.json().email)).toHaveLength(1);
  });

  it("answers 429 with Retry-After past the per-inviter limit, counting bulk rows one by one", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Busy Inviter");
    await seedRateLimitHits(t, invitationLimitKeys.inviter(owner.id), INVITATIONS_PER_INVITER_PER_HOUR - 1);
    const [a, b] = [uniqueEmail("a"), uniqueEmail("b")];
    const bulk = await invite(owner.client, orgId, { invitations: [one(a), one(b)] });
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect(
      bulk.json().results.map((r: { status: string; error?: { code: string } }) => r.error?.code ?? r.status),
    ).toEqual(["invited", "rate_limited"]);
    const single = await invite(owner.client, orgId, one());
    expectProblem(single, 429, "rate_limited");
    expect(Number(single.headers["retry-after"])).toBeGreaterThan(0);
    expect(await invitationMails(t, b)).toHaveLength(0);
  });

  it("answers 429 past the per-organization limit, whoever invites", async () => {
    const { orgId } = await orgWithOwner(t, "Busy Org");
    const admin = await memberWith(t, orgId, ["administrator"]);
    await seedRateLimitHits(t, invitationLimitKeys.org(orgId), INVITATIONS_PER_ORG_PER_HOUR);
    const res = await invite(admin.client, orgId, one());
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
  });

  it.skipIf(!onPostgres)("holds the per-inviter limit under concurrent invitations in two organizations", async () => {
    const first = await orgWithOwner(t, "Race One");
    const owner = first.owner;
    const second = await owner.client.post("/api/v1/orgs", { name: "Race Two" });
    expect(second.statusCode).toBe(201);
    const orgs = [first.orgId, second.json().id as string];
    await seedRateLimitHits(t, invitationLimitKeys.inviter(owner.id), INVITATIONS_PER_INVITER_PER_HOUR - 3);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => invite(owner.client, orgs[i % 2]!, one())));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 201, 201, 429, 429, 429, 429, 429]);
  });

  it("renders an organization and inviter name holding a URL without a linkable URL in subject, text and HTML", async () => {
    const { orgId } = await orgWithOwner(t, "Free gift card, claim at https://gift.evil.example/win now");
    const admin = await memberWith(t, orgId, ["administrator"], { firstName: "www.evil.example", lastName: "Admin" });
    const email = uniqueEmail("victim");
    const res = await invite(admin.client, orgId, { ...one(email), firstName: "Visit evil.example" });
    expect(res.statusCode, res.body).toBe(201);
    const [mail] = await invitationMails(t, email);
    const userLinks = /https?:\/\/(?!chorus\.test)|evil\.example|www\./i;
    for (const part of [mail!.subject, mail!.textBody, mail!.htmlBody]) {
      expect(part).not.toMatch(userLinks);
    }
    // The names are still there, readable, and the real link is untouched.
    expect(mail!.subject).toContain("Free gift card");
    expect(mail!.textBody).toContain(`${APP_URL}/invite/`);
    expect(mail!.htmlBody).toContain(`href="${APP_URL}/invite/`);
  });
});
