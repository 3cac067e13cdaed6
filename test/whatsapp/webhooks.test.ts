import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueToContact } from "../../src/server/modules/whatsapp/send.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { type OrgFixture, orgWithOwner } from "../helpers/orgs.js";
import {
  type ChannelFixture,
  connectChannel,
  contactsOf,
  conversationsOf,
  drainWebhooks,
  envelope,
  eventsOf,
  inbound,
  messagesOf,
  messagesValue,
  newWamid,
  postWebhook,
  sign,
  WABA_ID,
} from "./helpers.js";

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

async function freshOrg(): Promise<{ org: OrgFixture; ch: ChannelFixture }> {
  const org = await orgWithOwner(t, "Webhook Co");
  const ch = await connectChannel(org);
  return { org, ch };
}

describe("GET verification", () => {
  it("answers hub.challenge as text/plain when the verify token matches, else 403; unknown key 404", async () => {
    const { ch } = await freshOrg();
    const url = (mode: string, token: string) =>
      `/api/v1/webhooks/whatsapp/${ch.webhookKey}?hub.mode=${mode}&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`;
    const ok = await t.app.inject({ method: "GET", url: url("subscribe", ch.verifyToken) });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["content-type"]).toMatch(/^text\/plain/);
    expect(ok.body).toBe("1158201444");

    const wrong = await t.app.inject({ method: "GET", url: url("subscribe", `${ch.verifyToken}x`) });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe("verification_failed");
    const badMode = await t.app.inject({ method: "GET", url: url("unsubscribe", ch.verifyToken) });
    expect(badMode.statusCode).toBe(403);
    const noKey = await t.app.inject({
      method: "GET",
      url: `/api/v1/webhooks/whatsapp/${"0".repeat(32)}?hub.mode=subscribe&hub.verify_token=${ch.verifyToken}&hub.challenge=1`,
    });
    expect(noKey.statusCode).toBe(404);
  });
});

describe("POST signature", () => {
  it("stores a correctly signed payload; a missing or wrong signature is 401 and stores nothing", async () => {
    const { org, ch } = await freshOrg();
    const raw = inbound(ch.phoneNumberId, "15551230001", { type: "text", text: { body: "hello" } });

    const missing = await postWebhook(t, ch.webhookKey, raw, null);
    expect(missing.statusCode).toBe(401);
    expect(missing.json().code).toBe("invalid_signature");
    const wrongSecret = await postWebhook(t, ch.webhookKey, raw, sign(raw, "another-secret-entirely"));
    expect(wrongSecret.statusCode).toBe(401);
    const truncated = await postWebhook(t, ch.webhookKey, raw, sign(raw).slice(0, 40));
    expect(truncated.statusCode).toBe(401);
    const notHex = await postWebhook(t, ch.webhookKey, raw, `sha256=${"z".repeat(64)}`);
    expect(notHex.statusCode).toBe(401);
    const sha1 = await postWebhook(t, ch.webhookKey, raw, sign(raw).replace("sha256=", "sha1="));
    expect(sha1.statusCode).toBe(401);
    expect(await eventsOf(t, org.orgId)).toHaveLength(0);

    const good = await postWebhook(t, ch.webhookKey, raw);
    expect(good.statusCode).toBe(200);
    expect(good.json()).toEqual({ received: true });
    expect(await eventsOf(t, org.orgId)).toHaveLength(1);
    expect(await drainWebhooks(t)).toBe(1);
    const [m] = await messagesOf(t, org.orgId);
    expect(m).toMatchObject({ direction: "in", type: "text", body: "hello", status: "received" });
  });

  it("verifies the raw bytes: escaped unicode (\\u00e9) signed as sent, and re-serialised JSON does not match", async () => {
    const { org, ch } = await freshOrg();
    const json = inbound(ch.phoneNumberId, "15551230002", { type: "text", text: { body: "café ☕" } });
    // Meta escapes non-ASCII characters: the signature covers those bytes, not the decoded text.
    const escaped = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    expect(escaped).toContain("caf\\u00e9");
    const res = await postWebhook(t, ch.webhookKey, escaped, sign(escaped));
    expect(res.statusCode).toBe(200);
    // The same document re-serialised (unescaped) is different bytes: its signature does not match.
    const reSigned = await postWebhook(t, ch.webhookKey, escaped, sign(JSON.stringify(JSON.parse(escaped))));
    expect(reSigned.statusCode).toBe(401);
    await drainWebhooks(t);
    const [m] = await messagesOf(t, org.orgId);
    expect(m!.body).toBe("café ☕");
    const [event] = await eventsOf(t, org.orgId);
    expect(event!.body).toBe(escaped);
  });
});

describe("exactly once", () => {
  it("a redelivered payload (sequential and 5 in parallel) stores one message; a different envelope with the same wamid too", async () => {
    const { org, ch } = await freshOrg();
    const raw = inbound(ch.phoneNumberId, "15551230003", { type: "text", text: { body: "once" } });
    const wamid = JSON.parse(raw).entry[0].changes[0].value.messages[0].id as string;
    const answers = await Promise.all(Array.from({ length: 5 }, () => postWebhook(t, ch.webhookKey, raw)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect((await postWebhook(t, ch.webhookKey, raw)).statusCode).toBe(200);
    expect(await eventsOf(t, org.orgId)).toHaveLength(1); // byte-identical: stored once

    // Meta's redelivery of the same message in another envelope (e.g. with a status beside it).
    const other = envelope(
      ch.phoneNumberId,
      messagesValue(ch.phoneNumberId, {
        contacts: [{ profile: { name: "Ann" }, wa_id: "15551230003" }],
        messages: [{ from: "15551230003", id: wamid, timestamp: "1700000000", type: "text", text: { body: "once" } }],
      }),
    );
    await Promise.all([postWebhook(t, ch.webhookKey, other), postWebhook(t, ch.webhookKey, `${other} `)]);
    expect(await eventsOf(t, org.orgId)).toHaveLength(3);
    await drainWebhooks(t);
    const msgs = await messagesOf(t, org.orgId);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.wamid).toBe(wamid);
    const events = await eventsOf(t, org.orgId);
    expect(events.every((e) => e.processedAt !== null && e.error === null)).toBe(true);
    expect(events.filter((e) => e.outcome?.includes("duplicate"))).toHaveLength(2);
    expect(await contactsOf(t, org.orgId)).toHaveLength(1);
    expect(await conversationsOf(t, org.orgId)).toHaveLength(1);
  });

  it("different envelopes carrying one wamid, applied concurrently by 4 workers: one message, one contact, one conversation", async () => {
    const { org, ch } = await freshOrg();
    const wamid = newWamid();
    const bodies = [0, 1, 2, 3].map((i) =>
      envelope(
        ch.phoneNumberId,
        messagesValue(ch.phoneNumberId, {
          contacts: [{ profile: { name: `Ann ${i}` }, wa_id: "15551230099" }],
          messages: [{ from: "15551230099", id: wamid, timestamp: "1700000000", type: "text", text: { body: "race" } }],
        }),
      ),
    );
    for (const raw of bodies) expect((await postWebhook(t, ch.webhookKey, raw)).statusCode).toBe(200);
    const events = await eventsOf(t, org.orgId);
    expect(events).toHaveLength(4);
    const { processWebhookEvent } = await import("../../src/server/modules/whatsapp/ingest.js");
    const done = await Promise.all(events.map((e) => processWebhookEvent(t.app.ctx, org.orgId, e.id)));
    expect(done).toEqual([true, true, true, true]);
    expect(await messagesOf(t, org.orgId)).toHaveLength(1);
    expect(await contactsOf(t, org.orgId)).toHaveLength(1);
    expect(await conversationsOf(t, org.orgId)).toHaveLength(1);
    const after = await eventsOf(t, org.orgId);
    expect(after.every((e) => e.processedAt !== null && e.error === null)).toBe(true);
    expect(after.filter((e) => e.outcome === "1 new message(s)")).toHaveLength(1);
  });

  it("the job run twice applies once", async () => {
    const { org, ch } = await freshOrg();
    const raw = inbound(ch.phoneNumberId, "15551230004", { type: "text", text: { body: "twice" } });
    await postWebhook(t, ch.webhookKey, raw);
    const [event] = await eventsOf(t, org.orgId);
    const { processWebhookEvent } = await import("../../src/server/modules/whatsapp/ingest.js");
    expect(await processWebhookEvent(t.app.ctx, org.orgId, event!.id)).toBe(true);
    expect(await processWebhookEvent(t.app.ctx, org.orgId, event!.id)).toBe(false);
    await drainWebhooks(t);
    expect(await messagesOf(t, org.orgId)).toHaveLength(1);
  });
});

describe("contacts and conversations", () => {
  it("a new wa_id creates a contact (+wa_id, profile name); an existing phone gets the wa_id; one live conversation", async () => {
    const { org, ch } = await freshOrg();
    // A contact created by hand with the same phone, no wa_id yet.
    const { contacts } = await import("../../src/server/db/schema/index.js");
    await t.database.db.insert(contacts).values({ orgId: org.orgId, phone: "+15551230006", name: "Known Person" });
    await postWebhook(
      t,
      ch.webhookKey,
      inbound(ch.phoneNumberId, "15551230005", { type: "text", text: { body: "a" } }, "New Person"),
    );
    await postWebhook(
      t,
      ch.webhookKey,
      inbound(
        ch.phoneNumberId,
        "15551230006",
        { type: "text", text: { body: "b" }, timestamp: "1700000100" },
        "Profile",
      ),
    );
    await postWebhook(
      t,
      ch.webhookKey,
      inbound(
        ch.phoneNumberId,
        "15551230006",
        { type: "text", text: { body: "c" }, timestamp: "1700000200" },
        "Profile",
      ),
    );
    await drainWebhooks(t);
    const cs = await contactsOf(t, org.orgId);
    expect(cs).toHaveLength(2);
    expect(cs.find((c) => c.waId === "15551230005")).toMatchObject({ phone: "+15551230005", name: "New Person" });
    expect(cs.find((c) => c.waId === "15551230006")).toMatchObject({ phone: "+15551230006", name: "Known Person" });
    const known = cs.find((c) => c.waId === "15551230006")!;
    const convs = await conversationsOf(t, org.orgId, known.id);
    expect(convs).toHaveLength(1);
    expect(convs[0]).toMatchObject({ status: "open", preview: "c" });
    expect(convs[0]!.lastInboundAt).not.toBeNull();
  });
});

describe("refused and malformed payloads are kept with their error, never a 500", () => {
  it("another phone_number_id, wrong envelope, a message without id (and not JSON: 400)", async () => {
    const { org, ch } = await freshOrg();
    const otherNumber = inbound("999999999999999", "15551230007", { type: "text", text: { body: "injected" } });
    const notJson = "{not json";
    const wrongObject = JSON.stringify({ object: "page", entry: [] });
    const noId = envelope(
      ch.phoneNumberId,
      messagesValue(ch.phoneNumberId, {
        messages: [{ from: "15551230007", timestamp: "1700000000", type: "text", text: { body: "x" } }],
      }),
    );
    // Not JSON at all: 400 before anything is stored (Meta never sends it).
    const bad = await postWebhook(t, ch.webhookKey, notJson);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("malformed_json");
    for (const raw of [otherNumber, wrongObject, noId]) {
      expect((await postWebhook(t, ch.webhookKey, raw)).statusCode).toBe(200);
    }
    expect(await drainWebhooks(t)).toBe(3);
    const events = await eventsOf(t, org.orgId);
    expect(events.map((e) => e.error?.split(":")[0])).toEqual([
      "phone_number_id 999999999999999 is not this channel's number",
      "malformed payload",
      "message skipped",
    ]);
    expect(events.every((e) => e.processedAt !== null)).toBe(true);
    expect(await messagesOf(t, org.orgId)).toHaveLength(0);
    // Nothing left to retry.
    expect(await drainWebhooks(t)).toBe(0);
  });

  it("a status update of a template Chorus does not have is kept and noted (sync brings it)", async () => {
    const { org, ch } = await freshOrg();
    const raw = envelope(
      ch.phoneNumberId,
      {
        event: "APPROVED",
        message_template_id: 594425479261596,
        message_template_name: "order_update",
        message_template_language: "en_US",
        reason: "NONE",
      },
      "message_template_status_update",
    );
    await postWebhook(t, ch.webhookKey, raw);
    await drainWebhooks(t);
    const [e] = await eventsOf(t, org.orgId);
    expect(e!.error).toBeNull();
    expect(e!.outcome).toContain("template status update(s) for templates not in Chorus");
  });
});

describe("every message type, shaped like Meta's reference", () => {
  const media = (type: string, extra: Record<string, unknown> = {}) => ({
    type,
    [type]: { mime_type: "image/jpeg", sha256: "ZmFrZXNoYTI1Ng==", id: `${type}-media-id-1`, ...extra },
  });
  const cases: [string, Record<string, unknown>, string | null][] = [
    ["text", { type: "text", text: { body: "Hi there" } }, "Hi there"],
    ["image", media("image", { caption: "A photo" }), "A photo"],
    ["audio", media("audio", { mime_type: "audio/ogg; codecs=opus", voice: true }), null],
    ["video", media("video", { mime_type: "video/mp4", caption: "A clip" }), "A clip"],
    ["document", media("document", { mime_type: "application/pdf", filename: "invoice.pdf" }), "invoice.pdf"],
    ["sticker", media("sticker", { mime_type: "image/webp", animated: false }), null],
    [
      "location",
      { type: "location", location: { latitude: 38.9, longitude: -77.03, name: "Main office", address: "1 Main St" } },
      "Main office, 1 Main St",
    ],
    [
      "contacts",
      {
        type: "contacts",
        contacts: [
          {
            name: { formatted_name: "Jane Doe", first_name: "Jane", last_name: "Doe" },
            phones: [{ phone: "+1 (555) 010-1234", type: "CELL", wa_id: "15550101234" }],
          },
        ],
      },
      "Jane Doe",
    ],
    [
      "interactive",
      { type: "interactive", interactive: { type: "button_reply", button_reply: { id: "yes-1", title: "Yes" } } },
      "Yes",
    ],
    [
      "interactive",
      {
        type: "interactive",
        interactive: { type: "list_reply", list_reply: { id: "row-2", title: "Tuesday", description: "9–12" } },
      },
      "Tuesday",
    ],
    [
      "interactive",
      {
        type: "interactive",
        interactive: { type: "nfm_reply", nfm_reply: { name: "flow", body: "Sent", response_json: '{"a":1}' } },
      },
      "Sent",
    ],
    [
      "button",
      {
        type: "button",
        button: { text: "Stop promotions", payload: "STOP" },
        context: { from: "15550100000", id: "wamid.ctx" },
      },
      "Stop promotions",
    ],
    ["reaction", { type: "reaction", reaction: { message_id: "wamid.target", emoji: "👍" } }, "👍"],
    [
      "system",
      {
        type: "system",
        system: { body: "Ann changed her number", wa_id: "15551239999", type: "user_changed_number" },
      },
      "Ann changed her number",
    ],
    [
      "unsupported",
      {
        type: "unsupported",
        errors: [{ code: 131051, title: "Message type unknown", message: "Message type unknown" }],
      },
      null,
    ],
  ];

  it("stores each with its type, text, raw payload and media fields", async () => {
    const { org, ch } = await freshOrg();
    for (const [, message] of cases) {
      expect((await postWebhook(t, ch.webhookKey, inbound(ch.phoneNumberId, "15551230010", message))).statusCode).toBe(
        200,
      );
    }
    await drainWebhooks(t);
    const stored = await messagesOf(t, org.orgId);
    expect(stored).toHaveLength(cases.length);
    for (const [type, message, body] of cases) {
      const row = stored.find(
        (m) =>
          m.type === message.type && isDeepStrictEqual((m.payload as Record<string, unknown>)[type], message[type]),
      );
      expect(row, `${type} ${JSON.stringify(message).slice(0, 80)}`).toBeDefined();
      expect(row!.type).toBe(type);
      expect(row!.body).toBe(body);
      expect(row!.direction).toBe("in");
      if (type === "unsupported") expect((row!.payload as { errors: unknown }).errors).toEqual(message.errors);
    }
    const image = stored.find((m) => m.type === "image")!;
    expect((image.payload as { media: unknown }).media).toEqual({
      id: "image-media-id-1",
      mimeType: "image/jpeg",
      sha256: "ZmFrZXNoYTI1Ng==",
    });
    const events = await eventsOf(t, org.orgId);
    expect(events.every((e) => e.error === null)).toBe(true);
  });
});

describe("statuses", () => {
  it("only move forward whatever the order; failed keeps Meta's code and title; matched by callback data before the wamid is known", async () => {
    const { org, ch } = await freshOrg();
    await postWebhook(
      t,
      ch.webhookKey,
      inbound(ch.phoneNumberId, "15551230020", { type: "text", text: { body: "hi" } }),
    );
    await drainWebhooks(t);
    const [contact] = await contactsOf(t, org.orgId);
    const ctx = t.app.ctx;
    const [a, b] = await ctx.db.transaction(async (tx) => [
      await queueToContact(ctx, tx, {
        orgId: org.orgId,
        channelId: ch.id,
        contactId: contact!.id,
        content: { type: "text", text: "one" },
      }),
      await queueToContact(ctx, tx, {
        orgId: org.orgId,
        channelId: ch.id,
        contactId: contact!.id,
        content: { type: "text", text: "two" },
      }),
    ]);
    const wamidA = newWamid();
    const wamidB = newWamid();
    const status = (id: string, s: string, ts: number, extra: Record<string, unknown> = {}) =>
      envelope(
        ch.phoneNumberId,
        messagesValue(ch.phoneNumberId, {
          statuses: [{ id, status: s, timestamp: String(ts), recipient_id: "15551230020", ...extra }],
        }),
      );
    // A: read, then delivered, then sent (reverse order); the first carries our id, not yet the wamid.
    const stampsOfA = async () => {
      const m = (await messagesOf(t, org.orgId)).find((r) => r.id === a!.id)!;
      return [m.sentAt?.getTime(), m.deliveredAt?.getTime(), m.readAt?.getTime()];
    };
    await postWebhook(t, ch.webhookKey, status(wamidA, "read", 1_700_000_300, { biz_opaque_callback_data: a!.id }));
    await drainWebhooks(t);
    // Read alone proves delivered and sent: each step is stamped, at the earliest evidence so far.
    expect(await stampsOfA()).toEqual([1_700_000_300_000, 1_700_000_300_000, 1_700_000_300_000]);
    await postWebhook(t, ch.webhookKey, status(wamidA, "delivered", 1_700_000_200));
    await drainWebhooks(t);
    expect(await stampsOfA()).toEqual([1_700_000_200_000, 1_700_000_200_000, 1_700_000_300_000]);
    await postWebhook(t, ch.webhookKey, status(wamidA, "sent", 1_700_000_100));
    await drainWebhooks(t);
    // B: failed with 131047, then a late "sent" must not undo it.
    const failed = status(wamidB, "failed", 1_700_000_100, {
      biz_opaque_callback_data: b!.id,
      errors: [
        {
          code: 131047,
          title: "Re-engagement message",
          message: "Re-engagement message",
          error_data: { details: "More than 24 hours have passed since the customer last replied." },
        },
      ],
    });
    await postWebhook(t, ch.webhookKey, failed);
    await postWebhook(t, ch.webhookKey, status(wamidB, "sent", 1_700_000_050));
    await drainWebhooks(t);

    const rows = await messagesOf(t, org.orgId);
    const ra = rows.find((m) => m.id === a!.id)!;
    expect(ra).toMatchObject({ wamid: wamidA, status: "read" });
    expect(ra.readAt?.getTime()).toBe(1_700_000_300_000);
    expect(ra.deliveredAt?.getTime()).toBe(1_700_000_200_000);
    expect(ra.sentAt?.getTime()).toBe(1_700_000_100_000);
    const rb = rows.find((m) => m.id === b!.id)!;
    expect(rb).toMatchObject({
      wamid: wamidB,
      status: "failed",
      errorCode: 131047,
      errorTitle: "Re-engagement message",
      errorDetails: "More than 24 hours have passed since the customer last replied.",
    });
    // A status for a message we never sent is kept, noted.
    await postWebhook(t, ch.webhookKey, status(newWamid(), "delivered", 1_700_000_000));
    await drainWebhooks(t);
    const events = await eventsOf(t, org.orgId);
    expect(events.at(-1)!.outcome).toContain("unknown messages");
  });
});

describe("isolation", () => {
  it("a channel's webhook never touches another organization, even naming its wamid", async () => {
    const one = await freshOrg();
    const two = await freshOrg();
    const raw = inbound(one.ch.phoneNumberId, "15551230030", { type: "text", text: { body: "for one" } });
    // Signed with the right secret (both channels share it in this test) but routed to two's key.
    await postWebhook(t, two.ch.webhookKey, raw);
    await drainWebhooks(t);
    expect(await messagesOf(t, one.org.orgId)).toHaveLength(0);
    expect(await messagesOf(t, two.org.orgId)).toHaveLength(0);
    expect((await eventsOf(t, two.org.orgId))[0]!.error).toMatch(/is not this channel's number/);
    expect(WABA_ID).toBeTruthy();
  });
});
