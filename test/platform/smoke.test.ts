import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe("service skeleton", () => {
  it("answers /healthz and /readyz", async () => {
    const c = t.client();
    expect((await c.get("/healthz")).json()).toEqual({ status: "ok" });
    const ready = await c.get("/readyz");
    expect(ready.statusCode).toBe(200);
    expect(ready.json().status).toBe("ready");
  });

  it("answers unknown routes with problem+json 404", async () => {
    const res = await t.client().get("/api/v1/nope");
    expect(res.statusCode).toBe(404);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({ status: 404, code: "route_not_found" });
  });

  it("signs up, reads the session cookie, signs out", async () => {
    const c = t.client();
    const user = await signUp(c);
    expect(user.email).toMatch(/@example.com$/);
    expect(c.cookies.chorus_session).toBeTruthy();
    const out = await c.post("/api/v1/auth/logout");
    expect(out.statusCode).toBe(204);
    const again = await c.post("/api/v1/auth/logout");
    expect(again.statusCode).toBe(401);
  });

  it("rejects malformed JSON with 400 problem+json", async () => {
    const res = await t.client().post("/api/v1/auth/login", "{not json", { "content-type": "application/json" });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("malformed_json");
  });

  it("reports field errors", async () => {
    const res = await t
      .client()
      .post("/api/v1/auth/signup", { email: "nope", password: "short", firstName: "", lastName: "x" });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe("validation_failed");
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "firstName", "password"]);
  });

  it("serves the OpenAPI document", async () => {
    const res = await t.client().get("/api/openapi.json");
    expect(res.statusCode).toBe(200);
    expect(res.json().openapi).toBe("3.1.0");
    expect(Object.keys(res.json().paths)).toContain("/api/v1/auth/signup");
  });
});
