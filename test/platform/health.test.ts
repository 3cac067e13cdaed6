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
    const idle = { queued: 0, deferred: 0, active: 0, failed: 0 };
    expect(ready.json()).toEqual({
      status: "ready",
      database: onPostgres ? "postgres" : "pglite",
      authorizationCache: "on",
      jobs: {
        "activity.retention": idle,
        "assignment.backlog": idle,
        "automations.run": idle,
        "broadcasts.send": idle,
        "broadcasts.watchdog": idle,
        "contacts.import": idle,
        "events.prune": idle,
        "conversations.wake_snoozed": idle,
        "mail.send": idle,
        "notifications.mail": idle,
        "presence.auto_offline": idle,
        "presence.sweep_stale_streams": idle,
        "whatsapp.send": idle,
        "whatsapp.webhook": idle,
      },
    });
    expect(ready.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("/readyz counts background jobs per type and state", async () => {
    const mail = { to: "ready@example.com", template: "verifyEmail" as const, locale: "en" as const };
    await t.database.db.transaction((tx) =>
      t.app.ctx.outbox.enqueue(tx, { ...mail, data: { firstName: "R", url: "http://chorus.test/v" } }),
    );
    const queued = (await t.client().get("/readyz")).json();
    expect(queued.jobs["mail.send"]).toEqual({ queued: 1, deferred: 0, active: 0, failed: 0 });
    expect(await t.app.ctx.outbox.drain()).toBe(1);
    expect((await t.client().get("/readyz")).json().jobs["mail.send"]).toEqual({
      queued: 0,
      deferred: 0,
      active: 0,
      failed: 0,
    });
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
