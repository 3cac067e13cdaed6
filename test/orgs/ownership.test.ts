import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, mailOutbox, memberships } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp, type TestClient } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { memberWith, orgWithOwner, STRONG, totpNow } from "../helpers/orgs.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const ownersOf = async (orgId: string) =>
  (
    await t.database.db
      .select({ id: memberships.id })
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.isOwner, true)))
  ).map((r) => r.id);

const transfer = (client: TestClient, orgId: string, body: Record<string, unknown>) =>
  client.post(`/api/v1/orgs/${orgId}/transfer-ownership`, body);

describe("transferring ownership", () => {
  it("swaps the owner, makes the old owner an Administrator, emails both, records it once", async () => {
    const { orgId, owner, ownerMemberId } = await orgWithOwner(t, "Handover");
    const heir = await memberWith(t, orgId, ["operator"], { firstName: "Hana", lastName: "Heir" });
    const res = await transfer(owner.client, orgId, { memberId: heir.memberId, password: STRONG });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ previousOwnerMemberId: ownerMemberId, newOwnerMemberId: heir.memberId });
    expect(await ownersOf(orgId)).toEqual([heir.memberId]);

    const oldMe = (await owner.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    expect(oldMe).toMatchObject({ isOwner: false, roleIds: ["administrator"] });
    expect(oldMe.permissions).not.toContain("org:transfer");
    const newMe = (await heir.client.get(`/api/v1/orgs/${orgId}/me`)).json();
    expect(newMe.isOwner).toBe(true);
    expect(newMe.permissions).toContain("org:delete");

    const mails = await t.database.db.select().from(mailOutbox).where(eq(mailOutbox.orgId, orgId));
    expect(mails.map((m) => [m.toEmail, m.template]).sort()).toEqual(
      [
        [owner.email, "ownershipTransferred"],
        [heir.email, "ownershipTransferred"],
      ].sort(),
    );
    expect(mails.find((m) => m.toEmail === heir.email)!.textBody).toContain("You are now the owner of Handover");
    const recs = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, orgId), eq(activity.action, "ownership.transferred")));
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ actorId: owner.id, targetId: heir.memberId, targetLabel: "Hana Heir" });

    // The new owner is protected; the old one is an ordinary member now.
    const removeNew = await owner.client.delete(`/api/v1/orgs/${orgId}/members/${heir.memberId}`);
    expect(removeNew.statusCode).toBe(403);
    expect(removeNew.json().code).toBe("owner_protected");
    expect((await heir.client.delete(`/api/v1/orgs/${orgId}/members/${ownerMemberId}`)).statusCode).toBe(204);
  });

  it("refuses a wrong password, non-owners, oneself and members of nowhere", async () => {
    const { orgId, owner, ownerMemberId } = await orgWithOwner(t);
    const admin = await memberWith(t, orgId, ["administrator"]);
    const wrong = await transfer(owner.client, orgId, { memberId: admin.memberId, password: "definitely not it" });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe("invalid_password");
    const byAdmin = await transfer(admin.client, orgId, { memberId: admin.memberId, password: STRONG });
    expect(byAdmin.statusCode).toBe(403);
    expect(byAdmin.json().code).toBe("owner_only");
    const self = await transfer(owner.client, orgId, { memberId: ownerMemberId, password: STRONG });
    expect(self.statusCode).toBe(409);
    expect(self.json().code).toBe("already_owner");
    const other = await orgWithOwner(t, "Other");
    const stranger = await memberWith(t, other.orgId, []);
    const cross = await transfer(owner.client, orgId, { memberId: stranger.memberId, password: STRONG });
    expect(cross.statusCode).toBe(404);
    expect(cross.json().code).toBe("member_not_found");
    expect((await transfer(owner.client, orgId, { memberId: "nope", password: STRONG })).statusCode).toBe(400);
    expect(await ownersOf(orgId)).toEqual([ownerMemberId]);
  });

  it("asks an owner with 2FA for a valid code", async () => {
    const { orgId, owner } = await orgWithOwner(t, "Guarded", { twoFactor: true });
    const heir = await memberWith(t, orgId, []);
    const none = await transfer(owner.client, orgId, { memberId: heir.memberId, password: STRONG });
    expect(none.json().code).toBe("two_factor_code_required");
    const code = await totpNow();
    const wrongCode = String((Number(code) + 500_000) % 1_000_000).padStart(6, "0");
    const bad = await transfer(owner.client, orgId, { memberId: heir.memberId, password: STRONG, code: wrongCode });
    expect(bad.statusCode).toBe(403);
    expect(bad.json().code).toBe("invalid_two_factor_code");
    const good = await transfer(owner.client, orgId, { memberId: heir.memberId, password: STRONG, code });
    expect(good.statusCode).toBe(200);
    expect(await ownersOf(orgId)).toEqual([heir.memberId]);
  });

  it("throttles failed re-authentication", async () => {
    const { orgId, owner } = await orgWithOwner(t);
    const heir = await memberWith(t, orgId, []);
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) {
      codes.push(
        (await transfer(owner.client, orgId, { memberId: heir.memberId, password: `wrong password ${i}` })).statusCode,
      );
    }
    expect(codes.slice(0, 10)).toEqual(Array(10).fill(403));
    expect(codes[10]).toBe(429);
    const right = await transfer(owner.client, orgId, { memberId: heir.memberId, password: STRONG });
    expect(right.statusCode).toBe(429);
  });
});

describe.runIf(onPostgres)("ownership under concurrency (PostgreSQL)", () => {
  it("two concurrent transfers leave exactly one owner", async () => {
    for (let round = 0; round < 3; round++) {
      const { orgId, owner } = await orgWithOwner(t, `Race ${round}`);
      const a = await memberWith(t, orgId, []);
      const b = await memberWith(t, orgId, []);
      const results = await Promise.all([
        transfer(owner.client, orgId, { memberId: a.memberId, password: STRONG }),
        transfer(owner.client, orgId, { memberId: b.memberId, password: STRONG }),
      ]);
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([200, 403]);
      const owners = await ownersOf(orgId);
      expect(owners).toHaveLength(1);
      const winner = results.find((r) => r.statusCode === 200)!.json().newOwnerMemberId;
      expect(owners).toEqual([winner]);
    }
  });

  it("a transfer racing the removal of its target leaves exactly one owner", async () => {
    for (let round = 0; round < 4; round++) {
      const { orgId, owner, ownerMemberId } = await orgWithOwner(t, `Race removal ${round}`);
      const admin = await memberWith(t, orgId, ["administrator"]);
      const target = await memberWith(t, orgId, ["operator"]);
      const [tr, rm] = await Promise.all([
        transfer(owner.client, orgId, { memberId: target.memberId, password: STRONG }),
        admin.client.delete(`/api/v1/orgs/${orgId}/members/${target.memberId}`),
      ]);
      const owners = await ownersOf(orgId);
      expect(owners).toHaveLength(1);
      if (tr.statusCode === 200) {
        expect(rm.statusCode).toBe(403);
        expect(owners).toEqual([target.memberId]);
      } else {
        expect(tr.statusCode).toBe(404);
        expect(rm.statusCode).toBe(204);
        expect(owners).toEqual([ownerMemberId]);
      }
    }
  });
});
