import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../src/server/db/schema/index.js";
import { queueToContact, sendJob } from "../../src/server/modules/whatsapp/send.js";
import { type StandaloneSimulator, startSimulator } from "../../src/server/modules/whatsapp/simulator/server.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { type OrgFixture, orgWithOwner } from "../helpers/orgs.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  type ChannelFixture,
  connectChannel,
  contactsOf,
  drainWebhooks,
  eventsOf,
  inbound,
  postWebhook,
  WABA_ID,
} from "./helpers.js";

let t: TestApp;
let sim: StandaloneSimulator;
let org: OrgFixture;
let ch: ChannelFixture;

beforeAll(async () => {
  sim = await startSimulator({ settings: { delays: { sent: 10, delivered: 20, read: 30 }, templateDelayMs: 20 } });
  t = await createTestApp({ env: { WA_GRAPH_URL: sim.url } });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  org = await orgWithOwner(t, "Sim Co");
  ch = await connectChannel(org);
  // Registered through the control endpoint, as a separate process would be.
  const reg = await fetch(`${sim.url}/_sim/numbers`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      phoneNumberId: ch.phoneNumberId,
      wabaId: WABA_ID,
      displayPhoneNumber: "+1 555 010 0000",
      verifiedName: "Sim Co",
      accessToken: ACCESS_TOKEN,
      appSecret: APP_SECRET,
      webhookUrl: `${base}/api/v1/webhooks/whatsapp/${ch.webhookKey}`,
    }),
  });
  expect(reg.status).toBe(200);
});
afterAll(async () => {
  await t.close();
  await sim.close();
});

const control = (path: string, body: unknown) =>
  fetch(`${sim.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function settle(id: string, want: string) {
  for (let i = 0; i < 100; i++) {
    await drainWebhooks(t);
    const [m] = await t.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.orgId, org.orgId), eq(messages.id, id)));
    if (m!.status === want) return m!;
    await sleep(25);
  }
  throw new Error(`message ${id} never reached ${want}`);
}

async function sendTo(waId: string, text: string) {
  await postWebhook(t, ch.webhookKey, inbound(ch.phoneNumberId, waId, { type: "text", text: { body: "hi" } }));
  await drainWebhooks(t);
  const contact = (await contactsOf(t, org.orgId)).find((c) => c.waId === waId)!;
  const ctx = t.app.ctx;
  const m = await ctx.db.transaction((tx) =>
    queueToContact(ctx, tx, {
      orgId: org.orgId,
      channelId: ch.id,
      contactId: contact.id,
      content: { type: "text", text },
    }),
  );
  await ctx.jobs.drain(sendJob);
  return m;
}

describe("the fake Graph API", () => {
  it("answers Meta's error shapes: bad token 190, unknown number 100/33, invalid body 100 with details", async () => {
    const post = (path: string, token: string, body: unknown) =>
      fetch(`${sim.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const badToken = await post(`/${ch.phoneNumberId}/messages`, "nope", {});
    expect(badToken.status).toBe(401);
    expect(await badToken.json()).toMatchObject({
      error: { code: 190, type: "OAuthException", fbtrace_id: expect.any(String) },
    });
    const unknown = await post("/123/messages", ACCESS_TOKEN, {});
    expect((await unknown.json()).error).toMatchObject({ code: 100, error_subcode: 33, type: "GraphMethodException" });
    const noProduct = await post(`/${ch.phoneNumberId}/messages`, ACCESS_TOKEN, {
      to: "15551234567",
      type: "text",
      text: { body: "x" },
    });
    expect(noProduct.status).toBe(400);
    expect((await noProduct.json()).error).toMatchObject({
      code: 100,
      message: "(#100) Invalid parameter",
      error_data: { messaging_product: "whatsapp", details: expect.stringContaining("messaging_product") },
    });
    const noText = await post(`/${ch.phoneNumberId}/messages`, ACCESS_TOKEN, {
      messaging_product: "whatsapp",
      to: "15551234567",
      type: "text",
    });
    expect((await noText.json()).error.error_data.details).toMatch(/text/);
    const ok = await post(`/${ch.phoneNumberId}/messages`, ACCESS_TOKEN, {
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: "+15551234567",
      type: "text",
      text: { body: "hello" },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      messaging_product: "whatsapp",
      contacts: [{ input: "+15551234567", wa_id: "15551234567" }],
      messages: [{ id: expect.stringMatching(/^wamid\./) }],
    });
  });

  it("duplicated and reordered status webhooks still end at read, each timestamp once", async () => {
    await control("/_sim/config", { duplicates: 3, reorder: true });
    try {
      const m = await sendTo("15553330001", "dup and reorder");
      await settle(m.id, "read");
      // read came first; delivered and sent follow (3 times each) and fill their times only.
      let done = await settle(m.id, "read");
      for (let i = 0; i < 100 && !(done.sentAt && done.deliveredAt); i++) {
        await sleep(25);
        done = await settle(m.id, "read");
      }
      expect(done.status).toBe("read");
      expect(done.sentAt).not.toBeNull();
      expect(done.deliveredAt).not.toBeNull();
      expect(done.readAt).not.toBeNull();
    } finally {
      await control("/_sim/config", { duplicates: 1, reorder: false });
    }
  });

  it("injects 131047 for one recipient on demand (a failed status), then behaves again", async () => {
    const res = await control("/_sim/faults", { to: "+15553330002", code: 131047, count: 1 });
    expect(res.status).toBe(200);
    const first = await sendTo("15553330002", "late reply");
    expect(await settle(first.id, "failed")).toMatchObject({ errorCode: 131047, errorTitle: "Re-engagement message" });
    const second = await sendTo("15553330002", "again");
    await settle(second.id, "read");
  });

  it("approves a submitted template after a delay, rejects one named 'reject…', as signed status updates", async () => {
    const submit = (name: string) =>
      fetch(`${sim.url}/${WABA_ID}/message_templates`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${ACCESS_TOKEN}` },
        body: JSON.stringify({
          name,
          language: "en_US",
          category: "UTILITY",
          components: [{ type: "BODY", text: "Hi {{1}}, your order is ready.", example: { body_text: [["Ann"]] } }],
        }),
      });
    const approved = await submit("order_update");
    expect(await approved.json()).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      status: "PENDING",
      category: "UTILITY",
    });
    await submit("reject_me");
    let updates: { event: string; message_template_name: string }[] = [];
    for (let i = 0; i < 100 && updates.length < 2; i++) {
      await sleep(25);
      await drainWebhooks(t);
      updates = (await eventsOf(t, org.orgId))
        .map((e) => JSON.parse(e.body).entry[0].changes[0])
        .filter((c) => c.field === "message_template_status_update")
        .map((c) => c.value);
    }
    expect(updates.map((u) => [u.message_template_name, u.event]).sort()).toEqual([
      ["order_update", "APPROVED"],
      ["reject_me", "REJECTED"],
    ]);
  });
});
