import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  automationRuns,
  contactTags,
  conversations,
  conversationTags,
  messages,
  messageTemplates,
} from "../../src/server/db/schema/index.js";
import { JOBS_SCHEMA } from "../../src/server/jobs/queue.js";
import { automationRunJob } from "../../src/server/modules/automations/job.js";
import { runAutomationsFor } from "../../src/server/modules/automations/run.js";
import { keywordsMatch } from "../../src/shared/schemas/automations.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith } from "../helpers/orgs.js";
import {
  activityOf,
  customerNumber,
  customerWrites,
  type InboxFixture,
  inboxOrg,
  type Member,
} from "../inbox/helpers.js";
import { connectChannel, drainWebhooks, inbound, postWebhook, WABA_ID } from "../whatsapp/helpers.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;
let autoMgr: Member;
let teamId: string;
let tagId: string;
let vipTagId: string;
let otherTagId: string;

const url = (path = "", orgId = f.org.orgId) => `/api/v1/orgs/${orgId}/automations${path}`;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Auto Co");
  other = await inboxOrg(t, "Other Auto Co");
  autoMgr = (await memberWith(t, f.org.orgId, ["automation_manager"], { firstName: "Amy", lastName: "Auto" }))!;
  const owner = f.org.owner.client;
  const team = await owner.post(`/api/v1/orgs/${f.org.orgId}/teams`, { name: "Sales", memberIds: [] });
  expect(team.statusCode).toBe(201);
  teamId = team.json().id;
  tagId = (await owner.post(`/api/v1/orgs/${f.org.orgId}/tags`, { name: "auto-tagged" })).json().id;
  vipTagId = (await owner.post(`/api/v1/orgs/${f.org.orgId}/tags`, { name: "vip" })).json().id;
  otherTagId = (await other.org.owner.client.post(`/api/v1/orgs/${other.org.orgId}/tags`, { name: "theirs" })).json()
    .id;
});
afterAll(async () => {
  await t.close();
});

async function create(body: Record<string, unknown>, who = autoMgr, orgId = f.org.orgId) {
  const res = await who.client.post(url("", orgId), body);
  if (res.statusCode !== 201) throw new Error(`create: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string };
}

/** Disables every automation of the org (tests each start from a clean slate of enabled ones). */
async function disableAll() {
  const list = (await autoMgr.client.get(url())).json().items as { id: string; enabled: boolean }[];
  for (const a of list) if (a.enabled) await autoMgr.client.patch(url(`/${a.id}`), { enabled: false });
}

const drainAutomations = () => t.app.ctx.jobs.drain(automationRunJob);

/** A customer message through the signed webhook, its ingest job and the automations job. */
async function writes(opts: Parameters<typeof customerWrites>[1] = {}, fx: InboxFixture = f) {
  const r = await customerWrites(fx, opts);
  await drainAutomations();
  return r;
}

async function runsOf(automationId: string) {
  const res = await autoMgr.client.get(url(`/${automationId}/runs?limit=100`));
  expect(res.statusCode).toBe(200);
  return res.json().items as {
    conversationId: string;
    messageId: string;
    status: string;
    results: { type: string; ok: boolean; error?: string; messageId?: string }[];
  }[];
}

async function outboundOf(conversationId: string) {
  return t.database.db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.orgId, f.org.orgId),
        eq(messages.conversationId, conversationId),
        eq(messages.direction, "out"),
        eq(messages.kind, "message"),
      ),
    );
}

async function conv(id: string) {
  const [c] = await t.database.db
    .select()
    .from(conversations)
    .where(and(eq(conversations.orgId, f.org.orgId), eq(conversations.id, id)));
  return c!;
}

describe("keyword matching (shared, server and editor)", () => {
  it("contains: whole words, case- and accent-insensitive; exact: the whole message trimmed", () => {
    expect(keywordsMatch("¿Cuál es el PRÉCIO?", ["precio"])).toBe(true);
    expect(keywordsMatch("precios por favor", ["precio"])).toBe(false);
    expect(keywordsMatch("Opening   HOURS today?", ["opening hours"])).toBe(true);
    expect(keywordsMatch("reopening hours", ["opening hours"])).toBe(false);
    expect(keywordsMatch("  Información ", ["informacion"], "exact")).toBe(true);
    expect(keywordsMatch("informacion please", ["informacion"], "exact")).toBe(false);
    expect(keywordsMatch(null, ["x"])).toBe(false);
    expect(keywordsMatch("anything", undefined)).toBe(true);
    expect(keywordsMatch("anything", [])).toBe(true);
  });
});

describe("validation: field and reason", () => {
  it("refuses bad shapes, hostile ids and control characters; accepts hostile text", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "x", trigger: { type: "message_received" }, actions: [] }, "actions"],
      [{ name: "x", trigger: { type: "nope" }, actions: [{ type: "set_status", status: "open" }] }, "trigger.type"],
      [
        {
          name: "x",
          trigger: { type: "message_received", match: "regex" },
          actions: [{ type: "set_status", status: "open" }],
        },
        "trigger.match",
      ],
      [
        { name: "x", trigger: { type: "message_received" }, actions: [{ type: "reply_text", text: "hi\u0007there" }] },
        "actions.0.text",
      ],
      [
        {
          name: "x",
          trigger: { type: "message_received", keywords: Array.from({ length: 51 }, (_, i) => `k${i}`) },
          actions: [{ type: "set_status", status: "open" }],
        },
        "trigger.keywords",
      ],
      [
        { name: "bad\u0000name", trigger: { type: "conversation_opened" }, actions: [{ type: "add_tag", tagId }] },
        "name",
      ],
      [
        {
          name: "x",
          trigger: { type: "conversation_opened" },
          actions: Array.from({ length: 11 }, () => ({ type: "add_tag", tagId })),
        },
        "actions",
      ],
    ];
    for (const [body, path] of cases) {
      const res = await autoMgr.client.post(url(), body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    // Ids of another organization (or none) are named field by field.
    const res = await autoMgr.client.post(url(), {
      name: "refs",
      trigger: { type: "message_received" },
      conditions: { channelIds: [f.ch.id, other.ch.id], contactHasTag: otherTagId },
      actions: [
        { type: "add_tag", tagId: otherTagId },
        { type: "assign_team", teamId: "00000000-0000-4000-8000-000000000000" },
        { type: "assign_member", memberId: other.operator.memberId },
        { type: "assign_member", memberId: f.noChats.memberId },
        { type: "send_template", templateId: "00000000-0000-4000-8000-000000000000", variables: {} },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("automation_unknown_reference");
    expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual([
      "conditions.channelIds.1",
      "conditions.contactHasTag",
      "actions.0.tagId",
      "actions.1.teamId",
      "actions.2.memberId",
      "actions.3.memberId",
      "actions.4.templateId",
    ]);
    // Hostile but harmless text is kept as written.
    const hostile = "<script>alert(1)</script> ' OR 1=1 -- 😀 مرحبا\nsecond line";
    const ok = await create({
      name: "<b>Hostile</b>",
      enabled: false,
      trigger: { type: "message_received", keywords: ["<img src=x>"] },
      actions: [{ type: "reply_text", text: hostile }],
    });
    const got = (await autoMgr.client.get(url(`/${ok.id}`))).json();
    expect(got.actions[0].text).toBe(hostile);
    expect(got.name).toBe("<b>Hostile</b>");
    await autoMgr.client.delete(url(`/${ok.id}`));
  });
});

describe("CRUD, activity and permissions", () => {
  it("create, list in order with last run, edit, enable/disable, delete: each with its activity record", async () => {
    const a = await create({
      name: "Later",
      priority: 200,
      enabled: false,
      trigger: { type: "conversation_opened" },
      actions: [{ type: "add_tag", tagId }],
    });
    const b = await create({
      name: "Sooner",
      priority: 10,
      enabled: false,
      trigger: { type: "message_received", keywords: ["hi"] },
      actions: [{ type: "set_status", status: "pending" }],
    });
    const list = (await autoMgr.client.get(url())).json();
    const names = list.items.map((i: { name: string }) => i.name);
    expect(names.indexOf("Sooner")).toBeLessThan(names.indexOf("Later"));
    expect(list.items.find((i: { id: string }) => i.id === a.id)).toMatchObject({
      enabled: false,
      lastRun: null,
      trigger: { type: "conversation_opened" },
      conditions: {},
    });

    const patched = await autoMgr.client.patch(url(`/${a.id}`), { enabled: true });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().enabled).toBe(true);
    await autoMgr.client.patch(url(`/${a.id}`), { enabled: false });
    const edit = await autoMgr.client.patch(url(`/${b.id}`), {
      name: "Sooner 2",
      actions: [{ type: "set_status", status: "resolved" }],
    });
    expect(edit.statusCode).toBe(200);
    expect((await autoMgr.client.delete(url(`/${b.id}`))).statusCode).toBe(204);
    expect((await autoMgr.client.get(url(`/${b.id}`))).statusCode).toBe(404);

    const created = (await activityOf(t, f.org.orgId, "automation.created")).find((r) => r.targetId === a.id)!;
    expect(created.changes).toMatchObject({ name: { after: "Later" }, priority: { after: 200 } });
    expect(created.actorName).toBe("Amy Auto");
    const enabled = (await activityOf(t, f.org.orgId, "automation.enabled")).find((r) => r.targetId === a.id)!;
    expect(enabled.changes).toEqual({ enabled: { before: false, after: true } });
    expect((await activityOf(t, f.org.orgId, "automation.disabled")).some((r) => r.targetId === a.id)).toBe(true);
    const updated = (await activityOf(t, f.org.orgId, "automation.updated")).find((r) => r.targetId === b.id)!;
    expect(updated.changes).toEqual({
      name: { before: "Sooner", after: "Sooner 2" },
      actions: {
        before: [{ type: "set_status", status: "pending" }],
        after: [{ type: "set_status", status: "resolved" }],
      },
    });
    const deleted = (await activityOf(t, f.org.orgId, "automation.deleted")).find((r) => r.targetId === b.id)!;
    expect(deleted.changes).toMatchObject({ name: { before: "Sooner 2" } });
    await autoMgr.client.delete(url(`/${a.id}`));
  });

  it("permission matrix: automations:read lists, automations:manage writes; other organizations' ids are 404", async () => {
    const a = await create({
      name: "Matrix",
      enabled: false,
      trigger: { type: "conversation_opened" },
      actions: [{ type: "add_tag", tagId }],
    });
    const body = { name: "M2", enabled: false, trigger: { type: "conversation_opened" }, actions: [] };
    const valid = { ...body, actions: [{ type: "set_status", status: "open" }] };
    // Owner, administrator and Automation Manager: everything.
    for (const who of [f.org.owner, f.admin, autoMgr]) {
      expect((await who.client.get(url())).statusCode).toBe(200);
      expect((await who.client.get(url("/options"))).statusCode).toBe(200);
      expect((await who.client.get(url(`/${a.id}/runs`))).statusCode).toBe(200);
      const c = await who.client.post(url(), valid);
      expect(c.statusCode).toBe(201);
      expect((await who.client.patch(url(`/${c.json().id}`), { name: "M3" })).statusCode).toBe(200);
      expect((await who.client.delete(url(`/${c.json().id}`))).statusCode).toBe(204);
    }
    // Operators, chat managers, contact managers: no automations permission → 403 everywhere.
    for (const who of [f.operator, f.manager, f.noChats]) {
      for (const res of [
        await who.client.get(url()),
        await who.client.get(url(`/${a.id}`)),
        await who.client.get(url(`/${a.id}/runs`)),
        await who.client.post(url(), valid),
        await who.client.patch(url(`/${a.id}`), { enabled: true }),
        await who.client.delete(url(`/${a.id}`)),
      ]) {
        expect(res.statusCode).toBe(403);
      }
    }
    // Another organization's automation through this organization's path: 404 like a missing one.
    const theirs = await create(valid, other.org.owner as Member, other.org.orgId);
    for (const res of [
      await autoMgr.client.get(url(`/${theirs.id}`)),
      await autoMgr.client.get(url(`/${theirs.id}/runs`)),
      await autoMgr.client.patch(url(`/${theirs.id}`), { enabled: true }),
      await autoMgr.client.delete(url(`/${theirs.id}`)),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe("automation_not_found");
    }
    // The Automation Manager picks teams, members and tags without members:read / contacts:read.
    const opts = (await autoMgr.client.get(url("/options"))).json();
    expect(opts.teams.map((x: { id: string }) => x.id)).toContain(teamId);
    expect(opts.tags.map((x: { id: string }) => x.id)).toContain(tagId);
    const memberIds = opts.members.map((x: { id: string }) => x.id);
    expect(memberIds).toContain(f.operator.memberId);
    expect(memberIds).not.toContain(f.noChats.memberId);
    await autoMgr.client.delete(url(`/${a.id}`));
  });
});

describe("running: triggers, conditions, actions", () => {
  it("message_received with keywords (contains): the reply is queued, marked, and never triggers again", async () => {
    await disableAll();
    const a = await create({
      name: "Prices",
      trigger: { type: "message_received", keywords: ["precio", "price"] },
      actions: [
        { type: "reply_text", text: "Our prices: https://example.com/prices" },
        { type: "assign_team", teamId },
      ],
    });
    const hit = await writes({ text: "Hola, ¿cuál es el PRÉCIO?" });
    const miss = await writes({ text: "precios" });
    const out = await outboundOf(hit.conversationId);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ body: "Our prices: https://example.com/prices", status: "queued" });
    expect((out[0]!.payload as Record<string, unknown>).automationId).toBe(a.id);
    expect((await conv(hit.conversationId)).teamId).toBe(teamId);
    expect(await outboundOf(miss.conversationId)).toHaveLength(0);
    expect((await conv(miss.conversationId)).teamId).toBeNull();

    const runs = await runsOf(a.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ conversationId: hit.conversationId, status: "ok" });
    expect(runs[0]!.results.map((r) => [r.type, r.ok])).toEqual([
      ["reply_text", true],
      ["assign_team", true],
    ]);
    // The automation's own outbound message is never a trigger: running the job for it does nothing.
    expect(await runAutomationsFor(t.app.ctx, { orgId: f.org.orgId, messageId: out[0]!.id, opened: true })).toBe(false);
    expect(await runsOf(a.id)).toHaveLength(1);
    // The list shows the last run; the team change has its activity record by the automation.
    const listed = (await autoMgr.client.get(url())).json().items.find((i: { id: string }) => i.id === a.id);
    expect(listed.lastRun).toMatchObject({ status: "ok" });
    const assigned = (await activityOf(t, f.org.orgId, "conversation.assigned")).find(
      (r) => r.targetId === hit.conversationId,
    )!;
    expect(assigned).toMatchObject({ actorType: "system", actorName: "Automation: Prices" });
    expect(assigned.changes).toEqual({ teamId: { before: null, after: teamId } });
  });

  it("assign_team routes before the assignment rules choose: the conversation lands with a member of the team", async () => {
    await disableAll();
    const owner = f.org.owner.client;
    const routed = await owner.post(`/api/v1/orgs/${f.org.orgId}/teams`, {
      name: "Routed",
      memberIds: [f.operator2.memberId],
    });
    const routedTeam = routed.json().id as string;
    await create({
      name: "Route",
      trigger: { type: "conversation_opened" },
      actions: [{ type: "assign_team", teamId: routedTeam }],
    });
    for (const m of [f.operator, f.operator2])
      expect((await m.client.put(`/api/v1/orgs/${f.org.orgId}/me/presence`, { status: "online" })).statusCode).toBe(
        200,
      );
    await owner.patch(`/api/v1/orgs/${f.org.orgId}/settings`, {
      assignment: { mode: "round_robin", defaultCapacity: 10, reassignOnOffline: false },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const c = await writes({ text: `routing ${i}` });
        expect(await conv(c.conversationId)).toMatchObject({
          teamId: routedTeam,
          assigneeMemberId: f.operator2.memberId,
        });
      }
    } finally {
      await owner.patch(`/api/v1/orgs/${f.org.orgId}/settings`, {
        assignment: { mode: "manual", defaultCapacity: 10, reassignOnOffline: false },
      });
      for (const m of [f.operator, f.operator2])
        await m.client.put(`/api/v1/orgs/${f.org.orgId}/me/presence`, { status: "offline" });
    }
  });

  it("exact match; no keywords matches every message", async () => {
    await disableAll();
    const exact = await create({
      name: "Exact",
      trigger: { type: "message_received", keywords: ["Información"], match: "exact" },
      actions: [{ type: "set_status", status: "pending" }],
    });
    const yes = await writes({ text: "  informacion " });
    const no = await writes({ text: "informacion por favor" });
    expect((await conv(yes.conversationId)).status).toBe("pending");
    expect((await conv(no.conversationId)).status).toBe("open");
    await autoMgr.client.patch(url(`/${exact.id}`), { enabled: false });
    const any = await create({
      name: "Any",
      trigger: { type: "message_received" },
      actions: [{ type: "add_tag", tagId }],
    });
    const c = await writes({ text: "whatever" });
    const tagged = await t.database.db
      .select()
      .from(conversationTags)
      .where(and(eq(conversationTags.orgId, f.org.orgId), eq(conversationTags.conversationId, c.conversationId)));
    expect(tagged.map((r) => r.tagId)).toEqual([tagId]);
    expect((await runsOf(any.id))[0]!.results[0]).toMatchObject({ type: "add_tag", ok: true });
  });

  it("conversation_opened: the first message of a new conversation, again for a returning contact", async () => {
    await disableAll();
    const a = await create({
      name: "Welcome",
      trigger: { type: "conversation_opened" },
      actions: [{ type: "reply_text", text: "Welcome!" }],
    });
    const waId = customerNumber();
    const first = await writes({ waId, text: "hi" });
    await writes({ waId, text: "second message" });
    expect(await runsOf(a.id)).toHaveLength(1);
    // Resolved, then the customer comes back: a new conversation, welcomed again.
    expect(
      (
        await f.manager.client.patch(`/api/v1/orgs/${f.org.orgId}/conversations/${first.conversationId}`, {
          status: "resolved",
        })
      ).statusCode,
    ).toBe(200);
    const back = await writes({ waId, text: "me again" });
    expect(back.conversationId).not.toBe(first.conversationId);
    const runs = await runsOf(a.id);
    expect(runs.map((r) => r.conversationId).sort()).toEqual([first.conversationId, back.conversationId].sort());
    expect(await outboundOf(back.conversationId)).toHaveLength(1);
  });

  it("priority order: actions of several matching automations run lower priority first", async () => {
    await disableAll();
    await create({
      name: "Second",
      priority: 20,
      trigger: { type: "message_received", keywords: ["order"] },
      actions: [{ type: "set_status", status: "resolved" }],
    });
    await create({
      name: "First",
      priority: 10,
      trigger: { type: "message_received", keywords: ["order"] },
      actions: [
        { type: "set_status", status: "pending" },
        { type: "reply_text", text: "On it" },
      ],
    });
    const c = await writes({ text: "my order?" });
    expect((await conv(c.conversationId)).status).toBe("resolved");
    expect(await outboundOf(c.conversationId)).toHaveLength(1);
  });

  it("conditions: channel, contact has / lacks tag", async () => {
    await disableAll();
    const ch2 = await connectChannel(f.org);
    const onlyCh2 = await create({
      name: "Second line only",
      trigger: { type: "message_received" },
      conditions: { channelIds: [ch2.id] },
      actions: [{ type: "set_status", status: "pending" }],
    });
    const vip = await create({
      name: "VIP",
      trigger: { type: "message_received" },
      conditions: { contactHasTag: vipTagId },
      actions: [{ type: "assign_member", memberId: f.operator.memberId }],
    });
    const notVip = await create({
      name: "Not VIP",
      trigger: { type: "message_received" },
      conditions: { contactLacksTag: vipTagId },
      actions: [{ type: "add_tag", tagId }],
    });
    const waId = customerNumber();
    const onCh1 = await writes({ waId, text: "hello" });
    await writes({ waId, text: "hello" }, { ...f, ch: ch2 });
    const [onCh2] = await t.database.db
      .select({ conversationId: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.orgId, f.org.orgId), eq(conversations.channelId, ch2.id)));
    expect((await runsOf(onlyCh2.id)).map((r) => r.conversationId)).toEqual([onCh2!.conversationId]);
    expect((await conv(onCh2!.conversationId)).status).toBe("pending");
    expect((await conv(onCh1.conversationId)).status).toBe("open");
    expect(await runsOf(vip.id)).toHaveLength(0);
    expect(await runsOf(notVip.id)).toHaveLength(2);

    await t.database.db.insert(contactTags).values({ orgId: f.org.orgId, contactId: onCh1.contactId, tagId: vipTagId });
    const again = await writes({ waId, text: "vip now" });
    expect(again.conversationId).toBe(onCh1.conversationId);
    expect((await conv(onCh1.conversationId)).assigneeMemberId).toBe(f.operator.memberId);
    expect(await runsOf(vip.id)).toHaveLength(1);
    expect(await runsOf(notVip.id)).toHaveLength(2);
  });

  it("outsideBusinessHours, with the workspace's business hours set through PATCH /settings", async () => {
    await disableAll();
    const after = await create({
      name: "After hours",
      trigger: { type: "message_received" },
      conditions: { outsideBusinessHours: true },
      actions: [{ type: "reply_text", text: "We are closed; we answer tomorrow." }],
    });
    const during = await create({
      name: "During hours",
      trigger: { type: "message_received" },
      conditions: { outsideBusinessHours: false },
      actions: [{ type: "add_tag", tagId }],
    });
    const settingsUrl = `/api/v1/orgs/${f.org.orgId}/settings`;
    const allDay = [{ from: "00:00", to: "24:00" }];
    const week = { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay };
    const set = async (businessHours: Record<string, unknown>) => {
      const res = await f.org.owner.client.patch(settingsUrl, { timezone: "Europe/Madrid", businessHours });
      expect(res.statusCode, res.body).toBe(200);
    };
    // Open around the clock: only "during" runs.
    await set({ enabled: true, week, holidays: [] });
    const open = await writes({ text: "hello" });
    expect((await runsOf(during.id)).map((r) => r.conversationId)).toContain(open.conversationId);
    expect((await runsOf(after.id)).map((r) => r.conversationId)).not.toContain(open.conversationId);
    // Today (in Madrid) a holiday: closed, so only "after" runs.
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Madrid" }).format(new Date());
    const tomorrow = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Madrid" }).format(
      new Date(Date.now() + 86_400_000),
    );
    await set({ enabled: true, week, holidays: [today, tomorrow] });
    const closed = await writes({ text: "hello" });
    expect((await runsOf(after.id)).map((r) => r.conversationId)).toContain(closed.conversationId);
    expect((await runsOf(during.id)).map((r) => r.conversationId)).not.toContain(closed.conversationId);
    expect((await outboundOf(closed.conversationId)).map((m) => m.body)).toEqual([
      "We are closed; we answer tomorrow.",
    ]);
    // Business hours off: always open.
    await set({ enabled: false, week, holidays: [today, tomorrow] });
    const off = await writes({ text: "hello" });
    expect((await runsOf(during.id)).map((r) => r.conversationId)).toContain(off.conversationId);
    expect((await runsOf(after.id)).map((r) => r.conversationId)).not.toContain(off.conversationId);
  });

  it("reply_text outside the 24-hour window records window_closed and the next actions still run", async () => {
    await disableAll();
    const a = await create({
      name: "Late",
      trigger: { type: "message_received", keywords: ["late"] },
      actions: [
        { type: "reply_text", text: "too late" },
        { type: "add_tag", tagId },
      ],
    });
    const c = await writes({ text: "late message", secondsAgo: 25 * 3600 });
    const [run] = await runsOf(a.id);
    expect(run!.status).toBe("error");
    expect(run!.results).toMatchObject([
      { type: "reply_text", ok: false, error: "window_closed" },
      { type: "add_tag", ok: true },
    ]);
    expect(await outboundOf(c.conversationId)).toHaveLength(0);
  });

  it("send_template: APPROVED ones are queued as the Cloud API template; others record an error", async () => {
    await disableAll();
    const [approved, pending] = await t.database.db
      .insert(messageTemplates)
      .values(
        ["APPROVED", "PENDING"].map((status, i) => ({
          orgId: f.org.orgId,
          channelId: f.ch.id,
          wabaId: WABA_ID,
          name: `auto_hello_${i}`,
          language: "en",
          category: "UTILITY" as const,
          components: [{ type: "BODY", text: "Hello {{1}}", example: { body_text: [["Ann"]] } }],
          status: status as "APPROVED" | "PENDING",
        })),
      )
      .returning();
    const missing = await autoMgr.client.post(url(), {
      name: "tpl",
      trigger: { type: "message_received" },
      actions: [{ type: "send_template", templateId: approved!.id, variables: {} }],
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors[0].path).toBe("actions.0.variables.1");
    const a = await create({
      name: "Template",
      trigger: { type: "message_received", keywords: ["template"] },
      actions: [
        { type: "send_template", templateId: approved!.id, variables: { "1": "friend" } },
        { type: "send_template", templateId: pending!.id, variables: { "1": "friend" } },
      ],
    });
    const c = await writes({ text: "template please" });
    const out = await outboundOf(c.conversationId);
    expect(out).toHaveLength(1);
    expect((out[0]!.payload as { content: unknown }).content).toEqual({
      type: "template",
      name: "auto_hello_0",
      language: "en",
      components: [{ type: "body", parameters: [{ type: "text", text: "friend" }] }],
    });
    expect((await runsOf(a.id))[0]!.results).toMatchObject([
      { type: "send_template", ok: true },
      { type: "send_template", ok: false, error: "template_not_approved" },
    ]);
  });

  it("redelivery: the same webhook twice is one run and one reply; a re-run job does nothing", async () => {
    await disableAll();
    const a = await create({
      name: "Once",
      trigger: { type: "message_received", keywords: ["once"] },
      actions: [{ type: "reply_text", text: "exactly once" }],
    });
    const raw = inbound(f.ch.phoneNumberId, customerNumber(), { type: "text", text: { body: "once please" } });
    expect((await postWebhook(t, f.ch.webhookKey, raw)).statusCode).toBe(200);
    await drainWebhooks(t);
    // Meta redelivers the same message in another body (another signature-valid payload).
    const again = raw.replace('"entry"', '"retry":1,"entry"');
    expect((await postWebhook(t, f.ch.webhookKey, again)).statusCode).toBe(200);
    await drainWebhooks(t);
    const jobs = await t.database.db.execute(
      sql`select count(*)::int as n from ${sql.identifier(JOBS_SCHEMA)}.job where name = 'automations.run' and data->>'orgId' = ${f.org.orgId} and state = 'created'`,
    );
    const n = Number(((Array.isArray(jobs) ? jobs : (jobs as { rows: unknown[] }).rows) as { n: number }[])[0]?.n);
    expect(n).toBe(1);
    await drainAutomations();
    const runs = await runsOf(a.id);
    expect(runs).toHaveLength(1);
    const out = await outboundOf(runs[0]!.conversationId);
    expect(out).toHaveLength(1);
    // The job run again (a worker died before recording completion): the run row stops it.
    await runAutomationsFor(t.app.ctx, { orgId: f.org.orgId, messageId: runs[0]!.messageId, opened: true });
    expect(await runsOf(a.id)).toHaveLength(1);
    expect(await outboundOf(runs[0]!.conversationId)).toHaveLength(1);
    const stored = await t.database.db
      .select()
      .from(automationRuns)
      .where(and(eq(automationRuns.orgId, f.org.orgId), eq(automationRuns.automationId, a.id)));
    expect(stored).toHaveLength(1);
  });

  it("no enabled automation: the ingest enqueues no automations job", async () => {
    await disableAll();
    const before = await t.database.db.execute(
      sql`select count(*)::int as n from ${sql.identifier(JOBS_SCHEMA)}.job where name = 'automations.run' and data->>'orgId' = ${other.org.orgId}`,
    );
    await customerWrites(other, { text: "hello" });
    const after = await t.database.db.execute(
      sql`select count(*)::int as n from ${sql.identifier(JOBS_SCHEMA)}.job where name = 'automations.run' and data->>'orgId' = ${other.org.orgId}`,
    );
    const n = (r: unknown) =>
      Number(((Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as { n: number }[])[0]?.n);
    expect(n(after)).toBe(n(before));
  });
});
