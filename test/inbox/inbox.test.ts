import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveMentions } from "../../src/server/modules/conversations/service.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { drainWebhooks, envelope, messagesValue, newWamid, postWebhook } from "../whatsapp/helpers.js";
import { activityOf, base, customerWrites, type InboxFixture, inboxOrg, sendJobsFor } from "./helpers.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Inbox Co");
  other = await inboxOrg(t, "Other Co");
});
afterAll(async () => {
  await t.close();
});

const url = (path = "") => `${base(f.org.orgId)}${path}`;
const assign = (who: InboxFixture["admin"], id: string, body: Record<string, unknown>) =>
  who.client.post(url(`/${id}/assign`), body);
const ids = (res: { json: () => { items: { id: string }[] } }) => res.json().items.map((i) => i.id);

describe("visibility (DESIGN §7.3): list and single reads per role", () => {
  it("owner, administrator, chat manager see all; operators only theirs; no chat permission 403 / 404", async () => {
    const unassigned = await customerWrites(f, { name: "Una Assigned" });
    const mine = await customerWrites(f, { name: "Mo Mine" });
    const theirs = await customerWrites(f, { name: "Theo Theirs" });
    expect((await assign(f.manager, mine.conversationId, { memberId: f.operator.memberId })).statusCode).toBe(200);
    expect((await assign(f.manager, theirs.conversationId, { memberId: f.operator2.memberId })).statusCode).toBe(200);

    for (const who of [f.org.owner, f.admin, f.manager, f.reader]) {
      const res = await who.client.get(url("?view=all&limit=100"));
      expect(res.statusCode).toBe(200);
      expect(ids(res)).toEqual(expect.arrayContaining([unassigned, mine, theirs].map((c) => c.conversationId)));
      const one = await who.client.get(url(`/${theirs.conversationId}`));
      expect(one.statusCode).toBe(200);
      expect(one.json().assignee).toEqual({ memberId: f.operator2.memberId, name: "Pia Second" });
      expect(one.json().contact).toMatchObject({ id: theirs.contactId, name: "Theo Theirs", phone: `+${theirs.waId}` });
    }

    // The operator: only what is assigned to them, whatever the view; the rest is 404 (not 403).
    const op = f.operator.client;
    for (const view of ["all", "mine", "unassigned"]) {
      const res = await op.get(url(`?view=${view}&limit=100`));
      expect(res.statusCode).toBe(200);
      expect(ids(res)).toEqual(view === "unassigned" ? [] : [mine.conversationId]);
    }
    expect((await op.get(url(`/${mine.conversationId}`))).statusCode).toBe(200);
    for (const c of [unassigned, theirs]) {
      for (const path of ["", "/messages"]) {
        const res = await op.get(url(`/${c.conversationId}${path}`));
        expect(res.statusCode).toBe(404);
        expect(res.json().code).toBe("conversation_not_found");
      }
      const write = await op.post(url(`/${c.conversationId}/messages`), { text: "hi" });
      expect(write.statusCode).toBe(404);
      expect((await op.post(url(`/${c.conversationId}/notes`), { text: "n" })).statusCode).toBe(404);
      expect((await op.patch(url(`/${c.conversationId}`), { status: "resolved" })).statusCode).toBe(404);
      expect((await assign(f.operator, c.conversationId, { memberId: f.operator.memberId })).statusCode).toBe(404);
      expect((await op.post(url(`/${c.conversationId}/transfer`), { memberId: f.manager.memberId })).statusCode).toBe(
        404,
      );
    }

    // No chat permission: an empty list, a single conversation 404.
    const none = await f.noChats.client.get(url());
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ items: [], nextCursor: null });
    expect((await f.noChats.client.get(url(`/${mine.conversationId}`))).statusCode).toBe(404);

    // Views and filters.
    const unassignedView = ids(await f.manager.client.get(url("?view=unassigned&limit=100")));
    expect(unassignedView).toContain(unassigned.conversationId);
    expect(unassignedView).not.toContain(mine.conversationId);
    const mineView = ids(await f.manager.client.get(url("?view=mine&limit=100")));
    expect(mineView).toEqual([]);
    const byName = ids(await f.manager.client.get(url(`?q=${encodeURIComponent("theo")}`)));
    expect(byName).toEqual([theirs.conversationId]);
    const byPhone = ids(await f.manager.client.get(url(`?q=${encodeURIComponent(`+${mine.waId.slice(0, 14)}`)}`)));
    expect(byPhone).toEqual([mine.conversationId]);
    const otherChannel = await f.manager.client.get(url(`?channelId=${other.ch.id}`));
    expect(ids(otherChannel)).toEqual([]);
  });

  it("another organization's conversation is 404 on every route, and never in its list", async () => {
    const theirs = await customerWrites(other);
    for (const path of ["", "/messages"]) {
      const res = await f.org.owner.client.get(url(`/${theirs.conversationId}${path}`));
      expect(res.statusCode).toBe(404);
    }
    expect((await f.org.owner.client.post(url(`/${theirs.conversationId}/messages`), { text: "x" })).statusCode).toBe(
      404,
    );
    expect(
      (await f.org.owner.client.post(url(`/${theirs.conversationId}/assign`), { memberId: null })).statusCode,
    ).toBe(404);
    expect(ids(await f.org.owner.client.get(url("?limit=100")))).not.toContain(theirs.conversationId);
    // The other org's id in the path with our conversation: 404 as well (not a member there).
    const ours = await customerWrites(f);
    const cross = await f.org.owner.client.get(`${base(other.org.orgId)}/${ours.conversationId}`);
    expect(cross.statusCode).toBe(404);
  });

  it("pages newest activity first with a keyset cursor; a forged cursor is 400", async () => {
    const org = await inboxOrg(t, "Pages Co");
    const made: string[] = [];
    // Meta's timestamps are whole seconds: one second apart, so the order is by time, not id.
    for (let i = 0; i < 5; i++) made.push((await customerWrites(org, { secondsAgo: 10 - i })).conversationId);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await org.org.owner.client.get(
        `${base(org.org.orgId)}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(res.statusCode).toBe(200);
      seen.push(...ids(res));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    const bad = await org.org.owner.client.get(`${base(org.org.orgId)}?cursor=notacursor`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe("invalid_cursor");
  });
});

describe("replying", () => {
  it("an operator replies in their conversation: 202 queued, one send job, the thread shows it", async () => {
    const c = await customerWrites(f);
    await assign(f.manager, c.conversationId, { memberId: f.operator.memberId });
    const res = await f.operator.client.post(url(`/${c.conversationId}/messages`), {
      clientMsgId: "op-1",
      text: "Hi, how can I help?",
    });
    expect(res.statusCode).toBe(202);
    const m = res.json();
    expect(m).toMatchObject({ kind: "message", direction: "out", status: "queued", text: "Hi, how can I help?" });
    expect(m.author).toEqual({ memberId: f.operator.memberId, name: "Otto Operator" });
    expect(await sendJobsFor(t, m.id)).toBe(1);

    // The same clientMsgId again: the same message, no second job.
    const again = await f.operator.client.post(url(`/${c.conversationId}/messages`), {
      clientMsgId: "op-1",
      text: "Hi, how can I help?",
    });
    expect(again.statusCode).toBe(202);
    expect(again.json().id).toBe(m.id);
    expect(await sendJobsFor(t, m.id)).toBe(1);

    const thread = (await f.operator.client.get(url(`/${c.conversationId}/messages`))).json().items;
    expect(thread[0]).toMatchObject({ id: m.id, status: "queued" });
    expect(
      thread.filter((i: { kind: string }) => i.kind === "message").map((i: { direction: string }) => i.direction),
    ).toEqual(["out", "in"]);
    expect(thread.find((i: { kind: string }) => i.kind === "system").text).toBe(
      "assigned to Otto Operator by Mia Manager",
    );
  });

  it("parallel requests with one clientMsgId store one message and one job", async () => {
    const c = await customerWrites(f);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        f.manager.client.post(url(`/${c.conversationId}/messages`), { clientMsgId: "parallel-1", text: "once" }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual([202, 202, 202, 202, 202]);
    const msgIds = new Set(results.map((r) => r.json().id));
    expect(msgIds.size).toBe(1);
    expect(await sendJobsFor(t, [...msgIds][0]!)).toBe(1);
    const thread = (await f.manager.client.get(url(`/${c.conversationId}/messages`))).json().items;
    expect(
      thread.filter((i: { direction: string; kind: string }) => i.kind === "message" && i.direction === "out"),
    ).toHaveLength(1);
    // The clientMsgId used in another conversation: 409.
    const c2 = await customerWrites(f);
    const reuse = await f.manager.client.post(url(`/${c2.conversationId}/messages`), {
      clientMsgId: "parallel-1",
      text: "once",
    });
    expect(reuse.statusCode).toBe(409);
    expect(reuse.json().code).toBe("client_msg_id_used");
  });

  it("replying to an unassigned conversation assigns it to the replier (system line, activity)", async () => {
    const c = await customerWrites(f);
    const res = await f.reader.client.post(url(`/${c.conversationId}/messages`), { text: "I'll take this" });
    expect(res.statusCode).toBe(202);
    const conv = (await f.reader.client.get(url(`/${c.conversationId}`))).json();
    expect(conv.assignee).toEqual({ memberId: f.reader.memberId, name: "Rita Reader" });
    const records = (await activityOf(t, f.org.orgId, "conversation.assigned")).filter(
      (a) => a.targetId === c.conversationId,
    );
    expect(records).toHaveLength(1);
    expect(records[0]!.changes).toMatchObject({ assigneeMemberId: { before: null, after: f.reader.memberId } });
    // Message text never lands in the activity log.
    expect(JSON.stringify(records)).not.toContain("I'll take this");
  });

  it("somebody else's conversation needs chats:assign to reply; chat manager may, reader may not", async () => {
    const c = await customerWrites(f);
    await assign(f.manager, c.conversationId, { memberId: f.operator.memberId });
    const reader = await f.reader.client.post(url(`/${c.conversationId}/messages`), { text: "butting in" });
    expect(reader.statusCode).toBe(403);
    expect(reader.json().code).toBe("assigned_to_someone_else");
    const manager = await f.manager.client.post(url(`/${c.conversationId}/messages`), { text: "manager here" });
    expect(manager.statusCode).toBe(202);
    // Chat manager replying does not take the conversation.
    expect((await f.manager.client.get(url(`/${c.conversationId}`))).json().assignee.memberId).toBe(
      f.operator.memberId,
    );
    // No chats:reply at all: the route refuses (403 permission_denied) before anything.
    const none = await f.noChats.client.post(url(`/${c.conversationId}/messages`), { text: "x" });
    expect(none.statusCode).toBe(403);
    expect(none.json().code).toBe("permission_denied");
  });

  it("text outside the 24-hour window is 409 window_closed, nothing queued", async () => {
    const c = await customerWrites(f, { secondsAgo: 25 * 3600 });
    const res = await f.manager.client.post(url(`/${c.conversationId}/messages`), {
      text: "too late",
      clientMsgId: "late-1",
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe("window_closed");
    const thread = (await f.manager.client.get(url(`/${c.conversationId}/messages`))).json().items;
    expect(thread.filter((i: { direction: string }) => i.direction === "out")).toHaveLength(0);
    expect((await f.manager.client.get(url(`/${c.conversationId}`))).json().assignee).toBeNull();
    // A fresh customer message reopens the window.
    await customerWrites(f, { waId: c.waId });
    const ok = await f.manager.client.post(url(`/${c.conversationId}/messages`), {
      text: "now",
      clientMsgId: "late-1",
    });
    expect(ok.statusCode).toBe(202);
  });

  it("hostile text is stored and returned as data; bad bodies are 400", async () => {
    const c = await customerWrites(f, {
      text: "<script>alert(1)</script>' OR 1=1 --",
      name: "<img src=x onerror=alert(1)>",
    });
    const dollar = "$";
    const hostile = `=cmd|' /C calc'!A0 <b>bold</b> \u202Eevil ${dollar}{process.env} '; drop table messages; --`;
    const res = await f.manager.client.post(url(`/${c.conversationId}/messages`), { text: hostile });
    expect(res.statusCode).toBe(202);
    expect(res.json().text).toBe(hostile);
    const conv = (await f.manager.client.get(url(`/${c.conversationId}`))).json();
    expect(conv.contact.name).toBe("<img src=x onerror=alert(1)>");
    const search = await f.manager.client.get(url(`?q=${encodeURIComponent("%_\\' or 1=1")}`));
    expect(search.statusCode).toBe(200);
    expect(search.json().items).toEqual([]);
    for (const body of [{ text: "" }, { text: "a\u0000b" }, { text: "x".repeat(4097) }, {}, { text: 5 }]) {
      const bad = await f.manager.client.post(url(`/${c.conversationId}/messages`), body);
      expect(bad.statusCode, JSON.stringify(body).slice(0, 40)).toBe(400);
    }
    expect((await f.manager.client.get(url("/not-a-uuid"))).statusCode).toBe(400);
    expect((await f.manager.client.get(url("?view=everything"))).statusCode).toBe(400);
  });
});

describe("thread", () => {
  it("shows delivery ticks and Meta's failure reason on outbound messages; pages back with `before`", async () => {
    const c = await customerWrites(f);
    const post = (text: string) => f.manager.client.post(url(`/${c.conversationId}/messages`), { text });
    const a = (await post("first")).json();
    const b = (await post("second")).json();
    const status = (messageId: string, s: string, extra: Record<string, unknown> = {}) =>
      envelope(
        f.ch.phoneNumberId,
        messagesValue(f.ch.phoneNumberId, {
          statuses: [
            {
              id: newWamid(),
              status: s,
              timestamp: String(Math.floor(Date.now() / 1000)),
              recipient_id: c.waId,
              biz_opaque_callback_data: messageId,
              ...extra,
            },
          ],
        }),
      );
    await postWebhook(t, f.ch.webhookKey, status(a.id, "delivered"));
    await postWebhook(
      t,
      f.ch.webhookKey,
      status(b.id, "failed", {
        errors: [
          {
            code: 131026,
            title: "Message undeliverable",
            message: "Message undeliverable",
            error_data: { details: "Receiver is incapable of receiving this message" },
          },
        ],
      }),
    );
    await drainWebhooks(t);
    const page1 = (await f.manager.client.get(url(`/${c.conversationId}/messages?limit=2`))).json();
    // Newest first: the failed "second", then "first" (delivered).
    expect(page1.items.map((i: { text: string }) => i.text)).toEqual(["second", "first"]);
    expect(page1.items[0]).toMatchObject({
      status: "failed",
      error: {
        code: 131026,
        title: "Message undeliverable",
        details: "Receiver is incapable of receiving this message",
      },
    });
    expect(page1.items[0].failedAt).not.toBeNull();
    expect(page1.items[1]).toMatchObject({ status: "delivered", error: null });
    expect(page1.items[1].deliveredAt).not.toBeNull();
    expect(page1.nextCursor).not.toBeNull();
    const page2 = (
      await f.manager.client.get(
        url(`/${c.conversationId}/messages?limit=2&before=${encodeURIComponent(page1.nextCursor)}`),
      )
    ).json();
    // The system line of the reply taking the conversation, then the customer's message.
    expect(page2.items.map((i: { kind: string; direction: string | null }) => [i.kind, i.direction])).toEqual([
      ["system", null],
      ["message", "in"],
    ]);
    expect(page2.items[1]).toMatchObject({ status: "received", text: "Hello, I need help", author: null });
    expect(page2.nextCursor).toBeNull();
  });
});

describe("notes and status", () => {
  it("mentions: full name or first name; a shared first name mentions neither", () => {
    const people = [
      { id: "a", firstName: "Ann", lastName: "Lee" },
      { id: "b", firstName: "Ann", lastName: "Moss" },
      { id: "c", firstName: "Bo", lastName: "Ek" },
    ];
    expect(resolveMentions("@ann lee and @Bo, see @Ann", people)).toEqual(["a", "c"]);
    expect(resolveMentions("@Ann please", people)).toEqual([]);
    expect(resolveMentions("mail ann@example.com", people)).toEqual([]);
  });

  it("a note is private (no send job), resolves @mentions to member ids, writes activity without its text", async () => {
    const c = await customerWrites(f);
    const res = await f.manager.client.post(url(`/${c.conversationId}/notes`), {
      text: "@Otto Operator please check, cc @pia and @nobody",
    });
    expect(res.statusCode).toBe(201);
    const note = res.json();
    expect(note).toMatchObject({ kind: "note", direction: null, status: null });
    expect(note.mentions).toEqual([f.operator.memberId, f.operator2.memberId].sort());
    expect(await sendJobsFor(t, note.id)).toBe(0);
    const rec = (await activityOf(t, f.org.orgId, "conversation.note_added")).find(
      (a) => a.targetId === c.conversationId,
    );
    expect(rec).toBeDefined();
    expect(JSON.stringify(rec)).not.toContain("please check");
    // Notes do not change the list's preview.
    expect((await f.manager.client.get(url(`/${c.conversationId}`))).json().preview).toBe("Hello, I need help");
  });

  it("status changes write a system line and activity; snooze needs a future time; tags (team tags too)", async () => {
    const c = await customerWrites(f);
    const id = c.conversationId;
    const noTime = await f.manager.client.patch(url(`/${id}`), { status: "snoozed" });
    expect(noTime.statusCode).toBe(400);
    expect(noTime.json().code).toBe("snooze_needs_future_time");
    const until = new Date(Date.now() + 3600_000).toISOString();
    const snoozed = await f.manager.client.patch(url(`/${id}`), { status: "snoozed", snoozedUntil: until });
    expect(snoozed.statusCode).toBe(200);
    expect(snoozed.json()).toMatchObject({ status: "snoozed", snoozedUntil: until });

    const team = await f.org.owner.client.post(`/api/v1/orgs/${f.org.orgId}/teams`, { name: "Billing", memberIds: [] });
    expect(team.statusCode).toBe(201);
    const tag = await f.org.owner.client.post(`/api/v1/orgs/${f.org.orgId}/tags`, {
      name: "VIP billing",
      teamId: team.json().id,
    });
    expect(tag.statusCode).toBe(201);
    const tagged = await f.manager.client.patch(url(`/${id}`), { tagIds: [tag.json().id], priority: 2 });
    expect(tagged.statusCode).toBe(200);
    expect(tagged.json()).toMatchObject({ tagIds: [tag.json().id], priority: 2, status: "snoozed" });
    expect(ids(await f.manager.client.get(url(`?tagId=${tag.json().id}`)))).toEqual([id]);
    const otherTag = await other.org.owner.client.post(`/api/v1/orgs/${other.org.orgId}/tags`, { name: "Theirs" });
    const foreign = await f.manager.client.patch(url(`/${id}`), { tagIds: [otherTag.json().id] });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().code).toBe("unknown_tag");

    const resolved = await f.manager.client.patch(url(`/${id}`), { status: "resolved" });
    expect(resolved.json()).toMatchObject({ status: "resolved", snoozedUntil: null });
    expect(ids(await f.manager.client.get(url("?status=resolved&limit=100")))).toContain(id);
    const lines = (await f.manager.client.get(url(`/${id}/messages`)))
      .json()
      .items.filter((i: { kind: string }) => i.kind === "system");
    expect(lines.map((l: { text: string }) => l.text)).toEqual([
      "resolved by Mia Manager",
      `snoozed until ${until} by Mia Manager`,
    ]);
    const records = (await activityOf(t, f.org.orgId, "conversation.status_changed")).filter((a) => a.targetId === id);
    expect(records).toHaveLength(2);
    // A new inbound message after resolved opens a new conversation; reopening the old one is 409.
    const next = await customerWrites(f, { waId: c.waId });
    expect(next.conversationId).not.toBe(id);
    const reopen = await f.manager.client.patch(url(`/${id}`), { status: "open" });
    expect(reopen.statusCode).toBe(409);
    expect(reopen.json().code).toBe("live_conversation_exists");
    const replyResolved = await f.manager.client.post(url(`/${id}/messages`), { text: "x" });
    expect(replyResolved.json().code).toBe("conversation_resolved");
  });
});

describe("assignment and transfer", () => {
  it("chats:assign assigns anyone; the target must read chats; a reader may only self-claim", async () => {
    const c = await customerWrites(f);
    const id = c.conversationId;
    const noRead = await assign(f.manager, id, { memberId: f.noChats.memberId });
    expect(noRead.statusCode).toBe(409);
    expect(noRead.json().code).toBe("assignee_cannot_read_chats");
    const stranger = await assign(f.manager, id, { memberId: other.operator.memberId });
    expect(stranger.statusCode).toBe(400);
    expect(stranger.json().code).toBe("unknown_member");

    const toOther = await assign(f.reader, id, { memberId: f.operator.memberId });
    expect(toOther.statusCode).toBe(403);
    expect(toOther.json().code).toBe("assign_not_allowed");
    const claim = await assign(f.reader, id, { memberId: f.reader.memberId });
    expect(claim.statusCode).toBe(200);
    expect(claim.json().assignee.memberId).toBe(f.reader.memberId);
    const steal = await assign(f.reader, id, { memberId: null });
    expect(steal.statusCode).toBe(403);

    // An operator cannot assign (even to themselves: they cannot see unassigned ones anyway).
    const c2 = await customerWrites(f);
    await assign(f.manager, c2.conversationId, { memberId: f.operator.memberId });
    const opUnassign = await assign(f.operator, c2.conversationId, { memberId: null });
    expect(opUnassign.statusCode).toBe(403);

    for (const who of [f.org.owner, f.admin]) {
      const r = await who.client.post(url(`/${c2.conversationId}/assign`), { memberId: f.operator2.memberId });
      expect(r.statusCode).toBe(200);
      const back = await who.client.post(url(`/${c2.conversationId}/assign`), { memberId: f.operator.memberId });
      expect(back.statusCode).toBe(200);
    }
    // Stale expectation: 409 conversation_changed, nothing changes.
    const stale = await assign(f.manager, c2.conversationId, {
      memberId: f.operator2.memberId,
      expectedAssigneeMemberId: null,
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: "conversation_changed", assigneeMemberId: f.operator.memberId });
    expect((await f.manager.client.get(url(`/${c2.conversationId}`))).json().assignee.memberId).toBe(
      f.operator.memberId,
    );
    const unassigned = await assign(f.manager, c2.conversationId, { memberId: null, note: "back to the pool" });
    expect(unassigned.json().assignee).toBeNull();
    const line = (await f.manager.client.get(url(`/${c2.conversationId}/messages?limit=1`))).json().items[0];
    expect(line).toMatchObject({ kind: "system", text: "unassigned by Mia Manager: back to the pool" });
    expect(line.event).toMatchObject({ type: "unassigned", from: f.operator.memberId, note: "back to the pool" });
  });

  it("only the assignee transfers, with a note in the thread; the target must read chats", async () => {
    const c = await customerWrites(f);
    const id = c.conversationId;
    await assign(f.manager, id, { memberId: f.operator.memberId });
    const notMine = await f.manager.client.post(url(`/${id}/transfer`), { memberId: f.operator2.memberId });
    expect(notMine.statusCode).toBe(403);
    expect(notMine.json().code).toBe("not_assignee");
    const bad = await f.operator.client.post(url(`/${id}/transfer`), { memberId: f.noChats.memberId });
    expect(bad.json().code).toBe("assignee_cannot_read_chats");
    const ok = await f.operator.client.post(url(`/${id}/transfer`), {
      memberId: f.operator2.memberId,
      note: "Customer speaks Spanish",
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().assignee.memberId).toBe(f.operator2.memberId);
    // Now it is Pia's: Otto no longer sees it.
    expect((await f.operator.client.get(url(`/${id}`))).statusCode).toBe(404);
    const line = (await f.operator2.client.get(url(`/${id}/messages?limit=1`))).json().items[0];
    expect(line.text).toBe("transferred to Pia Second by Otto Operator: Customer speaks Spanish");
    const rec = (await activityOf(t, f.org.orgId, "conversation.transferred")).find((a) => a.targetId === id);
    expect(rec?.changes).toEqual({ assigneeMemberId: { before: f.operator.memberId, after: f.operator2.memberId } });
  });
});

describe("members losing access", () => {
  it("removing a member returns their open conversations to the queue in the same transaction", async () => {
    const org = await inboxOrg(t, "Removal Co");
    const a = await customerWrites(org);
    const b = await customerWrites(org);
    const done = await customerWrites(org);
    for (const c of [a, b, done]) {
      const r = await org.manager.client.post(`${base(org.org.orgId)}/${c.conversationId}/assign`, {
        memberId: org.operator.memberId,
      });
      expect(r.statusCode).toBe(200);
    }
    await org.manager.client.patch(`${base(org.org.orgId)}/${done.conversationId}`, { status: "resolved" });
    const del = await org.org.owner.client.delete(`/api/v1/orgs/${org.org.orgId}/members/${org.operator.memberId}`);
    expect(del.statusCode).toBe(204);
    const queue = ids(await org.manager.client.get(`${base(org.org.orgId)}?view=unassigned&limit=100`));
    expect(queue).toEqual(expect.arrayContaining([a.conversationId, b.conversationId]));
    const resolved = (await org.manager.client.get(`${base(org.org.orgId)}/${done.conversationId}`)).json();
    expect(resolved.assignee).toBeNull(); // the membership is gone (foreign key), no system line
    const line = (await org.manager.client.get(`${base(org.org.orgId)}/${a.conversationId}/messages?limit=1`)).json()
      .items[0];
    expect(line.text).toBe("returned to the queue: Otto Operator was removed from the organization");
    const rec = await activityOf(t, org.org.orgId, "conversations.returned_to_queue");
    expect(rec).toHaveLength(1);
    expect(rec[0]!.changes).toMatchObject({ conversations: { before: 2, after: 0 }, reason: { after: "removed" } });
  });

  it("a role change taking away chat-read permissions returns them; keeping one does not", async () => {
    const org = await inboxOrg(t, "Roles Co");
    const a = await customerWrites(org);
    const b = await customerWrites(org);
    await org.manager.client.post(`${base(org.org.orgId)}/${a.conversationId}/assign`, {
      memberId: org.operator.memberId,
    });
    await org.manager.client.post(`${base(org.org.orgId)}/${b.conversationId}/assign`, {
      memberId: org.operator2.memberId,
    });
    const keep = await org.org.owner.client.patch(`/api/v1/orgs/${org.org.orgId}/members/${org.operator2.memberId}`, {
      roleIds: ["chat_manager"],
    });
    expect(keep.statusCode).toBe(200);
    const lose = await org.org.owner.client.patch(`/api/v1/orgs/${org.org.orgId}/members/${org.operator.memberId}`, {
      roleIds: ["contact_manager"],
    });
    expect(lose.statusCode).toBe(200);
    expect((await org.manager.client.get(`${base(org.org.orgId)}/${a.conversationId}`)).json().assignee).toBeNull();
    expect((await org.manager.client.get(`${base(org.org.orgId)}/${b.conversationId}`)).json().assignee.memberId).toBe(
      org.operator2.memberId,
    );
    const rec = await activityOf(t, org.org.orgId, "conversations.returned_to_queue");
    expect(rec.map((r) => r.targetId)).toEqual([org.operator.memberId]);
    expect(rec[0]!.changes).toMatchObject({ reason: { after: "lost_chat_access" } });
  });
  it("leaving the organization returns one's conversations; a role edit removing chat permissions does too", async () => {
    const org = await inboxOrg(t, "Leavers Co");
    const a = await customerWrites(org);
    const b = await customerWrites(org);
    const conv = (id: string) => org.manager.client.get(`${base(org.org.orgId)}/${id}`);
    await org.manager.client.post(`${base(org.org.orgId)}/${a.conversationId}/assign`, {
      memberId: org.operator.memberId,
    });
    const claim = await org.reader.client.post(`${base(org.org.orgId)}/${b.conversationId}/assign`, {
      memberId: org.reader.memberId,
    });
    expect(claim.statusCode).toBe(200);

    const left = await org.operator.client.post(`/api/v1/orgs/${org.org.orgId}/leave`);
    expect(left.statusCode).toBe(204);
    expect((await conv(a.conversationId)).json().assignee).toBeNull();
    const leftLine = (
      await org.manager.client.get(`${base(org.org.orgId)}/${a.conversationId}/messages?limit=1`)
    ).json().items[0];
    expect(leftLine.text).toBe("returned to the queue: Otto Operator left the organization");

    // The reader's custom role loses its chat permissions: Rita's conversation returns.
    const roleId = org.readerRoleId;
    const edit = await org.org.owner.client.patch(`/api/v1/orgs/${org.org.orgId}/roles/${roleId}`, {
      permissions: ["contacts:read"],
    });
    expect(edit.statusCode).toBe(200);
    expect((await conv(b.conversationId)).json().assignee).toBeNull();
    const rec = await activityOf(t, org.org.orgId, "conversations.returned_to_queue");
    expect(rec.map((r) => [r.targetId, (r.changes as { reason: { after: string } }).reason.after]).sort()).toEqual(
      [
        [org.operator.memberId, "left"],
        [org.reader.memberId, "lost_chat_access"],
      ].sort(),
    );
  });
});
