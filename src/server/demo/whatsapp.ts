import { and, eq } from "drizzle-orm";
import type { AppContext } from "../context.js";
import { messages, waChannels } from "../db/schema/index.js";
import type { Actor } from "../http/request-context.js";
import { createChannel } from "../modules/channels/service.js";
import { upsertContactByWaId, upsertLiveConversation } from "../modules/whatsapp/ingest.js";

export const DEMO_CHANNEL_NAME = "Acme Support (simulator)";

type Line = { dir: "in" | "out"; text: string; minutesAgo: number };

/** Three customers with a little history: one waiting, one answered and read, one failed reply. */
const HISTORY: { waId: string; name: string; lines: Line[]; lastStatus: "read" | "delivered" | "failed" }[] = [
  {
    waId: "15551230001",
    name: "Maria Lopez",
    lastStatus: "read",
    lines: [
      { dir: "in", text: "Hi! Where is my order #1042?", minutesAgo: 180 },
      { dir: "out", text: "Hi Maria, it left our warehouse this morning and arrives tomorrow.", minutesAgo: 175 },
      { dir: "in", text: "Great, thank you!", minutesAgo: 170 },
    ],
  },
  {
    waId: "15551230002",
    name: "James Chen",
    lastStatus: "delivered",
    lines: [
      { dir: "in", text: "Can I change the delivery address?", minutesAgo: 60 },
      { dir: "out", text: "Sure, which address should we use?", minutesAgo: 55 },
      { dir: "in", text: "12 Baker Street, please", minutesAgo: 5 },
    ],
  },
  {
    waId: "15551230000",
    name: "Unreachable Customer",
    lastStatus: "failed",
    lines: [
      { dir: "in", text: "hello?", minutesAgo: 1500 },
      { dir: "out", text: "Hello! How can we help?", minutesAgo: 30 },
    ],
  },
];

/**
 * The demo's WhatsApp number: a `simulator` channel (never in production) with some
 * conversation history, so the inbox and /dev/phone have something to show. Idempotent: an
 * organization that has the channel already is left as it is.
 */
export async function seedWhatsAppDemo(ctx: AppContext, orgId: string, actor: Actor): Promise<boolean> {
  if (ctx.config.nodeEnv === "production") return false;
  const [existing] = await ctx.db
    .select({ id: waChannels.id })
    .from(waChannels)
    .where(and(eq(waChannels.orgId, orgId), eq(waChannels.name, DEMO_CHANNEL_NAME)));
  if (existing) return false;
  const channel = await createChannel(ctx, orgId, actor, {
    name: DEMO_CHANNEL_NAME,
    mode: "simulator",
    displayPhoneNumber: "+1 555 010 0000",
  });
  const now = Date.now();
  for (const c of HISTORY) {
    const first = new Date(now - c.lines[0]!.minutesAgo * 60_000);
    const contactId = await upsertContactByWaId(ctx.db, orgId, c.waId, c.name, first);
    for (const [i, line] of c.lines.entries()) {
      const at = new Date(now - line.minutesAgo * 60_000);
      const conversationId = await upsertLiveConversation(
        ctx.db,
        orgId,
        channel.id,
        contactId,
        at,
        line.text,
        line.dir === "in",
      );
      const last = i === c.lines.length - 1 || c.lines.slice(i + 1).every((l) => l.dir === "in");
      const status = line.dir === "in" ? "received" : last ? c.lastStatus : "read";
      await ctx.db.insert(messages).values({
        orgId,
        conversationId,
        channelId: channel.id,
        contactId,
        direction: line.dir,
        wamid: `wamid.DEMO${c.waId}${i}`,
        type: "text",
        body: line.text,
        payload:
          line.dir === "in"
            ? { from: c.waId, id: `wamid.DEMO${c.waId}${i}`, type: "text", text: { body: line.text } }
            : { content: { type: "text", text: line.text } },
        status,
        createdAt: at,
        ...(line.dir === "out"
          ? status === "failed"
            ? { failedAt: at, errorCode: 131026, errorTitle: "Message undeliverable" }
            : {
                sentAt: at,
                deliveredAt: at,
                ...(status === "read" ? { readAt: new Date(at.getTime() + 60_000) } : {}),
              }
          : {}),
      });
    }
  }
  return true;
}

/** Contacts the WhatsApp demo adds (its customers write in through the simulator). */
export const DEMO_WHATSAPP_CUSTOMERS = HISTORY.length;
