import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversations, messages, waChannels } from "../../src/server/db/schema/index.js";
import { seedDemo } from "../../src/server/demo/seed.js";
import { DEMO_CHANNEL_NAME } from "../../src/server/demo/whatsapp.js";
import { queueOutbound, sendJob } from "../../src/server/modules/whatsapp/send.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { drainWebhooks } from "./helpers.js";

let t: TestApp;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  t = await createTestApp({ env: { PORT: String(port) } });
  await t.app.listen({ port, host: "127.0.0.1" });
});
afterAll(async () => {
  await t.close();
});

describe("demo seed, built-in simulator and /dev/phone", () => {
  it("the demo has a simulator channel with history; the phone chats through the signed webhook and shows the reply's ticks", async () => {
    const { orgId } = await seedDemo(t.app.ctx, { print: () => {} });
    const [channel] = await t.database.db
      .select()
      .from(waChannels)
      .where(and(eq(waChannels.orgId, orgId), eq(waChannels.name, DEMO_CHANNEL_NAME)));
    expect(channel?.mode).toBe("simulator");
    const history = await t.database.db.select().from(messages).where(eq(messages.orgId, orgId));
    expect(history.length).toBe(8);
    // Seeding again adds nothing.
    await seedDemo(t.app.ctx, { print: () => {} });
    expect(await t.database.db.select().from(messages).where(eq(messages.orgId, orgId))).toHaveLength(8);

    const page = await t.app.inject({ method: "GET", url: `/dev/phone?channel=${channel!.id}&from=15551230001` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("Where is my order #1042?");
    expect(page.body).toContain(`class="read"`);

    // Another machine: the page does not exist.
    const remote = await t.app.inject({ method: "GET", url: "/dev/phone", remoteAddress: "203.0.113.7" });
    expect(remote.statusCode).toBe(404);

    const sent = await t.app.inject({
      method: "POST",
      url: "/dev/phone/send",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        channel: channel!.id,
        from: "15559870001",
        text: "Hola, ¿tienen envío?",
      }).toString(),
    });
    expect(sent.statusCode).toBe(303);
    await drainWebhooks(t);
    const [inbound] = await t.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.orgId, orgId), eq(messages.body, "Hola, ¿tienen envío?")));
    expect(inbound).toMatchObject({ direction: "in", status: "received", type: "text" });

    // The business replies; the built-in fake Graph API answers and ticks it through signed webhooks.
    const ctx = t.app.ctx;
    const reply = await ctx.db.transaction((tx) =>
      queueOutbound(ctx, tx, {
        orgId,
        conversationId: inbound!.conversationId,
        content: { type: "text", text: "¡Sí! Envío gratis." },
      }),
    );
    expect(await ctx.jobs.drain(sendJob)).toBe(1);
    let status = "";
    for (let i = 0; i < 100 && status !== "read"; i++) {
      await sleep(50);
      await drainWebhooks(t);
      const [row] = await t.database.db
        .select({ status: messages.status })
        .from(messages)
        .where(and(eq(messages.orgId, orgId), eq(messages.id, reply.id)));
      status = row!.status;
    }
    expect(status).toBe("read");
    const thread = await t.app.inject({ method: "GET", url: `/dev/phone?channel=${channel!.id}&from=15559870001` });
    expect(thread.body).toContain("Hola, ¿tienen envío?");
    expect(thread.body).toContain("¡Sí! Envío gratis.");
    expect(thread.body).toContain(`class="read"`);
    // Private notes and system lines of the conversation never reach the customer's phone.
    for (const [kind, body] of [
      ["note", "Internal: check the courier"],
      ["system", "assigned to Otto Operator by Mia Manager"],
    ] as const)
      await t.database.db.insert(messages).values({
        orgId,
        conversationId: inbound!.conversationId,
        channelId: inbound!.channelId,
        contactId: inbound!.contactId,
        direction: "out",
        kind,
        type: kind,
        body,
        payload: {},
        status: "sent",
      });
    const again = await t.app.inject({ method: "GET", url: `/dev/phone?channel=${channel!.id}&from=15559870001` });
    expect(again.body).toContain("¡Sí! Envío gratis.");
    expect(again.body).not.toContain("Internal: check the courier");
    expect(again.body).not.toContain("assigned to Otto Operator");
    const convs = await t.database.db
      .select()
      .from(conversations)
      .where(and(eq(conversations.orgId, orgId), eq(conversations.id, inbound!.conversationId)));
    expect(convs[0]!.preview).toBe("¡Sí! Envío gratis.");
  });

  it("refuses a cross-site post", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/dev/phone/send",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "https://evil.example" },
      payload: "channel=x&from=1555&text=hi",
    });
    expect(res.statusCode).toBe(403);
  });
});
