import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";

// Issue 18 (Low): the web app asks who is signed in with a request that does not fail when
// nobody is (GET /me answered 401, which browsers log as a console error on every signed-out page).
describe("GET /auth/session", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers 200 {user: null} without a session, with an unknown token, and after sign-out", async () => {
    const c = t.client();
    const none = await c.get("/api/v1/auth/session");
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ user: null });
    expect(none.headers["cache-control"]).toBe("no-store");

    const bogus = t.client();
    bogus.cookies.chorus_session = "not-a-session";
    const unknown = await bogus.get("/api/v1/auth/session");
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toEqual({ user: null });

    const user = await signUp(c);
    expect((await c.post("/api/v1/auth/logout")).statusCode).toBe(204);
    const after = await c.get("/api/v1/auth/session");
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual({ user: null });
    expect(user.id).toBeTruthy();
  });

  it("answers the same profile as GET /me when signed in", async () => {
    const c = t.client();
    const user = await signUp(c);
    const session = await c.get("/api/v1/auth/session");
    expect(session.statusCode).toBe(200);
    const me = await c.get("/api/v1/me");
    expect(session.json().user).toEqual(me.json());
    expect(session.json().user.id).toBe(user.id);
  });
});
