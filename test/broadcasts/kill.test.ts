/**
 * Issue 16: "restart in the middle of a send with no duplicate (a real process killed with SIGKILL
 * in the test, on PostgreSQL)". A separate Chorus process with job workers (bench/broadcast-worker.ts)
 * sends a broadcast through the fake Graph API; it is killed with SIGKILL mid-run, a new one is
 * started, and the broadcast completes with no recipient requested twice.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { approvedTemplate, registerNumber, startBroadcastWorker } from "../../bench/broadcast-fixture.js";
import { broadcastRecipients } from "../../src/server/db/schema/index.js";
import { INTERRUPTED } from "../../src/server/modules/broadcasts/sender.js";
import { type StandaloneSimulator, startSimulator } from "../../src/server/modules/whatsapp/simulator/server.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { orgWithOwner } from "../helpers/orgs.js";
import { ACCESS_TOKEN, APP_SECRET, connectChannel, WABA_ID } from "../whatsapp/helpers.js";

const N = 150;
const RATE = 40; // messages/s: the run lasts a few seconds, long enough to be killed in the middle

let t: TestApp | undefined;
let sim: StandaloneSimulator | undefined;
const workers: ChildProcess[] = [];

afterAll(async () => {
  for (const w of workers) w.kill("SIGKILL");
  await t?.close();
  await sim?.close();
});

const startWorker = (databaseUrl: string, graphUrl: string) =>
  startBroadcastWorker({
    databaseUrl,
    graphUrl,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    started: (child) => workers.push(child),
  });

async function until(what: string, done: () => Promise<boolean> | boolean, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await sleep(100);
  }
}

describe.skipIf(!onPostgres)("a broadcast whose worker process is killed with SIGKILL (PostgreSQL)", () => {
  it("the restarted worker finishes it; no recipient is requested twice; the dead worker's claims are interrupted, not repeated", async () => {
    sim = await startSimulator({ settings: { delays: { sent: null, delivered: null, read: null }, mps: 0 } });
    t = await createTestApp({ env: { WA_GRAPH_URL: sim.url } });
    const org = await orgWithOwner(t, "Kill Co");
    const ch = await connectChannel(org, { mpsLimit: RATE });
    registerNumber(sim, {
      phoneNumberId: ch.phoneNumberId,
      wabaId: WABA_ID,
      displayPhoneNumber: "+1 555 010 0000",
      verifiedName: "Kill Co",
      accessToken: ACCESS_TOKEN,
      appSecret: APP_SECRET,
    });
    const tpl = await approvedTemplate(t.database.db, sim, {
      orgId: org.orgId,
      channelId: ch.id,
      wabaId: WABA_ID,
      name: "kill_promo",
      metaId: "515151",
      components: [{ type: "BODY", text: "Hi {{1}}!", example: { body_text: [["Ann"]] } }],
    });
    const made = await org.owner.client.post(`/api/v1/orgs/${org.orgId}/lists`, { name: "Everyone" });
    expect(made.statusCode, made.body).toBe(201);
    const listId: string = made.json().id;
    await t.database.db.execute(sql`
      with c as (
        insert into contacts (org_id, phone, name)
        select ${org.orgId}::uuid, '+1777' || lpad(i::text, 7, '0'), 'Person ' || i from generate_series(1, ${N}) i
        returning id
      )
      insert into list_contacts (org_id, list_id, contact_id) select ${org.orgId}::uuid, ${listId}::uuid, id from c`);
    const draft = await org.owner.client.post(`/api/v1/orgs/${org.orgId}/broadcasts`, {
      name: "Killed midway",
      channelId: ch.id,
      templateId: tpl.id,
      variables: { "1": { field: "first_name", fallback: "there" } },
      audience: { listIds: [listId] },
    });
    expect(draft.statusCode, draft.body).toBe(201);
    const id: string = draft.json().id;
    const status = async () =>
      (await org.owner.client.get(`/api/v1/orgs/${org.orgId}/broadcasts/${id}`)).json().status as string;

    // The test app runs no job workers: the worker process sends.
    const databaseUrl = t.database.url!;
    const first = await startWorker(databaseUrl, sim.url);
    const sent = await org.owner.client.post(`/api/v1/orgs/${org.orgId}/broadcasts/${id}/send`, {});
    expect(sent.statusCode, sent.body).toBe(200);
    await until("a third of the audience requested", () => sim!.state.accepted >= N / 3);
    first.kill("SIGKILL");
    await once(first, "exit");
    const atKill = sim.state.accepted;
    expect(atKill).toBeLessThan(N); // killed in the middle

    await startWorker(databaseUrl, sim.url);
    await until("the broadcast to complete", async () => (await status()) === "completed");

    // Exactly once or never: no recipient number was requested twice.
    const counts = [...sim.state.sendsTo.values()];
    expect(counts.every((n) => n === 1)).toBe(true);
    const rows = await t.database.db
      .select()
      .from(broadcastRecipients)
      .where(and(eq(broadcastRecipients.orgId, org.orgId), eq(broadcastRecipients.broadcastId, id)));
    expect(rows).toHaveLength(N);
    const interrupted = rows.filter((r) => r.status === "failed" && r.errorCode === INTERRUPTED);
    const sentRows = rows.filter((r) => r.status === "sent");
    // Every recipient ended sent or interrupted (the dead worker's claims: maybe requested, never again).
    // Interrupted: the batch the dead worker had claimed (none if it died between batches).
    expect(sentRows.length + interrupted.length).toBe(N);
    expect(sentRows.every((r) => (sim!.state.sendsTo.get(r.recipient) ?? 0) === 1)).toBe(true);
    // The restarted worker sent what the dead one had not claimed.
    expect(sim.state.accepted).toBeGreaterThan(atKill);
    expect(sim.state.accepted).toBeLessThanOrEqual(N);
  }, 150_000);
});
