import { createHmac } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import pino, { type Logger } from "pino";
import { contacts, conversations, messages, waWebhookEvents } from "../../src/server/db/schema/index.js";
import { webhookJob } from "../../src/server/modules/whatsapp/ingest.js";
import type { TestApp } from "../helpers/app.js";
import { logSink } from "../helpers/log-sink.js";
import type { OrgFixture } from "../helpers/orgs.js";

export const PHONE_NUMBER_ID = "106540352242922";
export const WABA_ID = "102290129340398";
export const ACCESS_TOKEN = "EAAGtestACCESStoken0123456789abcdefSECRET";
export const APP_SECRET = "appsecret0123456789abcdef0123456789ab";

/** A logger whose every line (JSON) is kept, at trace level: tests grep them for secrets. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const { stream, writes } = logSink();
  return { logger: pino({ level: "trace" }, stream), lines: writes };
}

export interface ChannelFixture {
  id: string;
  webhookUrl: string;
  webhookKey: string;
  verifyToken: string;
  phoneNumberId: string;
}

let counter = 0;
/** Distinct phone number ids per test file run (the id is unique across organizations). */
export function uniquePhoneNumberId(): string {
  counter++;
  return `${Date.now()}${String(counter).padStart(3, "0")}`.slice(-15);
}

export async function connectChannel(
  org: OrgFixture,
  over: Partial<{
    mode: "cloud" | "simulator";
    phoneNumberId: string;
    accessToken: string;
    appSecret: string;
    mpsLimit: number;
  }> = {},
): Promise<ChannelFixture> {
  const res = await org.owner.client.post(`/api/v1/orgs/${org.orgId}/channels`, {
    name: "Support line",
    mode: over.mode ?? "cloud",
    phoneNumberId: over.phoneNumberId ?? uniquePhoneNumberId(),
    wabaId: WABA_ID,
    displayPhoneNumber: "+1 555 010 0000",
    accessToken: over.accessToken ?? ACCESS_TOKEN,
    appSecret: over.appSecret ?? APP_SECRET,
    ...(over.mpsLimit ? { mpsLimit: over.mpsLimit } : {}),
  });
  if (res.statusCode !== 201) throw new Error(`connect failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return {
    id: b.id,
    webhookUrl: b.webhookUrl,
    webhookKey: String(b.webhookUrl).split("/").pop()!,
    verifyToken: b.verifyToken,
    phoneNumberId: b.phoneNumberId,
  };
}

export function sign(raw: string | Buffer, secret = APP_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;
}

/** POSTs raw bytes at the webhook route like Meta does. */
export function postWebhook(t: TestApp, key: string, raw: string | Buffer, signature: string | null = sign(raw)) {
  return t.app.inject({
    method: "POST",
    url: `/api/v1/webhooks/whatsapp/${key}`,
    headers: { "content-type": "application/json", ...(signature ? { "x-hub-signature-256": signature } : {}) },
    payload: raw,
  });
}

export function envelope(_phoneNumberId: string, value: Record<string, unknown>, field = "messages"): string {
  return JSON.stringify({ object: "whatsapp_business_account", entry: [{ id: WABA_ID, changes: [{ value, field }] }] });
}

export function messagesValue(phoneNumberId: string, extra: Record<string, unknown>) {
  return {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "15550100000", phone_number_id: phoneNumberId },
    ...extra,
  };
}

let wamidCounter = 0;
export function newWamid(): string {
  wamidCounter++;
  return `wamid.HBgLMTU1NTAxMDAwMDAVAgASGBQz${Date.now().toString(36)}${wamidCounter}`;
}

/** One inbound message of any type from `from`, shaped like Meta's reference. */
export function inbound(
  phoneNumberId: string,
  from: string,
  message: Record<string, unknown>,
  name = "Ann Customer",
): string {
  return envelope(
    phoneNumberId,
    messagesValue(phoneNumberId, {
      contacts: [{ profile: { name }, wa_id: from }],
      messages: [{ from, id: newWamid(), timestamp: String(Math.floor(Date.now() / 1000)), ...message }],
    }),
  );
}

export async function drainWebhooks(t: TestApp): Promise<number> {
  return t.app.ctx.jobs.drain(webhookJob);
}

export async function messagesOf(t: TestApp, orgId: string) {
  return t.database.db
    .select()
    .from(messages)
    .where(eq(messages.orgId, orgId))
    .orderBy(asc(messages.createdAt), asc(messages.id));
}

export async function eventsOf(t: TestApp, orgId: string) {
  return t.database.db
    .select()
    .from(waWebhookEvents)
    .where(eq(waWebhookEvents.orgId, orgId))
    .orderBy(asc(waWebhookEvents.id));
}

export async function contactsOf(t: TestApp, orgId: string) {
  return t.database.db.select().from(contacts).where(eq(contacts.orgId, orgId));
}

export async function conversationsOf(t: TestApp, orgId: string, contactId?: string) {
  return t.database.db
    .select()
    .from(conversations)
    .where(and(eq(conversations.orgId, orgId), contactId ? eq(conversations.contactId, contactId) : undefined));
}
