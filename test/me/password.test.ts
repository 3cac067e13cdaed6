import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REAUTH_FAILURES_PER_HOUR } from "../../src/server/modules/auth/reauth.js";
import { expectProblem, seedRateLimitHits } from "../auth/support.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";

const NEW_PASSWORD = "another long passphrase 9";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("POST /me/password", () => {
  it("changes the password, signs the other sessions out and keeps this one", async () => {
    const c = t.client();
    const user = await signUp(c);
    const other = t.client();
    await other.post("/api/v1/auth/login", { email: user.email, password: user.password });
    expect((await other.get("/api/v1/me")).statusCode).toBe(200);

    const res = await c.post("/api/v1/me/password", { currentPassword: user.password, newPassword: NEW_PASSWORD });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ otherSessionsRevoked: 1 });
    expect((await c.get("/api/v1/me")).statusCode).toBe(200);
    expectProblem(await other.get("/api/v1/me"), 401, "session_expired");

    const login = (password: string) => t.client().post("/api/v1/auth/login", { email: user.email, password });
    expectProblem(await login(user.password), 401, "invalid_credentials");
    expect((await login(NEW_PASSWORD)).statusCode).toBe(200);
  });

  it("refuses a wrong current password", async () => {
    const c = t.client();
    await signUp(c);
    const res = await c.post("/api/v1/me/password", { currentPassword: "not my password", newPassword: NEW_PASSWORD });
    expectProblem(res, 400, "current_password_incorrect");
    expect(res.json().errors[0].path).toBe("currentPassword");
  });

  it("refuses a common or short new password", async () => {
    const c = t.client();
    const user = await signUp(c);
    const common = await c.post("/api/v1/me/password", { currentPassword: user.password, newPassword: "qwertyuiop" });
    expectProblem(common, 400, "password_too_common");
    expect(common.json().errors[0].path).toBe("newPassword");
    const short = await c.post("/api/v1/me/password", { currentPassword: user.password, newPassword: "short" });
    expectProblem(short, 400, "validation_failed");
  });

  it("limits wrong passwords per account (429), even with the right one after", async () => {
    const c = t.client();
    const user = await signUp(c);
    await seedRateLimitHits(t, `reauth:user:${user.id}`, MAX_REAUTH_FAILURES_PER_HOUR - 1);
    expectProblem(
      await c.post("/api/v1/me/password", { currentPassword: "wrong password", newPassword: NEW_PASSWORD }),
      400,
      "current_password_incorrect",
    );
    const res = await c.post("/api/v1/me/password", { currentPassword: user.password, newPassword: NEW_PASSWORD });
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("needs a session", async () => {
    expectProblem(
      await t.client().post("/api/v1/me/password", { currentPassword: "x", newPassword: NEW_PASSWORD }),
      401,
      "unauthenticated",
    );
  });
});
