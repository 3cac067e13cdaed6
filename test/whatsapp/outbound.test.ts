import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { messages } from "../../src/server/db/schema/index.js";
import type { OutboundContent } from "../../src/server/modules/whatsapp/graph-client.js";
import { GraphClient } from "../../src/server/modules/whatsapp/graph-client.js";
import { setWhatsAppRuntime, WhatsAppRuntime } from "../../src/server/modules/whatsapp/runtime.js";
import { queueToContact, runSend, sendJob } from "../../src/server/modules/whatsapp/send.js";
import { type StandaloneSimulator, startSimulator } from "../../src/server/modules/whatsapp/simulator/server.js";
import { PRIORITY_BULK, PRIORITY_REPLY, ThroughputLimiter } from "../../src/server/modules/whatsapp/throughput.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { type OrgFixture, orgWithOwner } from "../helpers/orgs.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  type ChannelFixture,
  capturingLogger,
  connectChannel,
  contactsOf,
  drainWebhooks,
  inbound,
  postWebhook,
  WABA_ID,
} from "./helpers.js";

let t: TestApp;
let sim: StandaloneSimulator;
let logLines: string[];
let base: string;
let org: OrgFixture;
let ch: ChannelFixture;

beforeAll(async () => {
  sim = await startSimulator({ settings: { delays: { sent: 20, delivered: 40, read: 60 } } });
  const { logger, lines } = capturingLogger();
  logLines = lines;
  t = await createTestApp({ logger, env: { WA_GRAPH_URL: sim.url, LOG_LEVEL: "trace" } });
  setWhatsAppRuntime(t.app.ctx, new WhatsAppRuntime(t.app.ctx, { attempts: 3, baseDelayMs: 20, maxDelayMs: 60 }));
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  org = await orgWithOwner(t, "Outbound Co");
  ch = await connectChannel(org, { mpsLimit: 5 });
  sim.numbers.set(ch.phoneNumberId, {
    phoneNumberId: ch.phoneNumberId,
    wabaId: WABA_ID,
    displayPhoneNumber: "+1 555 010 0000",
    verifiedName: "Outbound Co",
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
  sim.state.faults = [];
});

/** A contact who wrote in (so a conversation exists), by their number. */
async function contactOf(waId: string): Promise<string> {
  await postWebhook(t, ch.webhookKey, inbound(ch.phoneNumberId, waId, { type: "text", text: { body: "hello" } }));
  await drainWebhooks(t);
  return (await contactsOf(t, org.orgId)).find((c) => c.waId === waId)!.id;
}

async function queue(contactId: string, content: OutboundContent, extra: { priority?: number; replyTo?: string } = {}) {
  const ctx = t.app.ctx;
  return ctx.db.transaction((tx) =>
    queueToContact(ctx, tx, {
      orgId: org.orgId,
      channelId: ch.id,
      contactId,
      content,
      priority: extra.priority ?? PRIORITY_REPLY,
      replyToWamid: extra.replyTo ?? null,
    }),
  );
}

async function messageRow(id: string) {
  const [m] = await t.database.db
    .select()
    .from(messages)
    .where(and(eq(messages.orgId, org.orgId), eq(messages.id, id)));
  return m!;
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    await drainWebhooks(t);
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await sleep(25);
  }
}

describe("outbound request bodies, field by field (captured by the fake Graph API over HTTP)", () => {
  it("text: path, bearer token, Cloud API body; wamid recorded, then signed sent/delivered/read webhooks tick it forward", async () => {
    const contactId = await contactOf("15552220001");
    const m = await queue(contactId, { type: "text", text: "Your order shipped" });
    expect(m.status).toBe("queued");
    expect(await t.app.ctx.jobs.drain(sendJob)).toBe(1);
    expect(sim.state.requests).toHaveLength(1);
    const req = sim.state.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe(`/${ch.phoneNumberId}/messages`);
    expect(req.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(req.body).toEqual({
      messaging_product: "whatsapp",
      recipient_type: "individual",
      to: "15552220001",
      type: "text",
      text: { preview_url: false, body: "Your order shipped" },
      biz_opaque_callback_data: m.id,
    });
    const sent = await messageRow(m.id);
    expect(sent.status).toBe("sent");
    expect(sent.wamid).toMatch(/^wamid\./);
    const read = await until(
      () => messageRow(m.id),
      (r) => r.status === "read",
    );
    expect(read.status).toBe("read");
    expect(read.deliveredAt).not.toBeNull();
    expect(read.readAt).not.toBeNull();
  });

  it("media by link, document with filename, interactive buttons and list, template with components, a quoted reply", async () => {
    const contactId = await contactOf("15552220002");
    // The fake Graph API checks template sends as Meta does: the template must exist there, approved.
    sim.state.templates.set("900001", {
      id: "900001",
      wabaId: WABA_ID,
      name: "order_update",
      language: "en_US",
      category: "UTILITY",
      components: [
        { type: "BODY", text: "Hi {{1}}", example: { body_text: [["Ann"]] } },
        { type: "BUTTONS", buttons: [{ type: "URL", text: "Track", url: "https://x.example/{{1}}" }] },
      ],
      status: "APPROVED",
    });
    const contents: [OutboundContent, Record<string, unknown>][] = [
      [
        { type: "image", link: "https://cdn.example.com/p.jpg", caption: "Look" },
        { image: { link: "https://cdn.example.com/p.jpg", caption: "Look" } },
      ],
      [
        { type: "document", link: "https://cdn.example.com/i.pdf", filename: "invoice.pdf", caption: "Invoice" },
        { document: { link: "https://cdn.example.com/i.pdf", caption: "Invoice", filename: "invoice.pdf" } },
      ],
      [{ type: "audio", link: "https://cdn.example.com/a.ogg" }, { audio: { link: "https://cdn.example.com/a.ogg" } }],
      [
        {
          type: "interactive",
          interactive: {
            type: "button",
            body: "Confirm?",
            footer: "Reply below",
            buttons: [
              { id: "yes", title: "Yes" },
              { id: "no", title: "No" },
            ],
          },
        },
        {
          interactive: {
            type: "button",
            body: { text: "Confirm?" },
            footer: { text: "Reply below" },
            action: {
              buttons: [
                { type: "reply", reply: { id: "yes", title: "Yes" } },
                { type: "reply", reply: { id: "no", title: "No" } },
              ],
            },
          },
        },
      ],
      [
        {
          type: "interactive",
          interactive: {
            type: "list",
            header: "Slots",
            body: "Pick a time",
            button: "Times",
            sections: [{ title: "Tuesday", rows: [{ id: "t9", title: "9:00", description: "Morning" }] }],
          },
        },
        {
          interactive: {
            type: "list",
            header: { type: "text", text: "Slots" },
            body: { text: "Pick a time" },
            action: {
              button: "Times",
              sections: [{ title: "Tuesday", rows: [{ id: "t9", title: "9:00", description: "Morning" }] }],
            },
          },
        },
      ],
      [
        {
          type: "template",
          name: "order_update",
          language: "en_US",
          components: [
            { type: "body", parameters: [{ type: "text", text: "Ann" }] },
            { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "A-1" }] },
          ],
        },
        {
          template: {
            name: "order_update",
            language: { code: "en_US" },
            components: [
              { type: "body", parameters: [{ type: "text", text: "Ann" }] },
              { type: "button", sub_type: "url", index: "0", parameters: [{ type: "text", text: "A-1" }] },
            ],
          },
        },
      ],
    ];
    const ids: string[] = [];
    for (const [content] of contents) ids.push((await queue(contactId, content)).id);
    const quoted = await queue(
      contactId,
      { type: "text", text: "Re: that", previewUrl: true },
      { replyTo: "wamid.quoted" },
    );
    await t.app.ctx.jobs.drain(sendJob);
    expect(sim.state.requests).toHaveLength(contents.length + 1);
    contents.forEach(([content, part], i) => {
      const req = sim.state.requests.find(
        (r) => (r.body as { biz_opaque_callback_data: string }).biz_opaque_callback_data === ids[i],
      )!;
      expect(req.body).toEqual({
        messaging_product: "whatsapp",
        recipient_type: "individual",
        to: "15552220002",
        type: content.type,
        ...part,
        biz_opaque_callback_data: ids[i],
      });
    });
    const q = sim.state.requests.find(
      (r) => (r.body as { biz_opaque_callback_data: string }).biz_opaque_callback_data === quoted.id,
    )!;
    expect(q.body).toMatchObject({
      context: { message_id: "wamid.quoted" },
      text: { preview_url: true, body: "Re: that" },
    });
    for (const id of [...ids, quoted.id]) expect((await messageRow(id)).status).toBe("sent");
  });
});

describe("failures", () => {
  it("131026 arrives as a failed status with Meta's code and title", async () => {
    const contactId = await contactOf("15552220000"); // …0000: undeliverable in the simulator
    const m = await queue(contactId, { type: "text", text: "are you there?" });
    await t.app.ctx.jobs.drain(sendJob);
    const row = await until(
      () => messageRow(m.id),
      (r) => r.status === "failed",
    );
    expect(row).toMatchObject({ status: "failed", errorCode: 131026, errorTitle: "Message undeliverable" });
  });

  it("130429 is retried with backoff and then succeeds; a permanent error (100) is not retried", async () => {
    const contactId = await contactOf("15552220003");
    sim.state.faults.push({ to: "15552220003", code: 130429, remaining: 2 });
    const m = await queue(contactId, { type: "text", text: "retry me" });
    await t.app.ctx.jobs.drain(sendJob);
    expect(sim.state.requests).toHaveLength(3);
    expect((await messageRow(m.id)).status).toBe("sent");

    sim.state.requests = [];
    const tooLong = await queue(contactId, { type: "text", text: "x".repeat(4097) });
    await t.app.ctx.jobs.drain(sendJob);
    expect(sim.state.requests).toHaveLength(1);
    const failed = await messageRow(tooLong.id);
    expect(failed).toMatchObject({ status: "failed", errorCode: 100, errorTitle: "(#100) Invalid parameter" });
    expect(failed.errorDetails).toMatch(/text\.body/);
  });

  it("still throttled after the client's retries: the job throws (the queue retries later); on its last attempt the message fails with 130429", async () => {
    const contactId = await contactOf("15552220004");
    sim.state.faults.push({ to: "15552220004", code: 130429, remaining: 100 });
    const m = await queue(contactId, { type: "text", text: "busy" });
    const data = { orgId: org.orgId, messageId: m.id };
    await expect(runSend(t.app.ctx, data, { lastAttempt: false })).rejects.toThrow(/130429/);
    expect((await messageRow(m.id)).status).toBe("queued");
    await runSend(t.app.ctx, data, { lastAttempt: true });
    expect(await messageRow(m.id)).toMatchObject({ status: "failed", errorCode: 130429, errorTitle: "Rate limit hit" });
    // Already failed: running again does nothing.
    expect(await runSend(t.app.ctx, data, { lastAttempt: true })).toBe(false);
  });
});

describe("throughput", () => {
  it("the bucket lets 5 go at once, then one every 200 ms (5/s), on a fake clock", async () => {
    // The limiter's schedule on a controlled clock: what the channel may send is proven exactly,
    // without measuring a shared machine's wall-clock time.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance", "Date"] });
    try {
      const limiter = new ThroughputLimiter();
      const t0 = performance.now();
      const granted: number[] = [];
      const all = Array.from({ length: 15 }, () =>
        limiter.acquire("c", 5, PRIORITY_BULK).then(() => granted.push(performance.now() - t0)),
      );
      await vi.advanceTimersByTimeAsync(5_000);
      await Promise.all(all);
      expect(granted).toEqual([0, 0, 0, 0, 0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sends every queued message through the limiter (15 at 5/s, each once)", async () => {
    const contactId = await contactOf("15552220005");
    const rows = [];
    for (let i = 0; i < 15; i++) rows.push(await queue(contactId, { type: "text", text: `n${i}` }));
    await Promise.all(
      rows.map((r) => runSend(t.app.ctx, { orgId: org.orgId, messageId: r.id }, { lastAttempt: true })),
    );
    const bodies = sim.state.requests.map((r) => (r.body as { text?: { body?: string } }).text?.body).sort();
    expect(bodies).toEqual(Array.from({ length: 15 }, (_, i) => `n${i}`).sort());
  });

  it("replies go before bulk sends waiting for the same channel", async () => {
    const limiter = new ThroughputLimiter();
    const order: string[] = [];
    await limiter.acquire("c", 2, PRIORITY_BULK);
    await limiter.acquire("c", 2, PRIORITY_BULK);
    const waits = [
      ...[1, 2, 3].map((i) => limiter.acquire("c", 2, PRIORITY_BULK).then(() => order.push(`bulk${i}`))),
      limiter.acquire("c", 2, PRIORITY_REPLY).then(() => order.push("reply")),
    ];
    expect(limiter.waiting("c")).toBe(4);
    await Promise.all(waits);
    expect(order).toEqual(["reply", "bulk1", "bulk2", "bulk3"]);
  });
});

describe("media", () => {
  it("downloads on demand: GET /{mediaId} then the URL with the bearer token", async () => {
    const graph = new GraphClient({ timeoutMs: 2000 });
    const res = await graph.downloadMedia(
      { baseUrl: sim.url, phoneNumberId: ch.phoneNumberId, accessToken: ACCESS_TOKEN },
      "1013859600285441",
    );
    expect(res.mimeType).toBe("image/jpeg");
    const bytes = Buffer.from(await new Response(res.body).arrayBuffer());
    expect(bytes.toString()).toBe("simulated media 1013859600285441");
    expect(res.size).toBe(bytes.length);
  });
});

describe("secrets", () => {
  it("the access token and app secret appear in no log line", () => {
    expect(logLines.length).toBeGreaterThan(20);
    const all = logLines.join("\n");
    expect(all).not.toContain(ACCESS_TOKEN);
    expect(all).not.toContain(APP_SECRET);
  });
});
