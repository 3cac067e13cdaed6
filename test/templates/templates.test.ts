import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { and, asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { activity, messageTemplates } from "../../src/server/db/schema/index.js";
import { setWhatsAppRuntime, WhatsAppRuntime } from "../../src/server/modules/whatsapp/runtime.js";
import { type StandaloneSimulator, startSimulator } from "../../src/server/modules/whatsapp/simulator/server.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith, type OrgFixture, orgWithOwner } from "../helpers/orgs.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  type ChannelFixture,
  connectChannel,
  drainWebhooks,
  envelope,
  postWebhook,
  WABA_ID,
} from "../whatsapp/helpers.js";

let t: TestApp;
let sim: StandaloneSimulator;
let base: string;
let org: OrgFixture;
let ch: ChannelFixture;

const url = (path = "") => `/api/v1/orgs/${org.orgId}/templates${path}`;

beforeAll(async () => {
  // Reviews only when a test asks (templateDelayMs is set per test).
  sim = await startSimulator({ settings: { templateDelayMs: 60_000 } });
  t = await createTestApp({ env: { WA_GRAPH_URL: sim.url } });
  setWhatsAppRuntime(t.app.ctx, new WhatsAppRuntime(t.app.ctx, { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 }));
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  org = await orgWithOwner(t, "Templates Co");
  ch = await connectChannel(org);
  sim.numbers.set(ch.phoneNumberId, {
    phoneNumberId: ch.phoneNumberId,
    wabaId: WABA_ID,
    displayPhoneNumber: "+1 555 010 0000",
    verifiedName: "Templates Co",
    accessToken: ACCESS_TOKEN,
    appSecret: APP_SECRET,
    webhookUrl: `${base}/api/v1/webhooks/whatsapp/${ch.webhookKey}`,
  });
});
afterAll(async () => {
  await t.close();
  await sim.close();
});
beforeEach(() => {
  sim.state.requests = [];
  sim.state.settings.templateDelayMs = 60_000;
});

let n = 0;
const uniqueName = (prefix = "order_update") => `${prefix}_${Date.now().toString(36)}_${++n}`;

/** A full MARKETING template: text header with a variable, body, footer, every kind of button. */
function fullTemplate(name = uniqueName()) {
  return {
    channelId: ch.id,
    name,
    language: "en_US",
    category: "MARKETING",
    components: [
      { type: "HEADER", format: "TEXT", text: "Hello {{1}}", example: { header_text: ["Ann"] } },
      {
        type: "BODY",
        text: "Your order {{1}} ships on {{2}}. Thanks!",
        example: { body_text: [["A-1001", "Monday"]] },
      },
      { type: "FOOTER", text: "Reply STOP to opt out" },
      {
        type: "BUTTONS",
        buttons: [
          {
            type: "URL",
            text: "Track",
            url: "https://shop.example/track/{{1}}",
            example: ["https://shop.example/track/A-1001"],
          },
          { type: "PHONE_NUMBER", text: "Call us", phone_number: "+15551234567" },
          { type: "COPY_CODE", example: "SAVE10" },
          { type: "QUICK_REPLY", text: "Stop promotions" },
        ],
      },
    ],
  };
}

const simple = (name = uniqueName(), over: Record<string, unknown> = {}) => ({
  channelId: ch.id,
  name,
  language: "en_US",
  category: "UTILITY",
  components: [{ type: "BODY", text: "Hi {{1}}, your code is ready.", example: { body_text: [["Ann"]] } }],
  ...over,
});

async function create(body: Record<string, unknown>) {
  const res = await org.owner.client.post(url(), body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function rowOf(id: string) {
  const [r] = await t.database.db
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, id)));
  return r;
}

async function activityOf(targetId: string) {
  return t.database.db
    .select()
    .from(activity)
    .where(and(eq(activity.orgId, org.orgId), eq(activity.targetId, targetId)))
    .orderBy(asc(activity.at), asc(activity.id));
}

const templateRequests = () =>
  sim.state.requests.filter((r) => r.path.includes("message_templates") || /^\/\d+$/.test(r.path));

describe("validation: the field and the reason, as Meta's rules", () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["uppercase name", { name: "Order_Update" }, "name", /lowercase/],
    ["name too long", { name: "a".repeat(513) }, "name", /512/],
    ["bad language", { language: "english" }, "language", /language code/],
    ["bad category", { category: "PROMO" }, "category", /./],
    ["no body", { components: [{ type: "FOOTER", text: "x" }] }, "components", /BODY/],
    ["body over 1024", { components: [{ type: "BODY", text: `a${"b".repeat(1024)}` }] }, "components.0.text", /1024/],
    [
      "variables with a gap",
      { components: [{ type: "BODY", text: "Hi {{1}} and {{3}} ok", example: { body_text: [["a", "b"]] } }] },
      "components.0.text",
      /sequential/,
    ],
    [
      "missing examples",
      { components: [{ type: "BODY", text: "Hi {{1}} and {{2}} ok", example: { body_text: [["a"]] } }] },
      "components.0.example.body_text",
      /Expected 2 example/,
    ],
    [
      "named variable in a positional template",
      { components: [{ type: "BODY", text: "Hi {{first_name}} ok", example: { body_text: [["a"]] } }] },
      "components.0.text",
      /positional/,
    ],
    [
      "variable at the end of the body",
      { components: [{ type: "BODY", text: "Hi {{1}}", example: { body_text: [["a"]] } }] },
      "components.0.text",
      /start or end/,
    ],
    [
      "header over 60",
      {
        components: [
          { type: "HEADER", format: "TEXT", text: "h".repeat(61) },
          { type: "BODY", text: "x" },
        ],
      },
      "components.0.text",
      /60/,
    ],
    [
      "header with two variables",
      {
        components: [
          { type: "HEADER", format: "TEXT", text: "{{1}} {{2}}", example: { header_text: ["a"] } },
          { type: "BODY", text: "x" },
        ],
      },
      "components.0.text",
      /At most 1 variable/,
    ],
    [
      "image header without an example",
      {
        components: [
          { type: "HEADER", format: "IMAGE" },
          { type: "BODY", text: "x" },
        ],
      },
      "components.0.example.header_handle",
      /handle or link/,
    ],
    [
      "footer with a variable",
      {
        components: [
          { type: "BODY", text: "x" },
          { type: "FOOTER", text: "Bye {{1}}" },
        ],
      },
      "components.1.text",
      /variables/,
    ],
    [
      "three URL buttons",
      {
        components: [
          { type: "BODY", text: "x" },
          {
            type: "BUTTONS",
            buttons: [1, 2, 3].map((i) => ({ type: "URL", text: `L${i}`, url: `https://e.example/${i}` })),
          },
        ],
      },
      "components.1.buttons",
      /At most 2 URL/,
    ],
    [
      "URL variable not at the end",
      {
        components: [
          { type: "BODY", text: "x" },
          { type: "BUTTONS", buttons: [{ type: "URL", text: "Go", url: "https://e.example/{{1}}/x", example: ["a"] }] },
        ],
      },
      "components.1.buttons.0.url",
      /at its end/,
    ],
    [
      "URL variable without an example",
      {
        components: [
          { type: "BODY", text: "x" },
          { type: "BUTTONS", buttons: [{ type: "URL", text: "Go", url: "https://e.example/{{1}}" }] },
        ],
      },
      "components.1.buttons.0.example",
      /example URL/,
    ],
    [
      "button text over 25",
      {
        components: [
          { type: "BODY", text: "x" },
          { type: "BUTTONS", buttons: [{ type: "QUICK_REPLY", text: "q".repeat(26) }] },
        ],
      },
      "components.1.buttons.0.text",
      /25/,
    ],
    [
      "AUTHENTICATION with a body text",
      {
        category: "AUTHENTICATION",
        components: [
          { type: "BODY", text: "Your code" },
          { type: "BUTTONS", buttons: [{ type: "OTP", otp_type: "COPY_CODE" }] },
        ],
      },
      "components.0.text",
      /fixed text/,
    ],
    [
      "AUTHENTICATION without an OTP button",
      {
        category: "AUTHENTICATION",
        components: [
          { type: "BODY", add_security_recommendation: true },
          { type: "BUTTONS", buttons: [{ type: "QUICK_REPLY", text: "ok" }] },
        ],
      },
      "components.1.buttons",
      /OTP/,
    ],
    ["NUL in the body", { components: [{ type: "BODY", text: "a\u0000b" }] }, "components.0.text", /NUL/],
  ];
  for (const [label, over, path, reason] of cases) {
    it(label, async () => {
      const res = await org.owner.client.post(url(), simple(uniqueName(), over));
      expect(res.statusCode, res.body).toBe(400);
      const b = res.json();
      expect(b.code).toBe("validation_failed");
      const e = (b.errors as { path: string; message: string }[]).find((x) => x.path === path);
      expect(e, JSON.stringify(b.errors)).toBeDefined();
      expect(e!.message).toMatch(reason);
    });
  }

  it("nothing reaches Meta when the input is invalid", async () => {
    await org.owner.client.post(url(), simple("Bad Name"));
    expect(templateRequests()).toHaveLength(0);
  });
});

describe("create: submitted to Meta with the channel's token, body field by field", () => {
  it("posts Meta's body to /{wabaId}/message_templates and stores Meta's id and status", async () => {
    const body = fullTemplate();
    const created = await create(body);
    expect(created).toMatchObject({
      name: body.name,
      language: "en_US",
      category: "MARKETING",
      status: "PENDING",
      metaId: expect.stringMatching(/^\d+$/),
      channelId: ch.id,
      wabaId: WABA_ID,
      rejectionReason: null,
      createdByMemberId: org.ownerMemberId,
    });
    const [req] = templateRequests();
    expect(req!.method).toBe("POST");
    expect(req!.path).toBe(`/${WABA_ID}/message_templates`);
    expect(req!.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    const sent = req!.body as Record<string, unknown>;
    expect(Object.keys(sent).sort()).toEqual(["category", "components", "language", "name"]);
    expect(sent.name).toBe(body.name);
    expect(sent.language).toBe("en_US");
    expect(sent.category).toBe("MARKETING");
    expect(sent.components).toEqual(body.components);
    // The simulator holds it as Meta would.
    expect(sim.state.templates.get(created.metaId)).toMatchObject({ name: body.name, status: "PENDING" });
    const log = await activityOf(created.id);
    expect(log.map((a) => a.action)).toEqual(["template.created"]);
    expect(JSON.stringify(log[0]!.changes)).not.toContain(ACCESS_TOKEN);
  });

  it("named variables: parameter_format NAMED and body_text_named_params", async () => {
    const created = await create(
      simple(uniqueName("welcome"), {
        parameterFormat: "NAMED",
        components: [
          {
            type: "BODY",
            text: "Hello {{first_name}}, welcome aboard.",
            example: { body_text_named_params: [{ param_name: "first_name", example: "Ann" }] },
          },
        ],
      }),
    );
    expect(created.parameterFormat).toBe("NAMED");
    expect((templateRequests()[0]!.body as Record<string, unknown>).parameter_format).toBe("NAMED");
  });

  it("the same name and language twice is 409 template_exists; another language is fine", async () => {
    const name = uniqueName();
    await create(simple(name));
    const again = await org.owner.client.post(url(), simple(name));
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("template_exists");
    await create(simple(name, { language: "es" }));
  });

  it("an unknown channel is 400 unknown_channel", async () => {
    const res = await org.owner.client.post(
      url(),
      simple(uniqueName(), { channelId: "00000000-0000-4000-8000-000000000000" }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("unknown_channel");
  });

  it("Meta's refusal is 422 with Meta's words; nothing is stored", async () => {
    sim.numbers.get(ch.phoneNumberId)!.accessToken = "rotated-elsewhere";
    try {
      const name = uniqueName();
      const res = await org.owner.client.post(url(), simple(name));
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({ code: "template_refused_by_meta", metaCode: 190 });
      const rows = await t.database.db
        .select()
        .from(messageTemplates)
        .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.name, name)));
      expect(rows).toHaveLength(0);
    } finally {
      sim.numbers.get(ch.phoneNumberId)!.accessToken = ACCESS_TOKEN;
    }
  });
});

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    await drainWebhooks(t);
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error("timed out");
    await sleep(25);
  }
}

describe("status from Meta's signed webhooks, through the real webhook route", () => {
  it("approved by the simulator's review (a signed webhook over HTTP)", async () => {
    sim.state.settings.templateDelayMs = 30;
    const created = await create(simple());
    const row = await waitFor(async () => {
      const r = await rowOf(created.id);
      return r?.status === "APPROVED" && r;
    });
    expect(row.rejectionReason).toBeNull();
    const log = await activityOf(created.id);
    const change = log.find((a) => a.action === "template.status_changed")!;
    expect(change.actorType).toBe("system");
    expect(change.changes).toMatchObject({ status: { before: "PENDING", after: "APPROVED" } });
  });

  it("an edit of an approved template is approved again by a second webhook (not taken for a redelivery)", async () => {
    sim.state.settings.templateDelayMs = 30;
    const created = await create(simple());
    await waitFor(async () => (await rowOf(created.id))?.status === "APPROVED");
    const components = [{ type: "BODY", text: "Hi {{1}}, the sale ends Sunday.", example: { body_text: [["Ann"]] } }];
    const edit = await org.owner.client.patch(url(`/${created.id}`), { components });
    expect(edit.statusCode).toBe(200);
    expect(edit.json().status).toBe("PENDING");
    const row = await waitFor(async () => {
      const r = await rowOf(created.id);
      return r?.status === "APPROVED" && r;
    });
    expect(JSON.stringify(row.components)).toContain("the sale ends Sunday");
    const changes = (await activityOf(created.id)).filter((a) => a.action === "template.status_changed");
    expect(changes.map((a) => (a.changes as { status: { after: string } }).status.after)).toEqual([
      "APPROVED",
      "APPROVED",
    ]);
  });

  it("rejected with the reason", async () => {
    sim.state.settings.templateDelayMs = 30;
    const created = await create(simple(uniqueName("reject_this")));
    const row = await waitFor(async () => {
      const r = await rowOf(created.id);
      return r?.status === "REJECTED" && r;
    });
    expect(row.rejectionReason).toBe("INVALID_FORMAT");
    const res = await org.owner.client.get(url(`/${created.id}`));
    expect(res.json()).toMatchObject({ status: "REJECTED", rejectionReason: "INVALID_FORMAT" });
  });

  it("PAUSED and DISABLED by Meta id; a replay changes nothing; a bad signature stores nothing", async () => {
    const created = await create(simple());
    const value = (event: string, reason = "NONE") => ({
      event,
      message_template_id: Number(created.metaId),
      message_template_name: created.name,
      message_template_language: "en_US",
      reason,
    });
    const paused = envelope(ch.phoneNumberId, value("PAUSED", "Low quality"), "message_template_status_update");
    expect((await postWebhook(t, ch.webhookKey, paused, "sha256=00")).statusCode).toBe(401);
    await drainWebhooks(t);
    expect((await rowOf(created.id))!.status).toBe("PENDING");

    expect((await postWebhook(t, ch.webhookKey, paused)).statusCode).toBe(200);
    await drainWebhooks(t);
    expect((await rowOf(created.id))!.status).toBe("PAUSED");
    expect((await postWebhook(t, ch.webhookKey, paused)).statusCode).toBe(200);
    await drainWebhooks(t);
    const disabled = envelope(ch.phoneNumberId, value("DISABLED"), "message_template_status_update");
    await postWebhook(t, ch.webhookKey, disabled);
    await drainWebhooks(t);
    expect((await rowOf(created.id))!.status).toBe("DISABLED");
    const changes = (await activityOf(created.id)).filter((a) => a.action === "template.status_changed");
    expect(changes.map((a) => (a.changes as { status: { after: string } }).status.after)).toEqual([
      "PAUSED",
      "DISABLED",
    ]);
  });

  it("a webhook naming an id Chorus has not stored yet is matched by the account, name and language", async () => {
    const created = await create(simple());
    const body = envelope(
      ch.phoneNumberId,
      {
        event: "APPROVED",
        message_template_id: 777000111,
        message_template_name: created.name,
        message_template_language: "en_US",
        reason: "NONE",
      },
      "message_template_status_update",
    );
    await postWebhook(t, ch.webhookKey, body);
    await drainWebhooks(t);
    expect(await rowOf(created.id)).toMatchObject({ status: "APPROVED", metaId: "777000111" });
  });

  it("another organization's channel cannot move this organization's template", async () => {
    const created = await create(simple());
    const other = await orgWithOwner(t, "Other Co");
    const otherCh = await connectChannel(other);
    const body = envelope(
      otherCh.phoneNumberId,
      {
        event: "REJECTED",
        message_template_id: Number(created.metaId),
        message_template_name: created.name,
        message_template_language: "en_US",
        reason: "ABUSIVE_CONTENT",
      },
      "message_template_status_update",
    );
    expect((await postWebhook(t, otherCh.webhookKey, body)).statusCode).toBe(200);
    await drainWebhooks(t);
    expect((await rowOf(created.id))!.status).toBe("PENDING");
  });
});

describe("edit and delete as Meta allows", () => {
  it("PENDING is 409 template_in_review; REJECTED is edited at Meta (POST /{id}) and goes back to review", async () => {
    const created = await create(simple(uniqueName("reject_edit")));
    const busy = await org.owner.client.patch(url(`/${created.id}`), { category: "MARKETING" });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().code).toBe("template_in_review");

    sim.state.settings.templateDelayMs = 20;
    sim.state.templates.get(created.metaId)!.status = "REJECTED";
    await t.database.db
      .update(messageTemplates)
      .set({ status: "REJECTED", rejectionReason: "INVALID_FORMAT" })
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, created.id)));
    sim.state.requests = [];
    const components = [
      { type: "BODY", text: "Hello {{1}}, your parcel is ready.", example: { body_text: [["Ann"]] } },
      { type: "FOOTER", text: "Chorus" },
    ];
    const res = await org.owner.client.patch(url(`/${created.id}`), { components });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: "PENDING", rejectionReason: null, components });
    const [req] = templateRequests();
    expect(req!.method).toBe("POST");
    expect(req!.path).toBe(`/${created.metaId}`);
    expect((req!.body as { components: unknown }).components).toEqual(components);
    const log = await activityOf(created.id);
    expect(log.at(-1)!.action).toBe("template.updated");
  });

  it("an invalid edit names the field", async () => {
    const created = await create(simple());
    await t.database.db
      .update(messageTemplates)
      .set({ status: "REJECTED" })
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, created.id)));
    const res = await org.owner.client.patch(url(`/${created.id}`), {
      components: [{ type: "BODY", text: "Hi {{2}} there" }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe("components.0.text");
  });

  it("an approved template keeps its category", async () => {
    const created = await create(simple());
    await t.database.db
      .update(messageTemplates)
      .set({ status: "APPROVED" })
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, created.id)));
    const res = await org.owner.client.patch(url(`/${created.id}`), { category: "MARKETING" });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe("category");
  });

  it("an approved template is edited once per 24 hours", async () => {
    const created = await create(simple());
    sim.state.templates.get(created.metaId)!.status = "APPROVED";
    await t.database.db
      .update(messageTemplates)
      .set({ status: "APPROVED" })
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, created.id)));
    const components = [{ type: "BODY", text: "Hi {{1}}, your code is here.", example: { body_text: [["Ann"]] } }];
    expect((await org.owner.client.patch(url(`/${created.id}`), { components })).statusCode).toBe(200);
    // Meta approves the edit; a second edit the same day is refused before reaching Meta.
    sim.state.templates.get(created.metaId)!.status = "APPROVED";
    await t.database.db
      .update(messageTemplates)
      .set({ status: "APPROVED" })
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.id, created.id)));
    sim.state.requests = [];
    const again = await org.owner.client.patch(url(`/${created.id}`), {
      components: [{ type: "BODY", text: "Hello {{1}}, your code is here.", example: { body_text: [["Ann"]] } }],
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("template_edit_limit");
    expect(templateRequests()).toHaveLength(0);
  });

  it("delete: DELETE /{wabaId}/message_templates?name=…&hsm_id=…, then gone here", async () => {
    const created = await create(simple());
    sim.state.requests = [];
    const res = await org.owner.client.delete(url(`/${created.id}`));
    expect(res.statusCode).toBe(204);
    const [req] = templateRequests();
    expect(req!.method).toBe("DELETE");
    const u = new URL(req!.path, "http://x");
    expect(u.pathname).toBe(`/${WABA_ID}/message_templates`);
    expect(u.searchParams.get("name")).toBe(created.name);
    expect(u.searchParams.get("hsm_id")).toBe(created.metaId);
    expect(sim.state.templates.has(created.metaId)).toBe(false);
    expect(await rowOf(created.id)).toBeUndefined();
    expect((await activityOf(created.id)).at(-1)!.action).toBe("template.deleted");
    expect((await org.owner.client.get(url(`/${created.id}`))).statusCode).toBe(404);
  });
});

describe("sync pulls every page from Meta and upserts", () => {
  it("creates the ones made elsewhere, updates statuses, counts", async () => {
    const mine = await create(simple());
    // Made in Meta's manager directly: 230 templates (3 pages of 100).
    for (let i = 0; i < 230; i++) {
      const id = String(9_000_000 + i + n * 1000);
      sim.state.templates.set(id, {
        id,
        wabaId: WABA_ID,
        name: `elsewhere_${n}_${i}`,
        language: "en_US",
        category: "UTILITY",
        components: [{ type: "BODY", text: `Plain text ${i}` }],
        status: i % 2 ? "APPROVED" : "REJECTED",
        ...(i % 2 ? {} : { rejected_reason: "TAG_CONTENT_MISMATCH" }),
      });
    }
    sim.state.templates.get(mine.metaId)!.status = "APPROVED";
    sim.state.requests = [];
    const res = await org.owner.client.post(url("/sync"), { channelId: ch.id });
    expect(res.statusCode, res.body).toBe(200);
    const counts = res.json();
    expect(counts.created).toBe(230);
    expect(counts.updated).toBeGreaterThanOrEqual(1);
    expect(counts.skipped).toBe(0);
    const gets = templateRequests().filter((r) => r.method === "GET");
    expect(gets.length).toBeGreaterThanOrEqual(3);
    expect((await rowOf(mine.id))!.status).toBe("APPROVED");
    const rejected = await t.database.db
      .select()
      .from(messageTemplates)
      .where(and(eq(messageTemplates.orgId, org.orgId), eq(messageTemplates.name, `elsewhere_${n}_0`)));
    expect(rejected[0]).toMatchObject({ status: "REJECTED", rejectionReason: "TAG_CONTENT_MISMATCH" });

    // Again: nothing new.
    const again = (await org.owner.client.post(url("/sync"), { channelId: ch.id })).json();
    expect(again.created).toBe(0);
    expect(again.updated).toBe(0);

    // The list pages with a keyset cursor, by name.
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = (
        await org.owner.client.get(url(`?limit=100${cursor ? `&cursor=${cursor}` : ""}`))
      ).json();
      for (const i of page.items) seen.add(i.id);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.size).toBe(
      (await t.database.db.select().from(messageTemplates).where(eq(messageTemplates.orgId, org.orgId))).length,
    );
    const synced = await t.database.db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, org.orgId), eq(activity.action, "template.synced")));
    expect(synced).toHaveLength(2);
  });
});

describe("preview", () => {
  it("renders header, body, footer, buttons with the values (examples fill the rest) and the send body", async () => {
    const created = await create(fullTemplate());
    const res = await org.owner.client.post(url(`/${created.id}/preview`), {
      variables: { "header.1": "Bea", "1": "B-7", "2": "Friday", "button.0": "B-7", "button.2": "HELLO5" },
    });
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json();
    expect(p.header).toEqual({ format: "TEXT", text: "Hello Bea", mediaUrl: null });
    expect(p.body).toBe("Your order B-7 ships on Friday. Thanks!");
    expect(p.footer).toBe("Reply STOP to opt out");
    expect(p.buttons).toEqual([
      { type: "URL", text: "Track", url: "https://shop.example/track/B-7" },
      { type: "PHONE_NUMBER", text: "Call us", phoneNumber: "+15551234567" },
      { type: "COPY_CODE", text: "Copy offer code", code: "HELLO5" },
      { type: "QUICK_REPLY", text: "Stop promotions" },
    ]);
    expect(p.message.name).toBe(created.name);

    const examples = (await org.owner.client.post(url(`/${created.id}/preview`), { variables: {} })).json();
    expect(examples.body).toBe("Your order A-1001 ships on Monday. Thanks!");
    expect(examples.message).toBeNull();
  });

  it("hostile text comes back as text, untouched", async () => {
    const hostile = "<script>alert(1)</script> '; drop table message_templates; -- \u202Eevil";
    const created = await create(
      simple(uniqueName(), {
        components: [{ type: "BODY", text: `Note: ${hostile} for {{1}} ok`, example: { body_text: [[hostile]] } }],
      }),
    );
    const p = (await org.owner.client.post(url(`/${created.id}/preview`), { variables: { "1": hostile } })).json();
    expect(p.body).toBe(`Note: ${hostile} for ${hostile} ok`);
    expect((await org.owner.client.get(url(`/${created.id}`))).json().components[0].text).toContain(hostile);
  });
});

describe("permissions and tenancy", () => {
  it("templates:read lists and previews; only templates:manage changes", async () => {
    const created = await create(simple());
    const bm = await memberWith(t, org.orgId, ["broadcast_manager"]);
    expect((await bm.client.get(url())).statusCode).toBe(200);
    expect((await bm.client.post(url(`/${created.id}/preview`), { variables: {} })).statusCode).toBe(200);
    const denied = await bm.client.post(url(), simple());
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ code: "permission_denied", missingPermission: "templates:manage" });
    expect((await bm.client.delete(url(`/${created.id}`))).statusCode).toBe(403);
    expect((await bm.client.post(url("/sync"), { channelId: ch.id })).statusCode).toBe(403);

    const op = await memberWith(t, org.orgId, ["operator"]);
    const opRes = await op.client.get(url());
    expect(opRes.statusCode).toBe(403);

    const tm = await memberWith(t, org.orgId, ["template_manager"]);
    expect((await tm.client.post(url(), simple())).statusCode).toBe(201);
  });

  it("another organization's template answers 404 like a missing one", async () => {
    const created = await create(simple());
    const other = await orgWithOwner(t, "Nosy Co");
    const theirs = `/api/v1/orgs/${other.orgId}/templates/${created.id}`;
    expect((await other.owner.client.get(theirs)).statusCode).toBe(404);
    expect((await other.owner.client.patch(theirs, { category: "MARKETING" })).statusCode).toBe(404);
    expect((await other.owner.client.delete(theirs)).statusCode).toBe(404);
    expect((await other.owner.client.post(`${theirs}/preview`, { variables: {} })).statusCode).toBe(404);
    const list = (await other.owner.client.get(`/api/v1/orgs/${other.orgId}/templates`)).json();
    expect(list.items).toHaveLength(0);
    // Nor can it create on this organization's channel.
    const res = await other.owner.client.post(`/api/v1/orgs/${other.orgId}/templates`, simple());
    expect(res.json().code).toBe("unknown_channel");
    expect(await rowOf(created.id)).toBeDefined();
  });
});
