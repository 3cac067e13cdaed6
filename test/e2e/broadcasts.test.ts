/**
 * Issue 16, web app: Templates and Broadcasts in a real browser (Chromium via playwright-core)
 * against the real server (src/server/main.ts with its job workers, temporary PGlite, the embedded
 * fake Graph API, which reviews templates and posts message statuses on its own). The owner writes
 * a template in the page and sees Meta approve it, builds a broadcast to a list in the page, sends
 * it and sees the recipients delivered; an Operator has neither page; both pages pass axe and fit a
 * phone in Spanish.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { countIs, gone, hasText, PHONE, SETUP_MS, see, shoot, until } from "./server.js";
import { accessible, browserSuite, noSidewaysScroll } from "./suite.js";

const OWNER = {
  firstName: "Bruna",
  lastName: "Owner",
  email: "bruna@broadcasts.test",
  password: "correct horse battery 5",
};
const OPERATOR = {
  firstName: "Otto",
  lastName: "Operator",
  email: "otto@broadcasts.test",
  password: "staple paper 5151",
};
const TEMPLATER = {
  firstName: "Tara",
  lastName: "Templates",
  email: "tara@broadcasts.test",
  password: "staple paper 5252",
};
const BROADCASTER = {
  firstName: "Bo",
  lastName: "Broadcasts",
  email: "bo@broadcasts.test",
  password: "staple paper 5353",
};
const CONTACTS = [
  { phone: "+15550120001", name: "Ann Lee" },
  { phone: "+15550120002", name: "Ben Cruz" },
  { phone: "+15550120003", name: "Cleo Diaz" },
];

const suite = browserSuite("broadcasts", ["owner", "operator", "templater", "broadcaster"] as const);
const { call, step } = suite;
let owner: Page;
let operator: Page;
let orgId = "";
let broadcastUrl = "";
let channelId = "";
let listId = "";

const count = (page: Page, k: string) => page.getByTestId("broadcast-detail-counts").locator(`[data-count="${k}"] dd`);

describe("web app: templates and broadcasts", { concurrent: false }, () => {
  beforeAll(async () => {
    await suite.start();
    owner = suite.page("owner");
    operator = suite.page("operator");
    if (process.env.E2E_DEBUG)
      owner.on("response", async (r) => {
        if (r.request().method() === "PATCH") console.log(`[owner] PATCH ${r.url()} → ${r.status()} ${await r.text()}`);
      });
  }, SETUP_MS);

  afterAll(() => suite.stop());

  const setup = "setup over HTTP: owner, a simulator number, a VIP list of three contacts, an Operator";
  step(setup, [], async () => {
    orgId = await suite.ownerWithOrg("owner", OWNER, "Broadcast Co");
    const c = suite.ctx("owner");
    channelId = (
      await call<{ id: string }>(c, "POST", `/orgs/${orgId}/channels`, {
        name: "Promo line",
        mode: "simulator",
        displayPhoneNumber: "+1 555 012 0000",
      })
    ).id;
    listId = (await call<{ id: string }>(c, "POST", `/orgs/${orgId}/lists`, { name: "VIP" })).id;
    for (const x of CONTACTS) await call(c, "POST", `/orgs/${orgId}/contacts`, { ...x, listIds: [listId] });
    await suite.invite("owner", orgId, OPERATOR, "operator", "operator");
  });

  const template = "the owner writes a template with a live preview; Meta approves it";
  step(template, [setup], async () => {
    await owner.goto(`/orgs/${orgId}`);
    await owner.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Templates" }).click();
    await see(owner.getByRole("heading", { name: "Templates", level: 1 }));
    await see(owner.getByText("No templates yet."));
    await owner.getByRole("button", { name: "New template" }).click();
    const dialog = owner.getByRole("dialog", { name: "New template" });
    // The shared schema refuses an empty form before the server is asked.
    await dialog.getByRole("button", { name: "Submit for review" }).click();
    await see(dialog.locator("[aria-invalid=true]"));
    await dialog.getByLabel("Name", { exact: true }).fill("spring_sale");
    await dialog.getByLabel("Body", { exact: true }).fill("Hello {{1}}, our spring sale starts today!");
    // The body has a variable: Meta's review needs an example, and the preview shows it.
    await dialog.getByRole("button", { name: "Submit for review" }).click();
    await see(dialog.getByLabel("Example for {{1}}").and(dialog.locator("[aria-invalid=true]")));
    await dialog.getByLabel("Example for {{1}}").fill("Ann");
    await dialog.getByLabel("Footer", { exact: true }).fill("Reply STOP to opt out");
    await dialog.getByLabel("Quick-reply buttons").fill("Show me\nNot now");
    const preview = dialog.getByTestId("template-preview");
    await hasText(preview, "Hello Ann, our spring sale starts today!");
    await hasText(preview, "Not now");
    await accessible(owner, "template editor");
    await shoot(owner, "templates-editor");
    await dialog.getByRole("button", { name: "Submit for review" }).click();
    const row = owner.locator('[data-testid="template-row"][data-name="spring_sale"]');
    await see(row);
    // The simulator reviews it after a moment; the page looks again while a template is pending.
    await hasText(row.getByTestId("template-status"), "Approved");
    await see(owner.getByRole("button", { name: "Sync from Meta" }));
    await accessible(owner, "templates page");
    await shoot(owner, "templates");
  });

  const draft = "the owner builds a broadcast to the VIP list: audience size, mapping, one-contact preview";
  step(draft, [template], async () => {
    await owner.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Broadcasts" }).click();
    await see(owner.getByRole("heading", { name: "Broadcasts", level: 1 }));
    await owner.getByRole("button", { name: "New broadcast" }).click();
    const dialog = owner.getByRole("dialog", { name: "New broadcast" });
    await dialog.getByLabel("Name", { exact: true }).fill("Spring sale");
    await dialog.getByRole("checkbox", { name: "VIP" }).click();
    await hasText(dialog.getByTestId("audience-size"), "3 contacts will receive it");
    await dialog.getByLabel("Template", { exact: true }).selectOption({ label: "spring_sale (en)" });
    expect(await dialog.getByLabel("Variable 1").inputValue()).toBe("first_name");
    await dialog.getByLabel("Fallback when empty").fill("friend");
    await dialog.getByLabel("Preview for a contact").selectOption({ label: `Ben Cruz · ${CONTACTS[1]?.phone}` });
    await hasText(dialog.getByTestId("template-preview"), "Hello Ben, our spring sale starts today!");
    await accessible(owner, "broadcast editor");
    await shoot(owner, "broadcasts-editor");
    await dialog.getByRole("button", { name: "Create draft" }).click();
    await see(owner.getByRole("heading", { name: "Spring sale", level: 1 }));
    await hasText(owner.getByTestId("audience-size"), "3 contacts will receive it");
    broadcastUrl = new URL(owner.url()).pathname;
  });

  const sent = "the owner sends it: the detail counts three sent and delivered, recipients and timeline listed";
  step(sent, [draft], async () => {
    await owner.getByRole("button", { name: "Send now" }).click();
    await until("three delivered", async () => (await count(owner, "delivered").textContent()) === "3");
    expect(await count(owner, "sent").textContent()).toBe("3");
    expect(await count(owner, "failed").textContent()).toBe("0");
    await countIs(owner.getByTestId("recipient-row"), 3);
    await hasText(owner.getByTestId("broadcast-timeline"), "sent it");
    await see(owner.getByRole("link", { name: "Export CSV" }));
    await accessible(owner, "broadcast detail");
    await shoot(owner, "broadcasts-detail");
    await owner.getByRole("link", { name: "All broadcasts" }).click();
    const row = owner.locator('[data-testid="broadcast-row"][data-name="Spring sale"]');
    await hasText(row, "Completed");
    await accessible(owner, "broadcasts page");
    await shoot(owner, "broadcasts");
  });

  step("the owner schedules a draft for later and cancels it", [sent], async () => {
    const c = suite.ctx("owner");
    const tpl = (
      await call<{ items: { id: string; name: string }[] }>(c, "GET", `/orgs/${orgId}/templates?status=APPROVED`)
    ).items.find((x) => x.name === "spring_sale");
    const b = await call<{ id: string }>(c, "POST", `/orgs/${orgId}/broadcasts`, {
      name: "Later",
      channelId,
      templateId: tpl?.id,
      variables: { "1": { field: "first_name", fallback: "friend" } },
      audience: { listIds: [listId] },
    });
    await owner.goto(`/orgs/${orgId}/broadcasts/${b.id}`);
    await see(owner.getByRole("heading", { name: "Later", level: 1 }));
    await owner.getByLabel(/Or schedule at/).fill("2030-01-15T09:00");
    await owner.getByRole("button", { name: "Schedule", exact: true }).click();
    await see(owner.getByText("Sends at"));
    await hasText(owner.getByTestId("broadcast-timeline"), "scheduled it");
    await owner.getByRole("button", { name: "Cancel broadcast" }).click();
    // Asked first: cancelling cannot be undone.
    const confirm = owner.getByRole("alertdialog", { name: "Cancel Later?" });
    await see(confirm);
    await confirm.getByRole("button", { name: "Cancel broadcast" }).click();
    await gone(confirm);
    await see(owner.getByText("Cancelled", { exact: true }).first());
    await hasText(owner.getByTestId("broadcast-timeline"), "cancelled it");
    await countIs(owner.getByRole("button", { name: "Send now" }), 0);
  });

  step("the owner edits the approved template: it goes back to review with the new text", [sent], async () => {
    await owner.goto(`/orgs/${orgId}/templates`);
    const row = owner.locator('[data-testid="template-row"][data-name="spring_sale"]');
    await row.getByRole("button", { name: "Edit spring_sale" }).click();
    const dialog = owner.getByRole("dialog", { name: "Edit spring_sale" });
    expect(await dialog.getByLabel("Example for {{1}}").inputValue()).toBe("Ann");
    await dialog.getByLabel("Body", { exact: true }).fill("Hi {{1}}, the spring sale ends Sunday!");
    await hasText(dialog.getByTestId("template-preview"), "Hi Ann, the spring sale ends Sunday!");
    const edited = owner.waitForResponse(
      (r) => r.request().method() === "PATCH" && /\/templates\/[\w-]+$/.test(new URL(r.url()).pathname),
    );
    await dialog.getByRole("button", { name: "Submit for review" }).click();
    // Back in review (the answer to the edit), then Meta (the simulator) approves the new text with
    // a status webhook: its entry time makes it a different body from the first approval's.
    expect((await (await edited).json()).status).toBe("PENDING");
    await gone(dialog);
    await hasText(row.getByTestId("template-status"), "Approved");
    await row.getByRole("button", { name: "spring_sale" }).first().click();
    await hasText(owner.getByTestId("template-preview"), "Hi Ann, the spring sale ends Sunday!");
    await owner.keyboard.press("Escape");
  });

  step("an Operator has no Templates or Broadcasts entry", [setup], async () => {
    await operator.goto(`/orgs/${orgId}`);
    const nav = operator.getByRole("navigation", { name: "Workspace" });
    await see(nav.getByRole("link", { name: "Inbox" }));
    await countIs(nav.getByRole("link", { name: "Templates" }), 0);
    await countIs(nav.getByRole("link", { name: "Broadcasts" }), 0);
  });

  step(
    "a Template Manager edits templates but has no Broadcasts; a Broadcast Manager reads templates and follows broadcasts",
    [sent],
    async () => {
      await suite.invite("owner", orgId, TEMPLATER, "template_manager", "templater");
      await suite.invite("owner", orgId, BROADCASTER, "broadcast_manager", "broadcaster");
      const templater = suite.page("templater");
      await templater.goto(`/orgs/${orgId}`);
      let nav = templater.getByRole("navigation", { name: "Workspace" });
      await nav.getByRole("link", { name: "Templates" }).click();
      await see(templater.locator('[data-testid="template-row"][data-name="spring_sale"]'));
      await see(templater.getByRole("button", { name: "New template" }));
      await see(templater.getByRole("button", { name: "Delete spring_sale" }));
      // Without settings:read the editor still offers the organization's number.
      await templater.getByRole("button", { name: "New template" }).click();
      const editor = templater.getByRole("dialog", { name: "New template" });
      const number = editor.getByLabel("WhatsApp number");
      await hasText(number.locator("option:checked"), "Promo line");
      await templater.keyboard.press("Escape");
      await gone(editor);
      await countIs(nav.getByRole("link", { name: "Broadcasts" }), 0);
      const broadcaster = suite.page("broadcaster");
      await broadcaster.goto(`/orgs/${orgId}/templates`);
      await see(broadcaster.locator('[data-testid="template-row"][data-name="spring_sale"]'));
      await see(broadcaster.getByText("You can see the templates;"));
      await countIs(broadcaster.getByRole("button", { name: "New template" }), 0);
      nav = broadcaster.getByRole("navigation", { name: "Workspace" });
      await nav.getByRole("link", { name: "Broadcasts" }).click();
      await see(broadcaster.getByRole("button", { name: "New broadcast" }));
      await broadcaster.getByRole("link", { name: "Spring sale" }).click();
      await see(broadcaster.getByRole("heading", { name: "Spring sale", level: 1 }));
      await countIs(broadcaster.getByTestId("recipient-row"), 3);
    },
  );

  step("in Spanish at 390 px both pages fit the phone and pass axe", [sent], async () => {
    await call(suite.ctx("owner"), "PATCH", "/me", { language: "es" });
    await owner.setViewportSize(PHONE);
    await owner.goto(`/orgs/${orgId}/templates`);
    await see(owner.getByRole("heading", { name: "Plantillas", level: 1 }));
    await see(owner.locator('[data-testid="template-row"][data-name="spring_sale"]'));
    await noSidewaysScroll(owner);
    await accessible(owner, "templates page (es)");
    await shoot(owner, "templates-es");
    await owner.goto(`/orgs/${orgId}/broadcasts`);
    await see(owner.getByRole("heading", { name: "Difusiones", level: 1 }));
    await hasText(owner.locator('[data-testid="broadcast-row"][data-name="Spring sale"]'), "Completada");
    await noSidewaysScroll(owner);
    await accessible(owner, "broadcasts page (es)");
    await owner.goto(broadcastUrl);
    await see(owner.getByRole("heading", { name: "Spring sale", level: 1 }));
    await see(owner.getByText("Destinatarios").first());
    await noSidewaysScroll(owner);
    await accessible(owner, "broadcast detail (es)");
    await shoot(owner, "broadcasts-detail-es");
  });
});
