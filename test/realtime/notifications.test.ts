import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { notifications } from "../../src/server/db/schema/index.js";
import { mailPendingNotifications, notifyBroadcastFinished } from "../../src/server/modules/notifications/service.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith } from "../helpers/orgs.js";
import { base, customerWrites, inboxOrg } from "../inbox/helpers.js";
import { TestSmtp, until } from "../mail/smtp.js";
import { listen, SseClient } from "./sse.js";

// A test app whose mail goes to a real SMTP server (test/mail/smtp.ts), with the time PGlite's
// migrations need on a busy machine.
const env = {} as { smtp: TestSmtp; t: TestApp };
beforeAll(async () => {
  env.smtp = await TestSmtp.start();
  env.t = await createTestApp({ env: { SMTP_URL: env.smtp.url } });
}, 180_000);
afterAll(async () => {
  await env.t?.close();
  await env.smtp?.close();
});

const bell = (orgId: string) => `/api/v1/orgs/${orgId}/notifications`;

async function emailState(orgId: string, id: string) {
  const [row] = await env.t.database.db
    .select({ state: notifications.emailState })
    .from(notifications)
    .where(and(eq(notifications.orgId, orgId), eq(notifications.id, id)));
  return row?.state;
}

describe("notifications", () => {
  it("assigned to me: in the bell (unread count), on my stream only, marked read by ids or all", async () => {
    const { t } = env;
    const f = await inboxOrg(t, "Bell Co");
    const url = await listen(t);
    const opStream = await SseClient.open(url, f.org.orgId, f.operator.token);
    const mgrStream = await SseClient.open(url, f.org.orgId, f.manager.token);
    try {
      const c = await customerWrites(f, { name: "Bella Bell" });
      const res = await f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, {
        memberId: f.operator.memberId,
      });
      expect(res.statusCode).toBe(200);

      const list = await f.operator.client.get(bell(f.org.orgId));
      expect(list.statusCode).toBe(200);
      expect(list.json().unreadCount).toBe(1);
      expect(list.json().items).toEqual([
        expect.objectContaining({
          kind: "conversation_assigned",
          conversationId: c.conversationId,
          by: { memberId: f.manager.memberId, name: "Mia Manager" },
          subjectName: "Bella Bell",
          read: false,
        }),
      ]);
      const id = list.json().items[0].id as string;
      const ev = await opStream.next((e) => e.event === "notification.created");
      expect(ev.data).toMatchObject({ notificationId: id, notificationKind: "conversation_assigned" });

      // The manager's stream sees the assignment, never the operator's notification.
      await mgrStream.next((e) => e.event === "conversation.assigned" && e.data.conversationId === c.conversationId);
      const sentinel = await customerWrites(f, { name: "Sentinel" });
      await mgrStream.next((e) => e.event === "message.created" && e.data.conversationId === sentinel.conversationId);
      expect(mgrStream.events.filter((e) => e.event === "notification.created")).toEqual([]);

      // Assigning to oneself notifies nobody.
      const self = await f.manager.client.post(`${base(f.org.orgId)}/${sentinel.conversationId}/assign`, {
        memberId: f.manager.memberId,
      });
      expect(self.statusCode).toBe(200);
      expect((await f.manager.client.get(bell(f.org.orgId))).json().items).toEqual([]);

      // Somebody else's ids change nothing; one's own are marked read.
      const theirs = await f.manager.client.post(`${bell(f.org.orgId)}/read`, { ids: [id] });
      expect(theirs.json()).toEqual({ updated: 0, unreadCount: 0 });
      const mine = await f.operator.client.post(`${bell(f.org.orgId)}/read`, { ids: [id] });
      expect(mine.statusCode).toBe(200);
      expect(mine.json()).toEqual({ updated: 1, unreadCount: 0 });
      expect((await f.operator.client.get(bell(f.org.orgId))).json().items[0].read).toBe(true);

      // A second one, then {all: true}.
      const c2 = await customerWrites(f, { name: "Second" });
      await f.manager.client.post(`${base(f.org.orgId)}/${c2.conversationId}/assign`, {
        memberId: f.operator.memberId,
      });
      expect((await f.operator.client.get(`${bell(f.org.orgId)}?unread=true`)).json().items).toHaveLength(1);
      expect((await f.operator.client.post(`${bell(f.org.orgId)}/read`, { all: true })).json()).toEqual({
        updated: 1,
        unreadCount: 0,
      });
      // Another organization's notifications are not reachable: not a member there → 404.
      const other = await inboxOrg(t, "Other Bell Co");
      expect((await f.operator.client.get(bell(other.org.orgId))).statusCode).toBe(404);
      expect((await f.operator.client.post(`${bell(f.org.orgId)}/read`, { ids: ["x"] })).statusCode).toBe(400);
      expect((await f.operator.client.post(`${bell(f.org.orgId)}/read`, {})).statusCode).toBe(400);
    } finally {
      opStream.close();
      mgrStream.close();
    }
  });

  it("a customer writes while the assignee is away: one bell entry until read; none while online", async () => {
    const { t } = env;
    const f = await inboxOrg(t, "Away Co");
    const c = await customerWrites(f, { name: "Wanda Waiting" });
    await f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, { memberId: f.operator.memberId });
    const replied = async () =>
      ((await f.operator.client.get(bell(f.org.orgId))).json().items as { kind: string; id: string }[]).filter(
        (n) => n.kind === "customer_replied",
      );
    // Never set a presence: offline. Two messages, one entry.
    await customerWrites(f, { waId: c.waId, text: "Anyone?" });
    await customerWrites(f, { waId: c.waId, text: "Hello??" });
    const first = await replied();
    expect(first).toEqual([
      expect.objectContaining({ conversationId: c.conversationId, subjectName: "Wanda Waiting", excerpt: "Anyone?" }),
    ]);
    // Read, then another message: a new entry.
    await f.operator.client.post(`${bell(f.org.orgId)}/read`, { ids: [first[0]!.id] });
    await customerWrites(f, { waId: c.waId, text: "Still here" });
    expect(await replied()).toHaveLength(2);
    // Online: the assignee is watching, nothing more.
    await f.operator.client.post(`${bell(f.org.orgId)}/read`, { all: true });
    expect(
      (await f.operator.client.put(`/api/v1/orgs/${f.org.orgId}/me/presence`, { status: "online" })).statusCode,
    ).toBe(200);
    await customerWrites(f, { waId: c.waId, text: "Thanks" });
    expect(await replied()).toHaveLength(2);
    // The manager (not the assignee) never gets one.
    const mgr = (await f.manager.client.get(bell(f.org.orgId))).json().items as { kind: string }[];
    expect(mgr.filter((n) => n.kind === "customer_replied")).toEqual([]);
  });

  it("cursor pagination, newest first", async () => {
    const { t } = env;
    const f = await inboxOrg(t, "Pages Co");
    for (let i = 0; i < 3; i++) {
      await t.database.db.transaction((tx) =>
        notifyBroadcastFinished(tx, {
          orgId: f.org.orgId,
          broadcastId: crypto.randomUUID(),
          name: `Campaign ${i}`,
          memberIds: [f.admin.memberId],
        }),
      );
    }
    const p1 = (await f.admin.client.get(`${bell(f.org.orgId)}?limit=2`)).json();
    expect(p1.items.map((n: { subjectName: string }) => n.subjectName)).toEqual(["Campaign 2", "Campaign 1"]);
    expect(p1.unreadCount).toBe(3);
    const p2 = (await f.admin.client.get(`${bell(f.org.orgId)}?limit=2&cursor=${p1.nextCursor}`)).json();
    expect(p2.items.map((n: { subjectName: string }) => n.subjectName)).toEqual(["Campaign 0"]);
    expect(p2.nextCursor).toBeNull();
  });

  it("@mention in a note: the mentioned member who can read the conversation, not one who cannot", async () => {
    const { t } = env;
    const f = await inboxOrg(t, "Mention Co");
    const c = await customerWrites(f, { name: "Mentioned Max" });
    await f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, { memberId: f.operator.memberId });
    const note = await f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/notes`, {
      text: "@Otto Operator please call back; @Pia Second FYI; @Ada Admin",
    });
    expect(note.statusCode).toBe(201);
    const op = (await f.operator.client.get(bell(f.org.orgId))).json().items;
    expect(op.find((n: { kind: string }) => n.kind === "mentioned")).toMatchObject({
      conversationId: c.conversationId,
      by: { memberId: f.manager.memberId, name: "Mia Manager" },
      excerpt: "@Otto Operator please call back; @Pia Second FYI; @Ada Admin",
    });
    // Pia (an operator, not assigned) may not read it: no notification.
    expect((await f.operator2.client.get(bell(f.org.orgId))).json().items).toEqual([]);
    expect((await f.admin.client.get(bell(f.org.orgId))).json().items).toHaveLength(1);
  });

  it("preferences: email only → no bell entry, an email through the outbox with hostile text neutralised", async () => {
    const { t, smtp } = env;
    const f = await inboxOrg(t, "Mail Co");
    const evil = await memberWith(t, f.org.orgId, ["chat_manager"], {
      firstName: "<img src=x onerror=alert(1)>",
      lastName: "visit http://evil.example",
    });
    await t.settle();
    const prefs = await f.operator.client.patch("/api/v1/me", {
      notificationPreferences: { conversation_assigned: { email: true, inApp: false } },
    });
    expect(prefs.statusCode).toBe(200);
    const c = await customerWrites(f, { name: "Mail Mallory" });
    const res = await evil.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, {
      memberId: f.operator.memberId,
    });
    expect(res.statusCode).toBe(200);
    expect((await f.operator.client.get(bell(f.org.orgId))).json()).toMatchObject({ items: [], unreadCount: 0 });
    const [row] = await t.database.db
      .select()
      .from(notifications)
      .where(and(eq(notifications.orgId, f.org.orgId), eq(notifications.memberId, f.operator.memberId)));
    expect(row).toMatchObject({ inApp: false, kind: "conversation_assigned" });
    // Claimed after the commit by this instance (or by the sweep), once.
    await mailPendingNotifications(t.app.ctx, { orgId: f.org.orgId });
    await until(async () => (await emailState(f.org.orgId, row!.id)) === "queued");
    expect(await mailPendingNotifications(t.app.ctx, { orgId: f.org.orgId })).toBe(0);
    await t.app.ctx.outbox.drain();
    const mail = await smtp.waitFor((m) => m.to !== undefined && JSON.stringify(m.to).includes(f.operator.email));
    expect(mail.subject).toContain("A conversation was assigned to you");
    expect(mail.html).not.toContain("<img");
    expect(mail.html).toContain("&lt;img");
    expect(mail.text).not.toContain("http://evil.example");
    expect(mail.text).toContain("Mail Mallory");
    expect(mail.text).toContain(`/orgs/${f.org.orgId}/inbox?conversation=${c.conversationId}`);
    expect(smtp.messages.filter((m) => JSON.stringify(m.to).includes(f.operator.email))).toHaveLength(1);
  });

  it("notifyBroadcastFinished (for the broadcasts module): in-app per preferences, members of the org only", async () => {
    const { t } = env;
    const f = await inboxOrg(t, "Broadcast Co");
    const other = await inboxOrg(t, "Not Theirs Co");
    const prefs = await f.noChats.client.patch("/api/v1/me", {
      notificationPreferences: { broadcast_finished: { inApp: false } },
    });
    expect(prefs.statusCode).toBe(200);
    const broadcastId = crypto.randomUUID();
    const ids = await t.database.db.transaction((tx) =>
      notifyBroadcastFinished(tx, {
        orgId: f.org.orgId,
        broadcastId,
        name: "Black Friday",
        memberIds: [f.admin.memberId, f.noChats.memberId, other.admin.memberId],
      }),
    );
    expect(ids).toHaveLength(1);
    const items = (await f.admin.client.get(bell(f.org.orgId))).json().items;
    expect(items).toEqual([
      expect.objectContaining({ kind: "broadcast_finished", broadcastId, subjectName: "Black Friday", by: null }),
    ]);
    expect((await f.noChats.client.get(bell(f.org.orgId))).json().items).toEqual([]);
    expect((await other.admin.client.get(bell(other.org.orgId))).json().items).toEqual([]);
  });
});
