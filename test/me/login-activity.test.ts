import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem, signUpWithTwoFactor, totpCode } from "../auth/support.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("GET /me/login-activity", () => {
  it("lists own attempts newest first: success, failure reason, user agent, 2FA", async () => {
    const user = await signUpWithTwoFactor(t);
    const wrong = t.client();
    wrong.headers["user-agent"] = "Guesser/1.0";
    await wrong.post("/api/v1/auth/login", { email: user.email, password: "wrong password here" });
    const login = await t.client().post("/api/v1/auth/login", { email: user.email, password: user.password });
    const done = await t.client().post("/api/v1/auth/login/2fa", {
      challengeToken: login.json().challengeToken,
      code: await totpCode(user.secret),
    });
    expect(done.statusCode).toBe(200);

    const res = await user.client.get("/api/v1/me/login-activity");
    expect(res.statusCode).toBe(200);
    const items = res.json().items;
    expect(items.map((i: { success: boolean; method: string }) => [i.success, i.method])).toEqual([
      [true, "totp"],
      [false, "password"],
      [true, "email_link"],
    ]);
    expect(items[0]).toMatchObject({ twoFactorUsed: true, failureReason: null, ip: "127.0.0.1", userAgent: "vitest" });
    expect(items[1]).toMatchObject({
      twoFactorUsed: false,
      failureReason: "invalid_password",
      userAgent: "Guesser/1.0",
    });
    expect(Date.parse(items[0].at)).toBeGreaterThanOrEqual(Date.parse(items[1].at));
  });

  it("pages with a cursor and shows nobody else's attempts", async () => {
    const c = t.client();
    const user = await signUp(c);
    const other = await signUp(t.client());
    for (let i = 0; i < 3; i++)
      await t.client().post("/api/v1/auth/login", { email: user.email, password: user.password });
    await t.client().post("/api/v1/auth/login", { email: other.email, password: other.password });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await c.get(`/api/v1/me/login-activity?limit=2${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(4); // sign-up + 3 sign-ins
    expect(new Set(seen).size).toBe(4);
  });

  it("validates the query and needs a session", async () => {
    const c = t.client();
    await signUp(c);
    expectProblem(await c.get("/api/v1/me/login-activity?limit=0"), 400, "validation_failed");
    expectProblem(await c.get("/api/v1/me/login-activity?cursor=abc"), 400, "invalid_cursor");
    expectProblem(await t.client().get("/api/v1/me/login-activity"), 401, "unauthenticated");
  });
});
