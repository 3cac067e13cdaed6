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
  // A foreign key violation no service mapped: a role that does not exist.
  app.post("/dangling", async () => {
    await database.db.execute(sql`insert into member_roles (org_id, member_id, role_id)
      values ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', 'ghost')`);
    return { ok: true };
  });
  // An error as Drizzle wraps the driver's: { cause: { code | message } }.
  app.get<{ Querystring: { code?: string; message?: string } }>("/fails", async (request) => {
    const driver = Object.assign(new Error(request.query.message ?? "driver error"), { code: request.query.code });
    throw new Error("Failed query: select 1", { cause: driver });
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

describe("audit finding 14: an unmapped foreign key violation", () => {
  it("answers 409 conflict, not 500", async () => {
    const res = await app.inject({ method: "POST", url: "/dangling" });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ status: 409, code: "conflict" });
    expect(res.body).not.toContain("member_roles");
  });
});

describe("audit finding 10: the database unavailable answers 503 with Retry-After", () => {
  it.each<Record<string, string>>([
    { code: "ECONNREFUSED" },
    { code: "ECONNRESET" },
    { code: "ETIMEDOUT" },
    { code: "57P01" },
    { code: "57P03" },
    { code: "08006" },
    { code: "53300" },
    { code: "57014" },
    { message: "timeout exceeded when trying to connect" },
    { message: "Connection terminated unexpectedly" },
    { message: "Query read timeout" },
  ])("%o → 503 database_unavailable", async (query) => {
    const res = await app.inject({ method: "GET", url: "/fails", query });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.json()).toMatchObject({ status: 503, code: "database_unavailable" });
  });

  it.each<Record<string, string>>([{ code: "42P01" }, { message: "something else" }])("%o stays 500", async (query) => {
    expect((await app.inject({ method: "GET", url: "/fails", query })).statusCode).toBe(500);
  });
});
