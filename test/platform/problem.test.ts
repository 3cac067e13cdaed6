import { sql } from "drizzle-orm";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import { installProblemHandlers } from "../../src/server/http/problem.js";
import { createTestDatabase } from "../helpers/db.js";

// The schemas refuse NUL in every text field they know; this is the net behind them, for a
// field a future schema forgets: the database's own refusal must still be a 400, not a 500.
let database: Database;
let app: FastifyInstance;
beforeAll(async () => {
  database = await createTestDatabase();
  app = Fastify({ logger: false });
  installProblemHandlers(app);
  app.post<{ Body: { text: string } }>("/store", async (request) => {
    await database.db.execute(sql`select ${request.body.text}::text as stored`);
    return { ok: true };
  });
  app.get("/broken", async () => {
    await database.db.execute(sql`select * from no_such_table`);
    return { ok: true };
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe("problem handler", () => {
  it("answers 400 invalid_text when the database refuses the text", async () => {
    const res = await app.inject({ method: "POST", url: "/store", payload: { text: "a\u0000b" } });
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.json()).toMatchObject({ status: 400, code: "invalid_text" });
  });

  it("lets the same route store ordinary text", async () => {
    const res = await app.inject({ method: "POST", url: "/store", payload: { text: "año ✓ 😀" } });
    expect(res.statusCode).toBe(200);
  });

  it("still answers 500 internal_error, without details, for other database failures", async () => {
    const res = await app.inject({ method: "GET", url: "/broken" });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: "internal_error", detail: "Something went wrong on our side." });
    expect(res.body).not.toContain("no_such_table");
  });
});
