import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { activity, broadcastRecipients, broadcasts, messageTemplates } from "../../src/server/db/schema/index.js";
import { broadcastSendJob } from "../../src/server/modules/broadcasts/jobs.js";
import { INTERRUPTED, runBroadcastSend } from "../../src/server/modules/broadcasts/sender.js";
import { FREEZE_CHUNK, freezeAudience } from "../../src/server/modules/broadcasts/service.js";
import { zonedToUtc } from "../../src/server/modules/broadcasts/time.js";
import { type StandaloneSimulator, startSimulator } from "../../src/server/modules/whatsapp/simulator/server.js";
import { createTestApp, type TestApp, type TestClient } from "../helpers/app.js";
import { memberWith, type OrgFixture, orgWithOwner, type Person } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  type ChannelFixture,
  connectChannel,
  drainWebhooks,
  envelope,
  inbound,
  messagesValue,
  postWebhook,
  WABA_ID,
} from "../whatsapp/helpers.js";

let t: TestApp;
let sim: StandaloneSimulator;
let base: string;
let org: OrgFixture;
let other: OrgFixture;
let ch: ChannelFixture;
type M = Person & { memberId: string };
let manager: M;
let templater: M;
let operator: M;
let editorOnly: M;
let readerOnly: M;

const url = (path = "", orgId = org.orgId) => `/api/v1/orgs/${orgId}/broadcasts${path}`;
const owner = () => org.owner.client;

let seq = 0;
const uniq = (p: string) => `${p}_${Date.now().toString(36)}_${++seq}`;
let phoneSeq = 0;
/** Distinct numbers; `suffix` picks the fake Graph's behaviour (…0000 → 131026). */
const exchange = String(100 + (Date.now() % 900));
const phone = (suffix?: string) => {
  phoneSeq++;
  return `+1555${exchange}${suffix ?? String(phoneSeq).padStart(4, "0")}`;
};

/** An APPROVED template in Chorus and at the fake Graph API (as if Meta had approved it). */
async function approvedTemplate(over: { name?: string; body?: string; status?: string } = {}) {
  const name = over.name ?? uniq("promo");
  const metaId = String(1_000_000 + ++seq);
  const components = [
    {
      type: "BODY",
      text: over.body ?? "Hi {{1}}, your code is {{2}}.",
      example: { body_text: [["Ann", "A-1"]] },
    },
  ];
  const [row] = await t.database.db
    .insert(messageTemplates)
    .values({
      orgId: org.orgId,
      channelId: ch.id,
      wabaId: WABA_ID,
      name,
      language: "en_US",
      category: "MARKETING",
      components,
      status: (over.status ?? "APPROVED") as "APPROVED",
      metaId,
    })
    .returning();
  sim.state.templates.set(metaId, {
    id: metaId,
    wabaId: WABA_ID,
    name,
    language: "en_US",
    category: "MARKETING",
    components,
    status: over.status ?? "APPROVED",
  });
  return row!;
}

async function contact(body: Record<string, unknown>): Promise<string> {
  const res = await owner().post(`/api/v1/orgs/${org.orgId}/contacts`, body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

async function list(contactIds: string[]): Promise<string> {
  const res = await owner().post(`/api/v1/orgs/${org.orgId}/lists`, { name: uniq("List") });
  expect(res.statusCode, res.body).toBe(201);
  const id = res.json().id;
  const add = await owner().post(`/api/v1/orgs/${org.orgId}/lists/${id}/contacts`, { contactIds });
  expect(add.statusCode, add.body).toBeLessThan(300);
  return id;
}

async function tag(): Promise<string> {
  const res = await owner().post(`/api/v1/orgs/${org.orgId}/tags`, { name: uniq("Tag") });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const mapping = { "1": { field: "name", fallback: "there" }, "2": { attribute: "code", fallback: "NONE" } };

async function draft(client: TestClient, over: Record<string, unknown> & { templateId: string }) {
  const res = await client.post(url(), {
    name: uniq("Campaign"),
    channelId: ch.id,
    variables: mapping,
    audience: {},
    ...over,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** N fresh contacts in a new list. */
async function audienceOf(n: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await contact({ phone: phone(), name: `Person ${i}`, ...extra(i) }));
  return { ids, listId: await list(ids) };
}

async function recipientsOf(broadcastId: string) {
  return t.database.db
    .select()
    .from(broadcastRecipients)
    .where(and(eq(broadcastRecipients.orgId, org.orgId), eq(broadcastRecipients.broadcastId, broadcastId)));
}

/** Requests the fake Graph API accepted per recipient number. */
const sendsTo = (recipient: string) => sim.state.sendsTo.get(recipient) ?? 0;

/** Webhooks come from the fake Graph API on its own schedule: apply them until `done` holds (or give up). */
async function until(done: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 300; i++) {
    await drainWebhooks(t);
    if (await done()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting: ${what}`);
}

async function detail(id: string) {
  const res = await owner().get(url(`/${id}`));
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

beforeAll(async () => {
  sim = await startSimulator({ settings: { delays: { sent: 5, delivered: 15, read: null }, templateDelayMs: 60_000 } });
  t = await createTestApp({ env: { WA_GRAPH_URL: sim.url } });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  org = await orgWithOwner(t, "Broadcast Co");
  other = await orgWithOwner(t, "Other Co");
  ch = await connectChannel(org, { mpsLimit: 200 });
  sim.numbers.set(ch.phoneNumberId, {
    phoneNumberId: ch.phoneNumberId,
    wabaId: WABA_ID,
    displayPhoneNumber: "+1 555 010 0000",
    verifiedName: "Broadcast Co",
    accessToken: ACCESS_TOKEN,
    appSecret: APP_SECRET,
    webhookUrl: `${base}/api/v1/webhooks/whatsapp/${ch.webhookKey}`,
  });
  const editRole = await insertCustomRole(
    t.database.db,
    org.orgId,
    ["broadcasts:read", "broadcasts:manage", "templates:read", "contacts:read"],
    "Editor",
  );
  const readRole = await insertCustomRole(t.database.db, org.orgId, ["broadcasts:read"], "Watcher");
  const made = (await Promise.all([
    memberWith(t, org.orgId, ["broadcast_manager"], { firstName: "Bea", lastName: "Broadcast" }),
    memberWith(t, org.orgId, ["template_manager"], { firstName: "Tom", lastName: "Template" }),
    memberWith(t, org.orgId, ["operator"], { firstName: "Otto", lastName: "Operator" }),
    memberWith(t, org.orgId, [editRole], { firstName: "Ed", lastName: "Editor" }),
    memberWith(t, org.orgId, [readRole], { firstName: "Wes", lastName: "Watcher" }),
  ])) as M[];
  [manager, templater, operator, editorOnly, readerOnly] = made as [M, M, M, M, M];
});
afterAll(async () => {
  await t?.close();
  await sim?.close();
});
beforeEach(() => {
  sim.state.faults = [];
});

describe("permissions", () => {
  it("read / manage / send are split; a Template Manager and an Operator see no broadcasts; another org's id is 404", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(1);
    // Broadcast Manager: everything.
    const b = await draft(manager.client, { templateId: tpl.id, audience: { listIds: [listId] } });
    expect(b.createdByMemberId).toBe(manager.memberId);
    expect((await manager.client.get(url())).statusCode).toBe(200);
    // Editor (manage, no send): edits, cannot send.
    const edited = await editorOnly.client.patch(url(`/${b.id}`), { name: "Edited by Ed" });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json().updatedByMemberId).toBe(editorOnly.memberId);
    const refused = await editorOnly.client.post(url(`/${b.id}/send`), {});
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe("permission_denied");
    // Watcher (read only): reads, cannot create, edit or send.
    expect((await readerOnly.client.get(url(`/${b.id}`))).statusCode).toBe(200);
    expect((await readerOnly.client.get(url(`/${b.id}/recipients`))).statusCode).toBe(200);
    expect((await readerOnly.client.post(url(), { name: "x", channelId: ch.id, templateId: tpl.id })).statusCode).toBe(
      403,
    );
    expect((await readerOnly.client.patch(url(`/${b.id}`), { name: "nope" })).statusCode).toBe(403);
    expect((await readerOnly.client.post(url(`/${b.id}/pause`), {})).statusCode).toBe(403);
    // Template Manager and Operator: no broadcasts at all.
    for (const who of [templater, operator]) {
      expect((await who.client.get(url())).statusCode).toBe(403);
      expect((await who.client.get(url(`/${b.id}`))).statusCode).toBe(403);
    }
    // Another organization: its owner gets 404 for this id under their own org.
    const foreign = await other.owner.client.get(url(`/${b.id}`, other.orgId));
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().code).toBe("broadcast_not_found");
    expect((await other.owner.client.post(url(`/${b.id}/send`, other.orgId), {})).statusCode).toBe(404);
    expect((await other.owner.client.get(url(`/${b.id}/recipients/export`, other.orgId))).statusCode).toBe(404);
    // Manager sends.
    const sent = await manager.client.post(url(`/${b.id}/send`), {});
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().sentByMemberId).toBe(manager.memberId);
    await t.app.ctx.jobs.drain(broadcastSendJob);
  });
});

describe("validation", () => {
  it("names the field and the reason", async () => {
    const tpl = await approvedTemplate();
    const pending = await approvedTemplate({ status: "PENDING" });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ name: "" }, "name", "validation_failed"],
      [{ variables: { "9": { text: "x" } } }, "variables.9", "unknown_variable"],
      [{ variables: { "1": { field: "birthday" } } }, "variables.1", "validation_failed"],
      [{ templateId: pending.id }, "templateId", "template_not_approved"],
      [{ audience: { listIds: ["00000000-0000-4000-8000-000000000000"] } }, "audience.listIds.0", "unknown_audience"],
      [{ audience: { tagIds: ["00000000-0000-4000-8000-000000000000"] } }, "audience.tagIds.0", "unknown_audience"],
      [
        { audience: { contactIds: ["00000000-0000-4000-8000-000000000000"] } },
        "audience.contactIds.0",
        "unknown_audience",
      ],
      [{ scheduledAt: "next tuesday" }, "scheduledAt", "validation_failed"],
      [{ scheduledAt: "2026-02-30T09:00" }, "scheduledAt", "invalid_schedule"],
      [{ channelId: "00000000-0000-4000-8000-000000000000" }, "channelId", "unknown_channel"],
    ];
    for (const [over, path, code] of cases) {
      const res = await owner().post(url(), {
        name: "Valid name",
        channelId: ch.id,
        templateId: tpl.id,
        variables: {},
        ...over,
      });
      expect(res.statusCode, `${path}: ${res.body}`).toBe(400);
      const body = res.json();
      expect(body.code, path).toBe(code);
      expect(body.errors.map((e: { path: string }) => e.path)).toContain(path);
      expect(body.errors.every((e: { message: string }) => e.message.length > 0)).toBe(true);
    }
    // Sending needs every variable mapped: 400 naming the missing one.
    const { listId } = await audienceOf(1);
    const b = await draft(owner(), {
      templateId: tpl.id,
      variables: { "1": { field: "name" } },
      audience: { listIds: [listId] },
    });
    const res = await owner().post(url(`/${b.id}/send`), {});
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("broadcast_variables_missing");
    expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual(["variables.2"]);
    // An empty audience is refused at send.
    const empty = await draft(owner(), { templateId: tpl.id });
    const none = await owner().post(url(`/${empty.id}/send`), {});
    expect(none.statusCode).toBe(409);
    expect(none.json().code).toBe("broadcast_audience_empty");
  });

  it("a wall-clock schedule is read in the organization's timezone; an offset is kept", () => {
    expect(zonedToUtc("2026-12-01T09:00", "UTC")!.toISOString()).toBe("2026-12-01T09:00:00.000Z");
    expect(zonedToUtc("2026-12-01T09:00", "Europe/Madrid")!.toISOString()).toBe("2026-12-01T08:00:00.000Z");
    expect(zonedToUtc("2026-07-01T09:00", "America/New_York")!.toISOString()).toBe("2026-07-01T13:00:00.000Z");
    expect(zonedToUtc("2026-07-01T09:00+02:00", "America/New_York")!.toISOString()).toBe("2026-07-01T07:00:00.000Z");
    expect(zonedToUtc("2026-02-29T09:00", "UTC")).toBeNull();
  });
});

describe("audience", () => {
  it("counts distinct contacts, leaves out opted-out ones and counts duplicates; previews one contact", async () => {
    const tpl = await approvedTemplate();
    const c1 = await contact({ phone: phone(), name: "Ann Lee", attributes: { code: "A-1" } });
    const c2 = await contact({ phone: phone(), name: "Bo" });
    const c3 = await contact({ phone: phone() });
    const c4 = await contact({ phone: phone(), name: "Dee" });
    const c5 = await contact({ phone: phone(), name: "Opted Out", optedOut: true });
    const l = await list([c1, c2, c3]);
    const tg = await tag();
    for (const c of [c2, c4]) {
      const res = await owner().patch(`/api/v1/orgs/${org.orgId}/contacts/${c}`, { tagIds: [tg] });
      expect(res.statusCode, res.body).toBe(200);
    }
    const audience = { listIds: [l], tagIds: [tg], contactIds: [c1, c5] };
    // references: list 3 + tag 2 + contacts 2 = 7; distinct 5; opted out 1 → 4 receive, 2 duplicates.
    const size = await manager.client.post(url("/audience"), { audience });
    expect(size.statusCode, size.body).toBe(200);
    expect(size.json()).toEqual({ size: 4, optedOut: 1, duplicates: 2 });

    const preview = await manager.client.post(url("/preview"), {
      templateId: tpl.id,
      variables: mapping,
      contactId: c1,
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().body).toBe("Hi Ann Lee, your code is A-1.");
    const fallback = await manager.client.post(url("/preview"), {
      templateId: tpl.id,
      variables: mapping,
      contactId: c3,
    });
    expect(fallback.json().body).toBe("Hi there, your code is NONE.");
    const opted = await manager.client.post(url("/preview"), { templateId: tpl.id, variables: mapping, contactId: c5 });
    expect(opted.json().optedOut).toBe(true);

    // The draft shows the same size; the send freezes exactly those 4, each once.
    const b = await draft(manager.client, { templateId: tpl.id, audience });
    expect(b.audienceSize).toEqual({ size: 4, optedOut: 1, duplicates: 2 });
    const sent = await manager.client.post(url(`/${b.id}/send`), {});
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().excluded).toEqual({ optedOut: 1, duplicates: 2 });
    const rows = await recipientsOf(b.id);
    expect(rows.map((r) => r.contactId).sort()).toEqual([c1, c2, c3, c4].sort());
    expect(rows.find((r) => r.contactId === c1)!.variables).toEqual({ "1": "Ann Lee", "2": "A-1" });
    expect(rows.find((r) => r.contactId === c3)!.variables).toEqual({ "1": "there", "2": "NONE" });
    await t.app.ctx.jobs.drain(broadcastSendJob);
  });
});

describe("sending", () => {
  it("sends through the fake Graph API once per recipient; status webhooks give exact counts; replies count; finished notifies creator and sender", async () => {
    const tpl = await approvedTemplate();
    const ok = await audienceOf(4, (i) => ({ attributes: { code: `C-${i}` } }));
    const undeliverable = await contact({ phone: phone("0000"), name: "Gone", attributes: { code: "X" } });
    const l = await list([...ok.ids, undeliverable]);
    const b = await draft(editorOnly.client, { templateId: tpl.id, audience: { listIds: [l] } });

    // Two sends at once: one wins, the other is 409.
    const [r1, r2] = await Promise.all([
      manager.client.post(url(`/${b.id}/send`), {}),
      owner().post(url(`/${b.id}/send`), {}),
    ]);
    expect([r1.statusCode, r2.statusCode].sort()).toEqual([200, 409]);
    const loser = r1.statusCode === 409 ? r1 : r2;
    expect(loser.json().code).toBe("broadcast_state_conflict");
    expect((await recipientsOf(b.id)).length).toBe(5);

    await t.app.ctx.jobs.drain(broadcastSendJob);
    const rows = await recipientsOf(b.id);
    for (const r of rows) expect(sendsTo(r.recipient), r.recipient).toBe(1);
    // The request Meta received: the template, its language, the rendered values, our recipient id.
    const req = sim.state.requests.find(
      (x) => (x.body as { biz_opaque_callback_data?: string }).biz_opaque_callback_data === rows[0]!.id,
    )!;
    expect((req.body as { template: unknown }).template).toEqual({
      name: tpl.name,
      language: { code: "en_US" },
      components: [
        {
          type: "body",
          parameters: [
            { type: "text", text: rows[0]!.variables["1"] },
            { type: "text", text: rows[0]!.variables["2"] },
          ],
        },
      ],
    });

    await until(async () => {
      const d = await detail(b.id);
      return d.status === "completed" && d.counts.delivered === 4 && d.counts.failed === 1;
    }, "4 delivered, 1 failed");
    const d = await detail(b.id);
    expect(d.counts).toMatchObject({ total: 5, queued: 0, sent: 4, delivered: 4, read: 0, failed: 1 });
    expect(d.failureReasons).toEqual([{ code: 131026, title: "Message undeliverable", count: 1 }]);

    // A customer answers: replies received.
    const answering = rows.find((r) => r.contactId === ok.ids[0])!;
    const res = await postWebhook(
      t,
      ch.webhookKey,
      inbound(ch.phoneNumberId, answering.recipient, { type: "text", text: { body: "Yes please" } }),
    );
    expect(res.statusCode).toBe(200);
    // Until: the fake Graph API's late status webhooks may hold the batch this reply joins.
    await until(async () => (await detail(b.id)).counts.replied === 1, "1 reply");
    expect((await detail(b.id)).counts.replied).toBe(1);

    // Recipients, by cursor.
    const page1 = await owner().get(url(`/${b.id}/recipients?limit=3`));
    expect(page1.json().items).toHaveLength(3);
    const page2 = await owner().get(url(`/${b.id}/recipients?limit=3&cursor=${page1.json().nextCursor}`));
    expect(page2.json().items).toHaveLength(2);
    expect(page2.json().nextCursor).toBeNull();
    const failed = await owner().get(url(`/${b.id}/recipients?status=failed`));
    expect(failed.json().items.map((r: { errorCode: number }) => r.errorCode)).toEqual([131026]);

    // Timeline: created, sent, completed (system) with the members notified: creator and sender.
    const timeline = (await readerOnly.client.get(url(`/${b.id}/timeline`))).json().items;
    expect(timeline.map((x: { action: string }) => x.action).reverse()).toEqual([
      "broadcast.created",
      "broadcast.sent",
      "broadcast.completed",
    ]);
    const sender = r1.statusCode === 200 ? manager.memberId : null;
    const completed = timeline[0];
    expect(completed.actorType).toBe("system");
    expect([...completed.changes.notified.after].sort()).toEqual(
      [editorOnly.memberId, sender ?? (await detail(b.id)).sentByMemberId]
        .filter((x, i, a) => a.indexOf(x) === i)
        .sort(),
    );
    // The creator finds it under the bell (broadcast_finished is in-app by default).
    const bell = (await editorOnly.client.get(`/api/v1/orgs/${org.orgId}/notifications`)).json();
    expect(bell.items).toContainEqual(
      expect.objectContaining({ kind: "broadcast_finished", broadcastId: b.id, subjectName: b.name }),
    );
    // Not editable any more.
    const edit = await owner().patch(url(`/${b.id}`), { name: "late" });
    expect(edit.statusCode).toBe(409);
    expect(edit.json().code).toBe("broadcast_not_draft");
    expect((await owner().delete(url(`/${b.id}`))).statusCode).toBe(409);
  });

  it("pause, resume and cancel are compare-and-set transitions, each with its activity record", async () => {
    const tpl = await approvedTemplate();
    const { ids, listId } = await audienceOf(6);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    expect((await owner().post(url(`/${b.id}/pause`), {})).statusCode).toBe(409); // a draft does not pause
    expect((await manager.client.post(url(`/${b.id}/send`), {})).statusCode).toBe(200);
    const paused = await manager.client.post(url(`/${b.id}/pause`), {});
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json().status).toBe("paused");
    expect((await manager.client.post(url(`/${b.id}/pause`), {})).statusCode).toBe(409);
    await t.app.ctx.jobs.drain(broadcastSendJob); // the job finds it paused: sends nothing
    const rows = await recipientsOf(b.id);
    expect(rows.every((r) => r.status === "queued")).toBe(true);
    expect(rows.every((r) => sendsTo(r.recipient) === 0)).toBe(true);
    const resumed = await manager.client.post(url(`/${b.id}/resume`), {});
    expect(resumed.json().status).toBe("sending");
    await t.app.ctx.jobs.drain(broadcastSendJob);
    expect((await detail(b.id)).status).toBe("completed");
    expect((await recipientsOf(b.id)).every((r) => sendsTo(r.recipient) === 1)).toBe(true);
    expect(ids).toHaveLength(6);

    const c = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    await manager.client.post(url(`/${c.id}/send`), {});
    const cancelled = await manager.client.post(url(`/${c.id}/cancel`), {});
    expect(cancelled.json().status).toBe("cancelled");
    expect(cancelled.json().counts).toMatchObject({ total: 6, cancelled: 6, queued: 0 });
    expect((await manager.client.post(url(`/${c.id}/resume`), {})).statusCode).toBe(409);
    await t.app.ctx.jobs.drain(broadcastSendJob);
    // Nobody got the cancelled one: each still has the one message of the first broadcast.
    expect((await recipientsOf(c.id)).every((r) => sendsTo(r.recipient) === 1)).toBe(true);
    const actions = (
      await t.database.db
        .select({ action: activity.action })
        .from(activity)
        .where(and(eq(activity.orgId, org.orgId), eq(activity.targetId, c.id)))
    ).map((x) => x.action);
    expect(actions.sort()).toEqual(["broadcast.cancelled", "broadcast.created", "broadcast.sent"]);
  });

  it("a schedule waits for its time (in the org's timezone) and can be cancelled", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(1);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    const res = await manager.client.post(url(`/${b.id}/send`), { scheduledAt: "2099-01-01T09:00" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: "scheduled", scheduledAt: "2099-01-01T09:00:00.000Z", timezone: "UTC" });
    expect(await recipientsOf(b.id)).toHaveLength(0); // frozen when it starts
    expect((await manager.client.post(url(`/${b.id}/cancel`), {})).json().status).toBe("cancelled");
  });
});

describe("activity", () => {
  it("every write route records exactly one broadcast.* record in its transaction (none when refused)", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(2);
    const recordsOf = async (id: string) =>
      (
        await t.database.db
          .select({ action: activity.action, actorId: activity.actorId })
          .from(activity)
          .where(and(eq(activity.orgId, org.orgId), eq(activity.targetType, "broadcast"), eq(activity.targetId, id)))
      ).map((r) => r.action);
    const b = await draft(manager.client, { templateId: tpl.id, audience: { listIds: [listId] } });
    expect(await recordsOf(b.id)).toEqual(["broadcast.created"]);
    const steps: [string, () => Promise<{ statusCode: number }>][] = [
      ["broadcast.updated", () => manager.client.patch(url(`/${b.id}`), { name: "Renamed" })],
      ["broadcast.sent", () => manager.client.post(url(`/${b.id}/send`), {})],
      ["broadcast.paused", () => manager.client.post(url(`/${b.id}/pause`), {})],
      ["broadcast.resumed", () => manager.client.post(url(`/${b.id}/resume`), {})],
      ["broadcast.cancelled", () => manager.client.post(url(`/${b.id}/cancel`), {})],
    ];
    const expected = ["broadcast.created"];
    for (const [action, call] of steps) {
      expect((await call()).statusCode, action).toBe(200);
      expected.push(action);
      expect((await recordsOf(b.id)).sort(), action).toEqual([...expected].sort());
    }
    // Refused: no record.
    expect((await manager.client.post(url(`/${b.id}/pause`), {})).statusCode).toBe(409);
    expect((await recordsOf(b.id)).length).toBe(expected.length);
    const d = await draft(manager.client, { templateId: tpl.id });
    expect((await manager.client.delete(url(`/${d.id}`))).statusCode).toBe(204);
    expect((await recordsOf(d.id)).sort()).toEqual(["broadcast.created", "broadcast.deleted"]);
    await t.app.ctx.jobs.drain(broadcastSendJob);
  });
});

describe("crash and restart", () => {
  it("a run that dies holding claims: the next run never repeats them and sends the rest once; a lost answer is matched by biz_opaque_callback_data", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(20, (i) => ({ attributes: { code: `K${i}` } }));
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    expect((await manager.client.post(url(`/${b.id}/send`), {})).statusCode).toBe(200);
    const data = { orgId: org.orgId, broadcastId: b.id };
    // Dies after 2 batches of 5, holding the third batch's claims (and its lease).
    await runBroadcastSend(t.app.ctx, data, {
      sliceMs: 60_000,
      leaseMs: 60_000,
      batchSize: 5,
      lanes: 1,
      dieAfterBatches: 2,
    });
    let rows = await recipientsOf(b.id);
    expect(rows.filter((r) => r.status === "sending")).toHaveLength(5);
    // While its lease holds, another run does not touch it.
    expect(await runBroadcastSend(t.app.ctx, data, { sliceMs: 60_000, leaseMs: 60_000, batchSize: 5, lanes: 1 })).toBe(
      false,
    );
    // The lease lapses (the worker is dead); the job runs again.
    await t.database.db
      .update(broadcasts)
      .set({ leaseUntil: sql`now() - interval '1 second'` })
      .where(and(eq(broadcasts.orgId, org.orgId), eq(broadcasts.id, b.id)));
    await runBroadcastSend(t.app.ctx, data, { sliceMs: 60_000, leaseMs: 60_000, batchSize: 5, lanes: 1 });
    rows = await recipientsOf(b.id);
    const interrupted = rows.filter((r) => r.errorCode === INTERRUPTED);
    expect(interrupted).toHaveLength(5);
    for (const r of rows) expect(sendsTo(r.recipient)).toBe(interrupted.includes(r) ? 0 : 1);
    // Had one of them reached Meta, its status webhook (our recipient id in biz_opaque_callback_data) moves it on.
    const lost = interrupted[0]!;
    const raw = envelope(
      ch.phoneNumberId,
      messagesValue(ch.phoneNumberId, {
        statuses: [
          {
            id: "wamid.lost-answer-1",
            status: "delivered",
            timestamp: String(Math.floor(Date.now() / 1000)),
            recipient_id: lost.recipient,
            biz_opaque_callback_data: lost.id,
          },
        ],
      }),
    );
    expect((await postWebhook(t, ch.webhookKey, raw)).statusCode).toBe(200);
    await drainWebhooks(t);
    const [after] = await t.database.db
      .select()
      .from(broadcastRecipients)
      .where(and(eq(broadcastRecipients.orgId, org.orgId), eq(broadcastRecipients.id, lost.id)));
    expect(after).toMatchObject({ status: "delivered", wamid: "wamid.lost-answer-1", errorCode: null });
    expect((await detail(b.id)).status).toBe("completed");
  });
});

describe("template paused by Meta", () => {
  it("a PAUSED status webhook pauses the broadcast with the reason; a send refused with 132015 does too", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(3);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    await manager.client.post(url(`/${b.id}/send`), {});
    const raw = envelope(
      ch.phoneNumberId,
      {
        event: "PAUSED",
        message_template_id: Number(tpl.metaId),
        message_template_name: tpl.name,
        message_template_language: "en_US",
        reason: "LOW_QUALITY",
      },
      "message_template_status_update",
    );
    expect((await postWebhook(t, ch.webhookKey, raw)).statusCode).toBe(200);
    await drainWebhooks(t);
    const d = await detail(b.id);
    expect(d.status).toBe("paused");
    expect(d.statusReason).toContain("paused the template");
    expect(d.statusReason).toContain("LOW_QUALITY");
    // Resuming with a paused template is refused.
    const resume = await manager.client.post(url(`/${b.id}/resume`), {});
    expect(resume.statusCode).toBe(409);
    expect(resume.json().code).toBe("template_not_approved");

    // Meta paused it but Chorus has not heard yet: the send answers 132015 and the broadcast pauses, nobody lost.
    const tpl2 = await approvedTemplate();
    const c = await draft(owner(), { templateId: tpl2.id, audience: { listIds: [listId] } });
    await manager.client.post(url(`/${c.id}/send`), {});
    sim.state.templates.get(tpl2.metaId!)!.status = "PAUSED";
    await t.app.ctx.jobs.drain(broadcastSendJob);
    const e = await detail(c.id);
    expect(e.status).toBe("paused");
    expect(e.statusReason).toContain("132015");
    expect(e.counts.queued).toBe(3);
  });

  it("the fake Graph API refuses a template it does not have (132001) or with the wrong parameter count (132000)", async () => {
    const tpl = await approvedTemplate();
    const send = (template: Record<string, unknown>) =>
      fetch(`${sim.url}/${ch.phoneNumberId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${ACCESS_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ messaging_product: "whatsapp", to: "15550001111", type: "template", template }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: number } } }));
    expect((await send({ name: "no_such_template", language: { code: "en_US" } })).body.error?.code).toBe(132001);
    expect((await send({ name: tpl.name, language: { code: "es" } })).body.error?.code).toBe(132001);
    const one = await send({
      name: tpl.name,
      language: { code: "en_US" },
      components: [{ type: "body", parameters: [{ type: "text", text: "Ann" }] }],
    });
    expect(one.status).toBe(400);
    expect(one.body.error?.code).toBe(132000);
    const good = await send({
      name: tpl.name,
      language: { code: "en_US" },
      components: [
        {
          type: "body",
          parameters: [
            { type: "text", text: "Ann" },
            { type: "text", text: "A-1" },
          ],
        },
      ],
    });
    expect(good.status).toBe(200);
  });
});

describe("throughput and faults of the fake Graph API", () => {
  it("130429 from the fake Graph API puts recipients back in the queue; each is still sent exactly once", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(4);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    await manager.client.post(url(`/${b.id}/send`), {});
    sim.state.faults.push({ to: null, code: 130429, remaining: 2 });
    // A slow machine may end a run's time slice first: its continuation is a job due a moment later.
    for (let i = 0; i < 100; i++) {
      await t.app.ctx.jobs.drain(broadcastSendJob);
      if ((await recipientsOf(b.id)).every((r) => r.status !== "queued")) break;
      await sleep(100);
    }
    const rows = await recipientsOf(b.id);
    expect(rows.every((r) => r.status !== "queued" && r.status !== "failed")).toBe(true);
    expect(rows.every((r) => sendsTo(r.recipient) === 1)).toBe(true);
    expect(rows.reduce((n, r) => n + r.attempts, 0)).toBe(6); // 4 sends + 2 refused tries
  });
});

describe("CSV export", () => {
  it("neutralises formulas in names and variable values", async () => {
    const tpl = await approvedTemplate();
    const hostile = await contact({
      phone: phone(),
      name: '=HYPERLINK("http://evil")',
      attributes: { code: "+cmd|' /C calc'!A0" },
    });
    const l = await list([hostile]);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [l] }, name: "@SUM(1+1)" });
    await manager.client.post(url(`/${b.id}/send`), {});
    const res = await readerOnly.client.get(url(`/${b.id}/recipients/export`));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    const lines = res.body.trim().split("\r\n");
    expect(lines[0]).toBe(
      "phone,name,status,error_code,error,variables,sent_at,delivered_at,read_at,failed_at,replied_at",
    );
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    const cells = lines[1]!.split(",");
    expect(cells.some((c) => /^"?[=+\-@]/.test(c))).toBe(false);
    await t.app.ctx.jobs.drain(broadcastSendJob);
  });
});

describe("a large audience is frozen by the job, not in the request", () => {
  it("more than one freeze statement's contacts: the send answers at once as scheduled; the job freezes each contact once, in chunks", async () => {
    const tpl = await approvedTemplate();
    const n = FREEZE_CHUNK + 7;
    const made = await owner().post(`/api/v1/orgs/${org.orgId}/lists`, { name: uniq("Big") });
    expect(made.statusCode, made.body).toBe(201);
    const listId: string = made.json().id;
    await t.database.db.execute(sql`
      with c as (
        insert into contacts (org_id, phone, name)
        select ${org.orgId}::uuid, '+1666' || lpad(g::text, 7, '0'), 'Bulk ' || g
        from generate_series(1, ${n}) g
        returning id
      )
      insert into list_contacts (org_id, list_id, contact_id) select ${org.orgId}::uuid, ${listId}::uuid, id from c`);
    const b = await draft(manager.client, { templateId: tpl.id, audience: { listIds: [listId] } });
    expect(b.audienceSize.size).toBe(n);
    const sent = await manager.client.post(url(`/${b.id}/send`), {});
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().status).toBe("scheduled");
    expect(await recipientsOf(b.id)).toHaveLength(0);
    // Meta pauses the template before the job runs: the job still freezes, then pauses with the reason
    // (so this test does not send five thousand messages).
    await t.database.db
      .update(messageTemplates)
      .set({ status: "PAUSED" })
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, tpl.id)));
    await t.app.ctx.jobs.drain(broadcastSendJob);
    const rows = await recipientsOf(b.id);
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((r) => r.contactId)).size).toBe(n);
    expect(rows.every((r) => r.status === "queued")).toBe(true);
    const after = await detail(b.id);
    expect(after.status).toBe("paused");
    const started = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, org.orgId), eq(activity.targetId, b.id), eq(activity.action, "broadcast.started")));
    expect(started).toHaveLength(1);
    expect(started[0]!.changes).toMatchObject({ recipients: { after: n } });
  });

  it("freezing again adds nobody (a retried job); chunks of any size freeze the same contacts", async () => {
    const tpl = await approvedTemplate();
    const { ids, listId } = await audienceOf(5);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    const [row] = await t.database.db
      .select()
      .from(broadcasts)
      .where(and(eq(broadcasts.orgId, org.orgId), eq(broadcasts.id, b.id)));
    const first = await freezeAudience(t.database.db, row!, 2);
    expect(first.inserted).toBe(5);
    expect((await freezeAudience(t.database.db, row!, 2)).inserted).toBe(0);
    expect((await recipientsOf(b.id)).map((r) => r.contactId).sort()).toEqual([...ids].sort());
  });

  it("a scheduled broadcast paused before its time resumes as scheduled (its audience is frozen when it starts)", async () => {
    const tpl = await approvedTemplate();
    const { listId } = await audienceOf(2);
    const b = await draft(owner(), { templateId: tpl.id, audience: { listIds: [listId] } });
    const when = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await manager.client.post(url(`/${b.id}/send`), { scheduledAt: when });
    expect(scheduled.json().status).toBe("scheduled");
    expect((await manager.client.post(url(`/${b.id}/pause`), {})).json().status).toBe("paused");
    const resumed = await manager.client.post(url(`/${b.id}/resume`), {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    // Not "sending" with nobody frozen (which finished at once with nothing sent).
    expect(resumed.json().status).toBe("scheduled");
    expect(new Date(resumed.json().scheduledAt).getTime()).toBe(new Date(when).getTime());
    await t.app.ctx.jobs.drain(broadcastSendJob);
    expect((await detail(b.id)).status).toBe("scheduled");
    expect(await recipientsOf(b.id)).toHaveLength(0);
    expect((await manager.client.post(url(`/${b.id}/cancel`), {})).json().status).toBe("cancelled");
  });
});
