/**
 * Issue 15, web app: the shared inbox in two browsers side by side, against the real server with a
 * simulator channel. A customer writes from /dev/phone; a Chat Manager finds it under Unassigned and
 * assigns it to an Operator; the Operator (another browser context) finds it under Mine, replies
 * (the reply reaches /dev/phone with its ticks), adds a note with an @mention, resolves it; another
 * member's conversation is "not found" for them. The details pane (contact, assignee, priority, tags:
 * what each may change), older messages loaded above a long thread. Phone width and Spanish; axe on
 * each screen.
 * Screenshots: screenshots-out/inbox-*.png.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { countIs, gone, hasText, PHONE, SETUP_MS, see, shoot, until } from "./server.js";
import { accessible, browserSuite } from "./suite.js";

const OWNER = { firstName: "Wendy", lastName: "Owner", email: "wendy@inbox.test", password: "correct horse battery 9" };
const MANAGER = { firstName: "Mia", lastName: "Manager", email: "mia@inbox.test", password: "staple paper 4242" };
const OPERATOR = { firstName: "Otto", lastName: "Operator", email: "otto@inbox.test", password: "staple paper 4343" };
const CUSTOMER = "15551230001";
const OTHER_CUSTOMER = "15551230002";

const suite = browserSuite("inbox", ["owner", "manager", "operator", "customer"] as const);
const { call, step } = suite;
const ctx = (who: "owner" | "manager" | "operator" | "customer"): BrowserContext => suite.ctx(who);
let manager: Page;
let operator: Page;
let phone: Page;
let orgId = "";
let channelId = "";
let conversationId = "";
let othersConversationId = "";

/** The customer types a message on the development phone (through the signed webhook). */
async function openPhone(from: string): Promise<void> {
  // The page refreshes itself every 3 s: a refresh may interrupt a navigation, then it is retried.
  for (let i = 0; ; i++) {
    try {
      await phone.goto(`/dev/phone?channel=${channelId}&from=${from}`);
      return;
    } catch (err) {
      if (i >= 3 || !/interrupted by another navigation/.test(String(err))) throw err;
    }
  }
}

async function customerSays(from: string, text: string): Promise<void> {
  await openPhone(from);
  await phone.locator('input[name="text"]').fill(text);
  await phone.getByRole("button", { name: "Send" }).click();
  await see(phone.locator(".msg.in", { hasText: text }));
}

async function conversationOf(from: string): Promise<string> {
  let id = "";
  await until(`a conversation with +${from}`, async () => {
    const list = await call<{ items: { id: string; contact: { phone: string } }[] }>(
      ctx("manager"),
      "GET",
      `/orgs/${orgId}/conversations?view=all&limit=100`,
    );
    id = list.items.find((c) => c.contact.phone === `+${from}`)?.id ?? "";
    return id !== "";
  });
  return id;
}

const row = (page: Page, id: string) => page.locator(`[data-testid="conversation-row"][data-id="${id}"]`);

describe("web app: the shared inbox", { concurrent: false }, () => {
  beforeAll(async () => {
    await suite.start();
    manager = suite.page("manager");
    operator = suite.page("operator");
    phone = suite.page("customer");
  }, SETUP_MS);

  afterAll(() => suite.stop());

  const presenceStep = "presence switch in the header; j / k, r and Escape move through the inbox";
  const setup = "setup over HTTP: owner, a simulator number, a Chat Manager and an Operator";
  step(setup, [], async () => {
    orgId = await suite.ownerWithOrg("owner", OWNER, "Inbox Co");
    const o = ctx("owner");
    channelId = (
      await call<{ id: string }>(o, "POST", `/orgs/${orgId}/channels`, {
        name: "Support line",
        mode: "simulator",
        displayPhoneNumber: "+1 555 010 0000",
      })
    ).id;
    await suite.invite("owner", orgId, MANAGER, "chat_manager", "manager");
    await suite.invite("owner", orgId, OPERATOR, "operator", "operator");
  });

  const queued = "a customer's message from /dev/phone shows under Unassigned for the Chat Manager";
  step(queued, [setup], async () => {
    await manager.goto(`/orgs/${orgId}`);
    await manager.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Inbox" }).click();
    await see(manager.getByRole("heading", { name: "Inbox", level: 1 }));
    await manager.getByRole("button", { name: "Unassigned" }).click();
    await see(manager.getByTestId("inbox-empty"));
    await customerSays(CUSTOMER, "Hi, my order has not arrived");
    conversationId = await conversationOf(CUSTOMER);
    // Live: the list polls, no reload.
    const r = row(manager, conversationId);
    await see(r);
    await hasText(r, "Hi, my order has not arrived");
    await hasText(r, "Unassigned");
    await see(r.getByTestId("unread"));
    await accessible(manager, "inbox list");
    await shoot(manager, "inbox-unassigned");
  });

  const assigned = "the Chat Manager opens it and assigns it to the Operator";
  step(assigned, [queued], async () => {
    await row(manager, conversationId).getByRole("link").click();
    await see(manager.getByTestId("thread-title"));
    await see(manager.getByTestId("message-in").filter({ hasText: "Hi, my order has not arrived" }));
    // Opening it marked it read for the manager.
    await countIs(row(manager, conversationId).getByTestId("unread"), 0);
    await accessible(manager, "inbox thread");
    await manager.getByRole("button", { name: "Assign", exact: true }).click();
    const dialog = manager.getByRole("dialog", { name: "Assign conversation" });
    await dialog.getByLabel("Assignee").selectOption({ label: "Otto Operator" });
    await dialog.getByLabel("Note (optional)").fill("VIP customer");
    await accessible(manager, "assign dialog");
    await dialog.getByRole("button", { name: "Assign" }).click();
    await gone(dialog);
    await see(manager.getByTestId("system-line").filter({ hasText: "Assigned to Otto Operator by Mia Manager" }));
    await manager.getByRole("button", { name: "Unassigned" }).click();
    await countIs(row(manager, conversationId), 0);
  });

  const replied = "the Operator finds it under Mine, replies, and the reply reaches the phone with its ticks";
  step(replied, [assigned], async () => {
    await operator.goto(`/orgs/${orgId}/inbox`);
    await see(operator.getByRole("heading", { name: "Inbox", level: 1 }));
    // An operator has one view (Mine) and none of the manager's controls.
    await countIs(operator.getByRole("button", { name: "Unassigned" }), 0);
    const r = row(operator, conversationId);
    await see(r);
    await r.getByRole("link").click();
    await see(operator.getByTestId("message-in").filter({ hasText: "Hi, my order has not arrived" }));
    await countIs(operator.getByRole("button", { name: "Assign", exact: true }), 0);
    await see(operator.getByRole("button", { name: "Transfer" }));
    const box = operator.getByLabel("Reply", { exact: true });
    await box.fill("Sorry about that! It ships today.");
    // A double click sends one message (one clientMsgId per composed message).
    await operator.getByRole("button", { name: "Send", exact: true }).dblclick();
    const out = operator.getByTestId("message-out").filter({ hasText: "Sorry about that! It ships today." });
    await see(out);
    await until(
      "the reply is read on the phone",
      async () => (await out.getByTestId("ticks").getAttribute("data-status")) === "read",
    );
    await countIs(out, 1);
    const thread = await call<{ items: { text: string | null }[] }>(
      ctx("operator"),
      "GET",
      `/orgs/${orgId}/conversations/${conversationId}/messages`,
    );
    expect(thread.items.filter((m) => m.text === "Sorry about that! It ships today.")).toHaveLength(1);
    await openPhone(CUSTOMER);
    const onPhone = phone.locator(".msg.out", { hasText: "Sorry about that! It ships today." });
    await see(onPhone);
    await see(onPhone.locator(".read"));
    await shoot(operator, "inbox-thread");
  });

  const noted = "a private note with an @mention, then the Operator resolves the conversation";
  step(noted, [replied], async () => {
    await operator.getByRole("button", { name: "Private note" }).click();
    await operator.getByLabel("Private note (only your team sees it)").fill("@Mia Manager refund approved?");
    await operator.getByRole("button", { name: "Add note" }).click();
    const note = operator.getByTestId("note").filter({ hasText: "refund approved?" });
    await see(note);
    await hasText(note.getByTestId("mention"), "@Mia Manager");
    // The note never reaches the phone.
    await phone.reload();
    // The page has loaded its thread (the reply is there) before the note's absence counts.
    await see(phone.locator(".msg.out", { hasText: "Sorry about that! It ships today." }));
    await countIs(phone.locator(".msg", { hasText: "refund approved?" }), 0);
    await countIs(phone.locator(".msg", { hasText: "VIP customer" }), 0);
    await operator.getByRole("button", { name: "Resolve" }).click();
    await see(operator.getByTestId("system-line").filter({ hasText: "Resolved by Otto Operator" }));
    await hasText(operator.getByTestId("thread-status"), "Resolved");
    await operator.getByRole("button", { name: "Reply", exact: true }).click();
    await see(operator.getByText("This conversation is resolved. Reopen it to reply."));
    await accessible(operator, "resolved thread");
  });

  const detailed =
    "the details pane: contact and assignee; the Chat Manager sets the priority and a tag, the Operator cannot reassign";
  step(detailed, [noted], async () => {
    // Wide screen (1280 px): list | thread | details.
    await manager.goto(`/orgs/${orgId}/inbox/${conversationId}`);
    const pane = manager.getByRole("complementary", { name: "Contact and conversation details" });
    await see(pane);
    await hasText(pane.getByTestId("details-contact"), `+${CUSTOMER}`);
    await hasText(pane.getByTestId("details-contact"), `WhatsApp ID${CUSTOMER}`);
    await hasText(pane.getByTestId("details-opt-out"), "Allowed");
    await hasText(pane.getByTestId("details-assignee"), "Otto Operator");
    await hasText(pane.getByTestId("details-conversation"), "Resolved");
    await hasText(pane.getByTestId("details-conversation"), "No tags");
    // A Chat Manager assigns and tags (the picker needs no contacts:read); no link to Contacts.
    await see(pane.getByRole("button", { name: "Change assignee" }));
    await countIs(pane.getByRole("link", { name: "Open in Contacts" }), 0);
    // On a wide screen the details are in the pane, not behind a button.
    await countIs(manager.getByRole("button", { name: "Details", exact: true }), 0);
    await pane.getByLabel("Priority").selectOption({ label: "High" });
    await see(manager.getByText("Priority saved"));
    await until(
      "the priority is saved",
      async () =>
        (await call<{ priority: number }>(ctx("manager"), "GET", `/orgs/${orgId}/conversations/${conversationId}`))
          .priority === 3,
    );
    await accessible(manager, "details pane");

    // The owner makes a tag; the Chat Manager (no contacts:read, so no Tags page) puts it on.
    await call<{ id: string }>(ctx("owner"), "POST", `/orgs/${orgId}/tags`, { name: "Late delivery" });
    await pane.getByRole("button", { name: "Edit tags" }).click();
    const tagging = manager.getByRole("dialog", { name: "Conversation tags" });
    await tagging.getByRole("checkbox", { name: "Late delivery" }).click();
    await tagging.getByRole("button", { name: "Save changes" }).click();
    await gone(tagging);
    await hasText(pane.getByTestId("details-tags"), "Late delivery");
    // The Operator sees the tag's name; they may retag their conversation, not reassign it.
    await operator.goto(`/orgs/${orgId}/inbox/${conversationId}`);
    const theirs = operator.getByRole("complementary", { name: "Contact and conversation details" });
    await hasText(theirs.getByTestId("details-assignee"), "Otto Operator");
    await hasText(theirs.getByTestId("details-tags"), "Late delivery");
    await expect.poll(() => theirs.getByLabel("Priority").inputValue()).toBe("3");
    await countIs(theirs.getByRole("button", { name: "Change assignee" }), 0);
    await see(theirs.getByRole("button", { name: "Edit tags" }));
    await countIs(theirs.getByRole("link", { name: "Open in Contacts" }), 0);
    await accessible(operator, "details pane (operator)");
    await shoot(operator, "inbox-details");

    // Narrower: the thread's "Details" button opens them in a side sheet.
    await operator.setViewportSize({ width: 1024, height: 800 });
    await gone(theirs);
    await operator.getByRole("button", { name: "Details", exact: true }).click();
    const sheet = operator.getByRole("dialog", { name: "Contact and conversation details" });
    await hasText(sheet.getByTestId("details-assignee"), "Otto Operator");
    await hasText(sheet.getByTestId("details-tags"), "Late delivery");
    await accessible(operator, "details sheet");
    await sheet.getByRole("button", { name: "Close" }).click();
    await gone(sheet);
    await operator.setViewportSize({ width: 1280, height: 800 });
  });

  const othersHidden = "another member's conversation is not found for the Operator";
  step(othersHidden, [setup], async () => {
    await customerSays(OTHER_CUSTOMER, "Is anyone there?");
    othersConversationId = await conversationOf(OTHER_CUSTOMER);
    const me = await call<{ memberId: string }>(ctx("manager"), "GET", `/orgs/${orgId}/me`);
    await call(ctx("manager"), "POST", `/orgs/${orgId}/conversations/${othersConversationId}/assign`, {
      memberId: me.memberId,
    });
    await operator.goto(`/orgs/${orgId}/inbox/${othersConversationId}`);
    await see(operator.getByTestId("conversation-not-found"));
    await countIs(operator.getByText("Is anyone there?"), 0);
    await countIs(row(operator, othersConversationId), 0);
  });

  step("a long thread: older messages load above, the reader's place kept", [othersHidden], async () => {
    // 100 notes after the customer's message: the newest 100 items leave it out.
    for (let i = 1; i <= 100; i++)
      await call(ctx("manager"), "POST", `/orgs/${orgId}/conversations/${othersConversationId}/notes`, {
        text: `Checked stock, round ${i}`,
      });
    await manager.goto(`/orgs/${orgId}/inbox/${othersConversationId}`);
    await see(manager.getByTestId("note").filter({ hasText: "Checked stock, round 100" }));
    await countIs(manager.getByTestId("message-in").filter({ hasText: "Is anyone there?" }), 0);
    const older = manager.getByRole("button", { name: "Load older messages" });
    await older.scrollIntoViewIfNeeded();
    // The oldest item shown before loading stays where it was on the screen.
    const oldestShown = manager
      .getByTestId("note")
      .filter({ has: manager.getByText("Checked stock, round 1", { exact: true }) });
    const before = await oldestShown.boundingBox();
    await older.click();
    await see(manager.getByTestId("message-in").filter({ hasText: "Is anyone there?" }));
    await countIs(older, 0);
    const after = await oldestShown.boundingBox();
    expect(Math.abs((after?.y ?? 0) - (before?.y ?? 0)), "the item the reader saw did not move").toBeLessThan(4);
    await accessible(manager, "thread with older messages");
  });

  step(presenceStep, [noted], async () => {
    // The Operator goes online from the header (the assignment rules then consider them).
    await operator.getByTestId("presence-switch").click();
    await operator.getByRole("menuitemradio", { name: "Online" }).click();
    await hasText(operator.getByTestId("presence-switch"), "Online");
    const presence = await call<{ status: string }>(ctx("operator"), "GET", `/orgs/${orgId}/me/presence`);
    expect(presence.status).toBe("online");
    // Keyboard, on the manager's All view: j opens the first conversation, r moves to the reply
    // box (when the conversation takes replies), Escape returns to the list.
    await manager.goto(`/orgs/${orgId}/inbox?view=all`);
    await see(manager.getByTestId("conversation-list"));
    await see(manager.getByTestId("inbox-keys"));
    await manager.keyboard.press("j");
    await see(manager.getByTestId("thread-title"));
    expect(manager.url()).toMatch(/\/inbox\/[0-9a-f-]{36}/);
    const first = manager.url();
    await manager.keyboard.press("j");
    await expect.poll(() => manager.url()).not.toBe(first);
    await manager.keyboard.press("k");
    await expect.poll(() => manager.url()).toBe(first);
    // r, on a conversation known to take replies (the customer wrote in and it is open), once
    // its own reply box is on the screen: right after k the previous thread may still be shown.
    await manager.goto(`/orgs/${orgId}/inbox/${othersConversationId}?view=all`);
    const composer = manager.locator("textarea[data-composer]");
    await see(composer);
    await manager.keyboard.press("r");
    await expect.poll(() => composer.evaluate((el) => el === document.activeElement)).toBe(true);
    await manager.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await manager.keyboard.press("Escape");
    await expect.poll(() => new URL(manager.url()).pathname).toBe(`/orgs/${orgId}/inbox`);
  });

  step(
    "the owner's activity log says in words who changed availability and who assigned; the Conversations group filters",
    [presenceStep],
    async () => {
      const page = await ctx("owner").newPage();
      await page.goto(`/orgs/${orgId}/settings/activity`);
      await see(page.getByRole("heading", { name: "Activity", level: 1 }));
      const rows = page.getByTestId("activity-row");
      const availability = rows.filter({ hasText: "Changed availability" }).first();
      await see(availability);
      await hasText(availability, `${OPERATOR.firstName} ${OPERATOR.lastName}`);
      await hasText(availability, "Status: Offline → Online");
      // A note without mentions shows no empty "mentions" line.
      const note = rows.filter({ hasText: "Added a private note" }).first();
      await see(note);
      expect(await note.textContent()).not.toContain("mentions");
      // The group of conversation changes leaves availability out; one action, only that action.
      await page.getByLabel("Action").selectOption({ label: "Any change to conversations" });
      await page.getByRole("button", { name: "Apply filters" }).click();
      await countIs(rows.filter({ hasText: "Changed availability" }), 0);
      await see(rows.filter({ hasText: "Added a private note" }).first());
      await page.getByLabel("Action").selectOption({ label: "Assigned a conversation" });
      await page.getByRole("button", { name: "Apply filters" }).click();
      await countIs(rows.filter({ hasText: "Added a private note" }), 0);
      const assigned = rows.filter({ hasText: "Assigned a conversation" });
      await see(assigned.first());
      // The change names the assignee, not an id.
      await see(assigned.filter({ hasText: `Assignee: ${OPERATOR.firstName} ${OPERATOR.lastName}` }).first());
      expect(await assigned.count()).toBe(await rows.count());
      await accessible(page, "activity log of the workspace");
      await page.close();
    },
  );

  step(
    "with the event stream open, an idle inbox does not poll; an event refreshes the open thread",
    [noted],
    async () => {
      await manager.goto(`/orgs/${orgId}/inbox/${othersConversationId}?view=all`);
      await see(manager.getByTestId("thread-title"));
      // GETs per inbox query while idle. Opening the thread marks it read, and the event that
      // causes may refetch each query once; polling every 3 s would ask each one twice in 6.5 s.
      const gets = { list: 0, conversation: 0, thread: 0 };
      const onRequest = (r: { url(): string; method(): string }) => {
        if (r.method() !== "GET") return;
        const p = new URL(r.url()).pathname;
        if (p.endsWith("/conversations")) gets.list++;
        else if (/\/conversations\/[0-9a-f-]{36}$/.test(p)) gets.conversation++;
        else if (/\/conversations\/[0-9a-f-]{36}\/messages$/.test(p)) gets.thread++;
      };
      manager.on("request", onRequest);
      try {
        await manager.waitForTimeout(6_500);
        expect(gets, "GETs of each inbox query while idle with the event stream open").toEqual({
          list: expect.toBeOneOf([0, 1]),
          conversation: expect.toBeOneOf([0, 1]),
          thread: expect.toBeOneOf([0, 1]),
        });
        // Another member's note reaches this thread through the stream, with no reload.
        await call(ctx("owner"), "POST", `/orgs/${orgId}/conversations/${othersConversationId}/notes`, {
          text: "Live through the event stream",
        });
        await see(manager.getByTestId("note").filter({ hasText: "Live through the event stream" }));
      } finally {
        manager.off("request", onRequest);
      }
    },
  );

  step("on a phone in Spanish: the list, then the thread, then back; no sideways scroll", [noted], async () => {
    await call(ctx("operator"), "PATCH", "/me", { language: "es" });
    await operator.setViewportSize(PHONE);
    await operator.goto(`/orgs/${orgId}/inbox?status=resolved`);
    await see(operator.getByRole("heading", { name: "Bandeja de entrada", level: 1 }));
    const r = row(operator, conversationId);
    await see(r);
    await hasText(r, "Resuelta");
    expect(await operator.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await accessible(operator, "inbox list (es, phone)");
    await r.getByRole("link").click();
    await see(operator.getByTestId("thread-title"));
    await gone(operator.getByTestId("conversation-list"));
    await see(operator.getByTestId("note").filter({ hasText: "refund approved?" }));
    expect(await operator.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await accessible(operator, "inbox thread (es, phone)");
    // The details, one screen at a time: a sheet over the thread.
    await operator.getByRole("button", { name: "Detalles", exact: true }).click();
    const sheet = operator.getByRole("dialog", { name: "Datos del contacto y de la conversación" });
    await hasText(sheet.getByTestId("details-assignee"), "Otto Operator");
    expect(await sheet.getByLabel("Prioridad").inputValue()).toBe("3");
    expect(await operator.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await accessible(operator, "details sheet (es, phone)");
    await shoot(operator, "inbox-details-es");
    await sheet.getByRole("button", { name: "Cerrar" }).click();
    await gone(sheet);
    await shoot(operator, "inbox-es");
    await operator.setViewportSize(PHONE);
    await operator.getByRole("link", { name: "Conversaciones" }).click();
    await see(operator.getByTestId("conversation-list"));
    await countIs(operator.getByTestId("thread-title"), 0);
    await call(ctx("operator"), "PATCH", "/me", { language: "en" });
  });
});
