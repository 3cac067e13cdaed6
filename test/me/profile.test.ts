import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTIFICATION_KINDS } from "../../src/shared/notifications.js";
import { expectProblem } from "../auth/support.js";
import { addMember, createOrg } from "../helpers/activity.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("GET /me", () => {
  it("needs a session", async () => {
    expectProblem(await t.client().get("/api/v1/me"), 401, "unauthenticated");
  });

  it("shows the profile with default notification preferences and no memberships", async () => {
    const c = t.client();
    const user = await signUp(c);
    const me = (await c.get("/api/v1/me")).json();
    expect(me).toMatchObject({
      id: user.id,
      email: user.email,
      // signUp follows the emailed link, which verifies the address and signs in.
      emailVerified: true,
      twoFactorEnabled: false,
      recoveryCodesRemaining: null,
      language: "en",
      pictureUrl: null,
      phone: null,
      memberships: [],
    });
    for (const kind of NOTIFICATION_KINDS) expect(me.notificationPreferences[kind.key]).toEqual(kind.defaults);
  });

  it("lists memberships with organization name, ownership and roles", async () => {
    const c = t.client();
    const user = await signUp(c, { firstName: "Grace", lastName: "Hopper" });
    const self = { ...user, token: "" };
    const owner = { ...(await signUp(t.client())), token: "" };
    const own = await createOrg(t.database.db, self, { name: "Zeta Own" });
    const other = await createOrg(t.database.db, owner, { name: "Alpha Other" });
    const memberId = await addMember(t.database.db, other.orgId, self, ["template_manager", "operator"]);

    const me = (await c.get("/api/v1/me")).json();
    expect(me.memberships).toEqual([
      {
        orgId: other.orgId,
        orgName: "Alpha Other",
        memberId,
        isOwner: false,
        roleIds: ["operator", "template_manager"],
      },
      { orgId: own.orgId, orgName: "Zeta Own", memberId: own.ownerMemberId, isOwner: true, roleIds: [] },
    ]);
  });
});

describe("PATCH /me", () => {
  it("edits the profile and normalizes the phone number", async () => {
    const c = t.client();
    await signUp(c);
    const res = await c.patch("/api/v1/me", {
      firstName: " Ada ",
      lastName: "Byron",
      pictureUrl: "https://cdn.example.com/ada.png",
      phone: "+34 600 12-34-56",
      language: "es",
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      firstName: "Ada",
      lastName: "Byron",
      pictureUrl: "https://cdn.example.com/ada.png",
      phone: "+34600123456",
      language: "es",
    });
    expect((await c.get("/api/v1/me")).json().phone).toBe("+34600123456");

    const cleared = await c.patch("/api/v1/me", { pictureUrl: null, phone: null });
    expect(cleared.json()).toMatchObject({ pictureUrl: null, phone: null, firstName: "Ada", language: "es" });
  });

  it("merges notification preferences per kind and channel", async () => {
    const c = t.client();
    await signUp(c);
    await c.patch("/api/v1/me", { notificationPreferences: { role_changed: { email: false } } });
    const res = await c.patch("/api/v1/me", {
      notificationPreferences: { role_changed: { inApp: false }, conversation_assigned: { email: true } },
    });
    expect(res.statusCode).toBe(200);
    const prefs = res.json().notificationPreferences;
    expect(prefs.role_changed).toEqual({ email: false, inApp: false });
    expect(prefs.conversation_assigned).toEqual({ email: true, inApp: true });
    expect(prefs.member_removed).toEqual({ email: true, inApp: true });
  });

  it("keeps security alerts by email on", async () => {
    const c = t.client();
    await signUp(c);
    const res = await c.patch("/api/v1/me", { notificationPreferences: { security_alert: { email: false } } });
    expectProblem(res, 400, "validation_failed");
    expect(res.json().errors[0].path).toBe("notificationPreferences.security_alert.email");
    const inApp = await c.patch("/api/v1/me", { notificationPreferences: { security_alert: { inApp: false } } });
    expect(inApp.json().notificationPreferences.security_alert).toEqual({ email: true, inApp: false });
  });

  it.each([
    [{ pictureUrl: "http://cdn.example.com/a.png" }, "pictureUrl"],
    [{ pictureUrl: "javascript:alert(1)" }, "pictureUrl"],
    [{ phone: "600123456" }, "phone"],
    [{ phone: "+12" }, "phone"],
    [{ language: "fr" }, "language"],
    [{ firstName: "" }, "firstName"],
    [{ email: "new@example.com" }, ""],
    [{ notificationPreferences: { not_a_kind: { email: true } } }, "notificationPreferences"],
    [{ notificationPreferences: { role_changed: { sms: true } } }, "notificationPreferences"],
  ])("refuses %j with a field error", async (body, path) => {
    const c = t.client();
    await signUp(c);
    const res = await c.patch("/api/v1/me", body);
    expectProblem(res, 400, "validation_failed");
    expect(
      res
        .json()
        .errors.map((e: { path: string }) => e.path)
        .join(" "),
    ).toContain(path);
  });
});
