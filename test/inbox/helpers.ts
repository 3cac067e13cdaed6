import { and, eq, sql } from "drizzle-orm";
import { activity, contacts, conversations } from "../../src/server/db/schema/index.js";
import { JOBS_SCHEMA } from "../../src/server/jobs/queue.js";
import type { TestApp } from "../helpers/app.js";
import { memberWith, type OrgFixture, orgWithOwner, type Person } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import { type ChannelFixture, connectChannel, drainWebhooks, inbound, postWebhook } from "../whatsapp/helpers.js";

export type Member = Person & { memberId: string };

export interface InboxFixture {
  t: TestApp;
  org: OrgFixture;
  ch: ChannelFixture;
  admin: Member;
  manager: Member;
  operator: Member;
  operator2: Member;
  /** Contact Manager: no chat permission at all. */
  noChats: Member;
  /** A custom role: chats:read_all + chats:reply, no chats:assign (may self-claim). */
  reader: Member;
  readerRoleId: string;
}

export async function inboxOrg(t: TestApp, name = "Inbox Co"): Promise<InboxFixture> {
  const org = await orgWithOwner(t, name);
  const ch = await connectChannel(org);
  const readerRole = await insertCustomRole(t.database.db, org.orgId, ["chats:read_all", "chats:reply"], "Reader");
  const [admin, manager, operator, operator2, noChats, reader] = await Promise.all([
    memberWith(t, org.orgId, ["administrator"], { firstName: "Ada", lastName: "Admin" }),
    memberWith(t, org.orgId, ["chat_manager"], { firstName: "Mia", lastName: "Manager" }),
    memberWith(t, org.orgId, ["operator"], { firstName: "Otto", lastName: "Operator" }),
    memberWith(t, org.orgId, ["operator"], { firstName: "Pia", lastName: "Second" }),
    memberWith(t, org.orgId, ["contact_manager"], { firstName: "Carl", lastName: "Contacts" }),
    memberWith(t, org.orgId, [readerRole], { firstName: "Rita", lastName: "Reader" }),
  ]);
  return {
    t,
    org,
    ch,
    admin: admin!,
    manager: manager!,
    operator: operator!,
    operator2: operator2!,
    noChats: noChats!,
    reader: reader!,
    readerRoleId: readerRole,
  };
}

let phoneCounter = 0;
/** A distinct customer number per call (digits only, like Meta's wa_id). */
export function customerNumber(): string {
  phoneCounter++;
  return `1555${String(Date.now() % 1_000_000).padStart(6, "0")}${String(phoneCounter).padStart(3, "0")}`.slice(0, 15);
}

/**
 * A customer message through the real signed webhook and its job; returns the conversation id.
 * `secondsAgo` backdates the message (Meta's timestamp), for the 24-hour window.
 */
export async function customerWrites(
  f: Pick<InboxFixture, "t" | "org" | "ch">,
  opts: { waId?: string; text?: string; name?: string; secondsAgo?: number } = {},
): Promise<{ conversationId: string; contactId: string; waId: string }> {
  const waId = opts.waId ?? customerNumber();
  const ts = Math.floor(Date.now() / 1000) - (opts.secondsAgo ?? 0);
  const raw = inbound(
    f.ch.phoneNumberId,
    waId,
    { type: "text", text: { body: opts.text ?? "Hello, I need help" }, timestamp: String(ts) },
    opts.name ?? "Ann Customer",
  );
  const res = await postWebhook(f.t, f.ch.webhookKey, raw);
  if (res.statusCode !== 200) throw new Error(`webhook: ${res.statusCode} ${res.body}`);
  await drainWebhooks(f.t);
  const [row] = await f.t.database.db
    .select({ conversationId: conversations.id, contactId: contacts.id })
    .from(conversations)
    .innerJoin(contacts, and(eq(contacts.orgId, conversations.orgId), eq(contacts.id, conversations.contactId)))
    .where(
      and(
        eq(conversations.orgId, f.org.orgId),
        eq(conversations.channelId, f.ch.id),
        eq(contacts.waId, waId),
        sql`${conversations.status} <> 'resolved'`,
      ),
    );
  if (!row) throw new Error("no conversation after the webhook");
  return { ...row, waId };
}

/** `whatsapp.send` jobs naming this message (0 or 1: nothing is sent twice). */
export async function sendJobsFor(t: TestApp, messageId: string): Promise<number> {
  const res = await t.database.db.execute(
    sql`select count(*)::int as n from ${sql.identifier(JOBS_SCHEMA)}.job where name = 'whatsapp.send' and data->>'messageId' = ${messageId}`,
  );
  const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { n: number }[];
  return Number(rows[0]?.n ?? 0);
}

export async function activityOf(t: TestApp, orgId: string, action: string) {
  return t.database.db
    .select()
    .from(activity)
    .where(and(eq(activity.orgId, orgId), eq(activity.action, action)));
}

export const base = (orgId: string) => `/api/v1/orgs/${orgId}/conversations`;
