import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../mail/smtp.js";
import { baseEnv, buildServer, ServerProcess } from "./process.js";

const PASSWORD = "correct horse battery staple";
const dirs: string[] = [];
const running: ServerProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startServer(dataDir: string, port: number): Promise<ServerProcess> {
  const p = ServerProcess.spawn(
    // debug: a request's `incoming request` line (at info, a request is logged once, when answered).
    baseEnv({ PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "debug", NODE_ENV: "development" }),
  );
  running.push(p);
  await p.ready();
  return p;
}

/** This machine's addresses other than loopback (link-local ones need a zone: left out). */
function externalAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal && !i.address.startsWith("fe80:"))
    .map((i) => i!.address);
}

function post(port: number, url: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${url}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: `http://localhost:${port}` },
    body: JSON.stringify(body),
  });
}

/** /readyz counts the jobs of every type the app registers. */
const JOB_TYPES = {
  "activity.retention": {
    queued: expect.any(Number),
    deferred: expect.any(Number),
    active: expect.any(Number),
    failed: 0,
  },
  "assignment.backlog": { queued: 0, deferred: 0, active: 0, failed: 0 },
  "automations.run": { queued: 0, deferred: 0, active: 0, failed: 0 },
  "broadcasts.send": { queued: 0, deferred: 0, active: 0, failed: 0 },
  "broadcasts.watchdog": {
    queued: expect.any(Number),
    deferred: expect.any(Number),
    active: expect.any(Number),
    failed: 0,
  },
  "contacts.import": { queued: 0, deferred: 0, active: 0, failed: 0 },
  // Recurring (every 10 minutes, every minute): a slot may be queued or running at that moment.
  "events.prune": { queued: expect.any(Number), deferred: expect.any(Number), active: expect.any(Number), failed: 0 },
  "conversations.wake_snoozed": {
    queued: expect.any(Number),
    deferred: expect.any(Number),
    active: expect.any(Number),
    failed: 0,
  },
  "mail.send": { queued: expect.any(Number), deferred: expect.any(Number), active: expect.any(Number), failed: 0 },
  "notifications.mail": {
    queued: expect.any(Number),
    deferred: expect.any(Number),
    active: expect.any(Number),
    failed: 0,
  },
  "presence.auto_offline": { queued: 0, deferred: 0, active: 0, failed: 0 },
  "presence.sweep_stale_streams": {
    queued: expect.any(Number),
    deferred: expect.any(Number),
    active: expect.any(Number),
    failed: 0,
  },
  "whatsapp.send": { queued: 0, deferred: 0, active: 0, failed: 0 },
  "whatsapp.webhook": { queued: 0, deferred: 0, active: 0, failed: 0 },
};

describe("the real process (tsx src/server/main.ts)", () => {
  it("logs where the data and the mailbox are, keeps PGlite data across a graceful restart, and finishes in-flight requests on SIGTERM", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chorus-proc-"));
    dirs.push(dir);
    const dataDir = path.join(dir, "data");
    const port = await freePort();

    // 1. Start: the start line says where the data and the mailbox are.
    const first = await startServer(dataDir, port);
    const started = await first.ready();
    expect(started.msg).toContain(dataDir);
    expect(started.msg).toContain(`http://localhost:${port}/dev/mailbox`);
    expect(started).toMatchObject({ database: "pglite", data: dataDir });

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toEqual({
      status: "ready",
      database: "pglite",
      authorizationCache: "on",
      jobs: JOB_TYPES,
    });

    // 2. Several sign-ups in flight when SIGTERM arrives: each gets its answer, then exit 0.
    const emails = Array.from({ length: 5 }, (_, i) => `inflight.${i}.${Date.now().toString(36)}@example.com`);
    const answers = emails.map((email) =>
      post(port, "/api/v1/auth/signup", { email, password: PASSWORD, firstName: "In", lastName: "Flight" }),
    );
    await first.waitForCount(
      emails.length,
      (l) => l.msg === "incoming request" && (l.req as { url?: string })?.url === "/api/v1/auth/signup",
    );
    first.child.kill("SIGTERM");
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    expect(statuses).toEqual(emails.map(() => 202));
    const code = await first.exited;
    // On failure, say why: the last log lines and stderr of the server.
    expect(code, `${JSON.stringify(first.lines.slice(-8), null, 1)}\n${first.stderr}`).toBe(0);
    expect(first.lines.some((l) => l.msg === "stopped")).toBe(true);
    expect(first.stderr).toBe("");

    // 3. Start again on the same DATA_DIR: the accounts are still there.
    const second = await startServer(dataDir, port);
    for (const email of [emails[0], emails[4]]) {
      const login = await post(port, "/api/v1/auth/login", { email, password: PASSWORD });
      expect(login.status).toBe(200);
      expect((await login.json()).email).toBe(email);
    }
    const wrong = await post(port, "/api/v1/auth/login", { email: emails[1], password: "not the password!" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("content-type")).toContain("application/problem+json");
    expect(await second.stop()).toBe(0);
  }, 180_000);

  it("audit finding 1: started without HOST, it listens on loopback only", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chorus-proc-"));
    dirs.push(dir);
    const port = await freePort();
    const p = ServerProcess.spawn(baseEnv({ PORT: String(port), DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "info" }));
    running.push(p);
    await p.ready();
    // Fastify logs one line per address it listens on.
    const listening = p.lines
      .filter((l) => typeof l.msg === "string" && l.msg.startsWith("Server listening at "))
      .map((l) => new URL(l.msg.slice("Server listening at ".length)).hostname);
    expect(listening.length).toBeGreaterThan(0);
    for (const host of listening) expect(["127.0.0.1", "[::1]"]).toContain(host);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Another machine, played by this machine's own network address, cannot connect.
    for (const address of externalAddresses()) {
      const host = address.includes(":") ? `[${address}]` : address;
      await expect(fetch(`http://${host}:${port}/dev/mailbox`), address).rejects.toThrow();
    }
    expect(await p.stop()).toBe(0);
  }, 120_000);

  it("stops with one clear line when the port is taken", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chorus-proc-"));
    dirs.push(dir);
    const port = await freePort();
    const blocker = (await import("node:net")).createServer();
    await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", () => r()));
    try {
      const p = ServerProcess.spawn(
        baseEnv({ PORT: String(port), HOST: "127.0.0.1", DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "silent" }),
      );
      running.push(p);
      expect(await p.exited).toBe(1);
      const lines = p.stderr.split("\n").filter((l) => l.trim());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port} is already in use`);
      expect(lines[0]).toContain("PORT");
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 120_000);
});

describe("the compiled server (what npm start runs: node dist/node/src/server/main.js)", () => {
  it("starts on PGlite, serves the API and its OpenAPI document, and stops gracefully", async () => {
    buildServer();
    const dir = mkdtempSync(path.join(os.tmpdir(), "chorus-proc-"));
    dirs.push(dir);
    const port = await freePort();
    const p = ServerProcess.spawn(
      // debug: each request's `incoming request` line.
      baseEnv({ PORT: String(port), HOST: "127.0.0.1", DATA_DIR: path.join(dir, "data"), LOG_LEVEL: "debug" }),
      { compiled: true },
    );
    running.push(p);
    const started = await p.ready();
    expect(started.database).toBe("pglite");
    expect(started.authorizationCache).toBe("on");
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toEqual({
      status: "ready",
      database: "pglite",
      authorizationCache: "on",
      jobs: JOB_TYPES,
    });
    const signup = await post(port, "/api/v1/auth/signup", {
      email: `compiled.${Date.now().toString(36)}@example.com`,
      password: PASSWORD,
      firstName: "Com",
      lastName: "Piled",
    });
    expect(signup.status).toBe(202);
    const catalogue = await fetch(`http://127.0.0.1:${port}/api/openapi.json`);
    expect((await catalogue.json()).openapi).toBe("3.1.0");

    // SIGTERM while sign-ups are in flight on keep-alive connections that the client keeps
    // open afterwards: each gets its answer and the server still stops at once.
    const agent = new http.Agent({ keepAlive: true });
    const answers = [0, 1, 2].map(
      (i) =>
        new Promise<number>((resolve, reject) => {
          const req = http.request(
            {
              host: "127.0.0.1",
              port,
              method: "POST",
              path: "/api/v1/auth/signup",
              agent,
              headers: { "content-type": "application/json", origin: `http://localhost:${port}` },
            },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", reject);
          req.end(
            JSON.stringify({
              email: `keepalive.${i}.${Date.now().toString(36)}@example.com`,
              password: PASSWORD,
              firstName: "Keep",
              lastName: "Alive",
            }),
          );
        }),
    );
    await p.waitForCount(
      4,
      (l) => l.msg === "incoming request" && (l.req as { url?: string })?.url === "/api/v1/auth/signup",
    );
    const stopped = p.stop();
    expect(await Promise.all(answers)).toEqual([202, 202, 202]);
    // A connection holding the server open would end in the forced exit (code 1) after 15 s.
    expect(await stopped).toBe(0);
    agent.destroy();
    expect(p.stderr).toBe("");
  }, 120_000);
});
