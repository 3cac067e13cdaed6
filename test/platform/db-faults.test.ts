// A PostgreSQL server that is down or hung makes the API answer 503 database_unavailable with a
// Retry-After header, quickly, instead of a 500 or a request that hangs. "Down" is a closed port;
// "hung" is a TCP server of this test that accepts connections and never answers (the machine's
// PostgreSQL is never touched).
import net from "node:net";
import { Writable } from "node:stream";
import { sql } from "drizzle-orm";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { loadConfig } from "../../src/server/config.js";
import { type Database, openDatabase } from "../../src/server/db/client.js";
import { installProblemHandlers } from "../../src/server/http/problem.js";
import { APP_URL, TestClient } from "../helpers/app.js";
import { createTestDatabase, onPostgres } from "../helpers/db.js";

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Accepts connections and never says a word: a hung database server. */
async function hungServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP proxy in front of the test's PostgreSQL that hangs (accepts, never answers) until told to forward. */
async function switchableProxy(target: URL): Promise<{ port: number; forward(): void; close(): Promise<void> }> {
  const held = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  let forwarding = false;
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      open.delete(socket);
      held.delete(socket);
    });
    if (!forwarding) {
      held.add(socket);
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    open.add(upstream);
    upstream.on("error", () => socket.destroy());
    upstream.on("close", () => open.delete(upstream));
    socket.on("close", () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    forward: () => {
      forwarding = true;
      // The hung server "restarts": connections it held are dropped.
      for (const s of held) s.destroy();
    },
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Faulty {
  client: TestClient;
  /** Every log entry with an error, as written. */
  errors: { msg: string; err?: { message?: string } }[];
  close(): Promise<void>;
}

async function appOn(port: number, env: Record<string, string>, path = "/chorus"): Promise<Faulty> {
  const config = loadConfig({ NODE_ENV: "test", APP_URL, LOG_LEVEL: "silent", ...env });
  const url = `postgres://postgres@127.0.0.1:${port}${path}`;
  const database = await openDatabase({
    url,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeoutMs,
  });
  const errors: Faulty["errors"] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const entry = JSON.parse(String(chunk));
      if (entry.err) errors.push(entry);
      done();
    },
  });
  const app = await buildApp({ config, database, logger: pino({ level: "warn" }, sink) });
  await app.ready();
  return {
    client: new TestClient(app),
    errors,
    close: async () => {
      await app.close();
      await app.ctx.outbox.stop();
      await database.close();
    },
  };
}

const signIn = (client: TestClient) =>
  client.post("/api/v1/auth/login", { email: "someone@example.com", password: "correct horse battery" });

function expectUnavailable(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  expect(res.statusCode).toBe(503);
  expect(res.headers["content-type"]).toContain("application/problem+json");
  expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
  expect(res.json()).toMatchObject({ status: 503, code: "database_unavailable" });
}

describe.skipIf(!onPostgres)("audit finding 10: database down or hung answers 503 with Retry-After", () => {
  let faulty: Faulty | undefined;
  afterEach(async () => {
    await faulty?.close();
    faulty = undefined;
  });

  it("database down (connection refused): an API route and /readyz answer 503 database_unavailable", async () => {
    faulty = await appOn(await closedPort(), {});
    expectUnavailable(await signIn(faulty.client));
    expectUnavailable(await faulty.client.get("/readyz"));
    expect(faulty.errors.some((e) => /ECONNREFUSED/.test(JSON.stringify(e.err)))).toBe(true);
  });

  it("database hung: an API route answers 503 once the connect timeout fires", async () => {
    const hung = await hungServer();
    try {
      faulty = await appOn(hung.port, { DATABASE_CONNECT_TIMEOUT: "300ms" });
      expectUnavailable(await signIn(faulty.client));
      expect(faulty.errors.some((e) => /timeout/i.test(e.err?.message ?? ""))).toBe(true);
    } finally {
      // The hung server goes first: closing the pool waits for its connection attempts.
      const closing = faulty?.close();
      faulty = undefined;
      await hung.close();
      await closing;
    }
  });

  it("database hung: /readyz answers 503 on its own short timeout, before a long connect timeout", async () => {
    const hung = await hungServer();
    try {
      // The cache off: its LISTEN connection would wait for the long connect timeout at start.
      faulty = await appOn(hung.port, { DATABASE_CONNECT_TIMEOUT: "10m", READYZ_TIMEOUT: "200ms", AUTHZ_CACHE: "off" });
      const res = await faulty.client.get("/readyz");
      expectUnavailable(res);
      expect((res.json() as { detail: string }).detail).toContain("200 ms");
    } finally {
      // The hung server goes first: closing the pool waits for its connection attempts.
      const closing = faulty?.close();
      faulty = undefined;
      await hung.close();
      await closing;
    }
  });
});

describe.skipIf(!onPostgres)("audit finding 10: the app resumes when the database is back", () => {
  it("answers 503 while the server hangs, then serves again, the authorization cache listening again", async () => {
    const database = await createTestDatabase();
    const target = new URL(database.url!);
    const proxy = await switchableProxy(target);
    const faulty = await appOn(proxy.port, { DATABASE_CONNECT_TIMEOUT: "300ms" }, target.pathname);
    try {
      expectUnavailable(await faulty.client.get("/readyz"));
      expectUnavailable(await signIn(faulty.client));

      proxy.forward();
      await vi.waitFor(
        async () => {
          const ready = await faulty.client.get("/readyz");
          expect(ready.statusCode).toBe(200);
          expect(ready.json()).toMatchObject({ authorizationCache: "on" });
        },
        { timeout: 15_000, interval: 200 },
      );
      // An unknown account: the database answered the sign-in.
      expect((await signIn(faulty.client)).statusCode).toBe(401);
    } finally {
      await faulty.close();
      await proxy.close();
      await database.close();
    }
  }, 30_000);
});

describe.skipIf(!onPostgres)("audit finding 10: the pool's timeouts reach the server", () => {
  let base: Database;
  let database: Database;
  let app: FastifyInstance;
  beforeAll(async () => {
    base = await createTestDatabase();
    database = await openDatabase({
      url: base.url,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 150,
      idleInTransactionTimeoutMs: 4_000,
    });
    app = Fastify({ logger: false });
    installProblemHandlers(app);
    app.get("/slow", async () => {
      await database.db.execute(sql`select pg_sleep(5)`);
      return { ok: true };
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    await base?.close();
  });

  it("sets statement_timeout and idle_in_transaction_session_timeout on every pooled connection", async () => {
    const show = async (name: string) =>
      ((await database.db.execute(sql.raw(`show ${name}`))) as unknown as { rows: Record<string, string>[] }).rows[0]![
        name
      ];
    expect(await show("statement_timeout")).toBe("150ms");
    expect(await show("idle_in_transaction_session_timeout")).toBe("4s");
  });

  it("a statement cancelled by statement_timeout answers 503 database_unavailable", async () => {
    expectUnavailable(await app.inject({ method: "GET", url: "/slow" }));
  });
});
