import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { createTestDatabase, onPostgres } from "../helpers/db.js";

describe("health probes", () => {
  let database: Database;
  let t: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    t = await createTestApp({ database });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("/healthz and /readyz answer while the database is up", async () => {
    const live = await t.client().get("/healthz");
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: "ok" });
    const ready = await t.client().get("/readyz");
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: "ready",
      database: onPostgres ? "postgres" : "pglite",
      authorizationCache: "on",
    });
    expect(ready.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("/readyz answers 503 problem+json once the database is closed; /healthz stays up", async () => {
    await database.close();
    const ready = await t.client().get("/readyz");
    expect(ready.statusCode).toBe(503);
    expect(ready.headers["content-type"]).toContain("application/problem+json");
    expect(ready.json()).toMatchObject({ status: 503, code: "database_unavailable" });
    expect((await t.client().get("/healthz")).statusCode).toBe(200);
  });
});
