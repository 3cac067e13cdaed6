/**
 * Issue 13, web app: the Contacts area in a real browser (Debian's Chromium driven by playwright-core)
 * against the real server (src/server/main.ts, temporary PGlite, job workers, development mailbox).
 * The people are set up over HTTP (sign-up, organization, invitations: Team Management has its own
 * browser test); everything about contacts is done in the page. Steps share one server and run in
 * order; a step whose prerequisite failed is skipped. Screenshots (desktop and phone, en and es) go
 * to screenshots-out/contacts-*.png.
 */
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { attrIs, countIs, gone, hasText, PHONE, SETUP_MS, see, shoot } from "./server.js";
import { accessible, browserSuite, noSidewaysScroll } from "./suite.js";

const OWNER = {
  firstName: "Olga",
  lastName: "Owner",
  email: "olga@contacts.test",
  password: "correct horse battery 9",
};
const OPERATOR = {
  firstName: "Oscar",
  lastName: "Operator",
  email: "oscar@contacts.test",
  password: "staple paper 4242",
};
const BROADCASTER = {
  firstName: "Bea",
  lastName: "Broadcast",
  email: "bea@contacts.test",
  password: "staple paper 4343",
};

const suite = browserSuite("contacts", ["owner", "operator", "broadcaster"] as const);
const { call, step } = suite;
let owner: Page;
let operator: Page;
let broadcaster: Page;
let orgId = "";

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const row = (page: Page, phone: string) => page.locator(`[data-testid="contact-row"][data-phone="${phone}"]`);
const visibleRows = (page: Page) => page.locator('[data-testid="contact-row"]');
const toaster = (page: Page) => page.locator("[data-toaster]");

describe("web app: contacts, tags, lists and teams", { concurrent: false }, () => {
  beforeAll(async () => {
    await suite.start();
    owner = suite.page("owner");
    operator = suite.page("operator");
    broadcaster = suite.page("broadcaster");
    if (process.env.E2E_DEBUG)
      owner.on("response", (r) => {
        if (r.url().includes("/api/")) console.log(`[owner] ${r.request().method()} ${r.url()} → ${r.status()}`);
      });
  }, SETUP_MS);

  afterAll(() => suite.stop());

  step("setup over HTTP: owner, organization, an Operator and a Broadcast Manager", [], async () => {
    orgId = await suite.ownerWithOrg("owner", OWNER, "Contacts Co");
    await suite.invite("owner", orgId, OPERATOR, "operator", "operator");
    await suite.invite("owner", orgId, BROADCASTER, "broadcast_manager", "broadcaster");
  });
  const setup = "setup over HTTP: owner, organization, an Operator and a Broadcast Manager";

  step("the workspace navigation leads the owner to an empty Contacts page", [setup], async () => {
    await owner.goto(`/orgs/${orgId}`);
    const nav = owner.getByRole("navigation", { name: "Workspace" });
    await nav.getByRole("link", { name: "Contacts" }).click();
    await see(owner.getByRole("heading", { name: "Contacts", level: 1 }));
    await see(owner.getByTestId("contacts-empty"));
    await see(owner.getByRole("button", { name: "New contact" }));
    await see(owner.getByRole("button", { name: "Import CSV" }));
  });
  const onContacts = "the workspace navigation leads the owner to an empty Contacts page";

  step("tags and lists are created on their pages", [onContacts], async () => {
    await owner.getByRole("navigation", { name: "Contacts area" }).getByRole("link", { name: "Tags" }).click();
    await see(owner.getByRole("heading", { name: "Tags", level: 1 }));
    for (const name of ["VIP", "Wholesale"]) {
      await owner.getByRole("button", { name: "New tag" }).click();
      const dialog = owner.getByRole("dialog", { name: "New tag" });
      await dialog.getByLabel("Name").fill(name);
      if (name === "VIP") await dialog.getByRole("button", { name: "#dc2626" }).click();
      await dialog.getByRole("button", { name: "Create tag" }).click();
      await gone(dialog);
      await see(owner.locator(`[data-testid="tag-row"][data-name="${name}"]`));
    }
    // The name is unique (case-insensitive): the server's 409 lands on the field, and goes as it changes.
    await owner.getByRole("button", { name: "New tag" }).click();
    const dialog = owner.getByRole("dialog", { name: "New tag" });
    await dialog.getByLabel("Name").fill("vip");
    await dialog.getByRole("button", { name: "Create tag" }).click();
    await see(dialog.getByText("A tag with this name already exists."));
    await dialog.getByLabel("Name").fill("vip2");
    await countIs(dialog.getByText("A tag with this name already exists."), 0);
    await owner.keyboard.press("Escape");
    await gone(dialog);
    await accessible(owner, "tags");
    await shoot(owner, "contacts-tags");

    await owner.getByRole("navigation", { name: "Contacts area" }).getByRole("link", { name: "Lists" }).click();
    await owner.getByRole("button", { name: "New list" }).click();
    const listDialog = owner.getByRole("dialog", { name: "New list" });
    await listDialog.getByLabel("Name").fill("Newsletter");
    await listDialog.getByLabel("Description").fill("Monthly news");
    await listDialog.getByRole("button", { name: "Create list" }).click();
    await gone(listDialog);
    await hasText(owner.locator('[data-testid="list-row"][data-name="Newsletter"]'), "0");
  });
  const tagged = "tags and lists are created on their pages";

  step("a contact is created in the drawer; a bad phone is refused on the field", [tagged], async () => {
    await owner.getByRole("navigation", { name: "Contacts area" }).getByRole("link", { name: "Contacts" }).click();
    await owner.getByRole("button", { name: "New contact" }).click();
    const drawer = owner.getByRole("dialog", { name: "New contact" });
    await drawer.getByLabel("Phone number").fill("+34 12");
    await drawer.getByLabel("Name", { exact: true }).fill("Ana García");
    await drawer.getByRole("button", { name: "Add attribute" }).click();
    await drawer.getByLabel("Attribute 1 name").fill("city");
    await drawer.getByLabel("Attribute 1 value").fill("Madrid");
    await drawer.getByRole("checkbox", { name: "VIP" }).click();
    await drawer.getByRole("checkbox", { name: "Newsletter" }).click();
    await drawer.getByRole("button", { name: "Create contact" }).click();
    // The server's reason (libphonenumber-js), on the field, translated.
    const phone = drawer.getByLabel("Phone number");
    await attrIs(phone, "aria-invalid", "true");
    await see(drawer.getByRole("alert").filter({ hasText: /number/ }));
    await accessible(owner, "contact drawer with a field error");
    await shoot(owner, "contacts-drawer-error");
    await phone.fill("+34 600 123 456");
    await until(
      "the phone error clears as the field changes",
      async () => (await phone.getAttribute("aria-invalid")) === null,
    );
    await drawer.getByRole("button", { name: "Create contact" }).click();
    await gone(drawer);
    const ana = row(owner, "+34600123456");
    await see(ana);
    await hasText(ana, "Ana García");
    await hasText(ana, "VIP");
    // A second contact with the same number: 409 on the phone field.
    await owner.getByRole("button", { name: "New contact" }).click();
    const again = owner.getByRole("dialog", { name: "New contact" });
    await again.getByLabel("Phone number").fill("0034600123456");
    await again.getByRole("button", { name: "Create contact" }).click();
    await see(again.getByText("A contact with this phone number already exists."));
    await owner.keyboard.press("Escape");
    await gone(again);
  });
  const created = "a contact is created in the drawer; a bad phone is refused on the field";

  step("the activity log names the new contact's tags and lists, not their ids", [created], async () => {
    await owner.goto(`/orgs/${orgId}/settings/activity`);
    const line = owner.getByTestId("activity-row").filter({ hasText: "Created a contact" }).first();
    await see(line);
    await hasText(line, "Ana García");
    await hasText(line, "Tags: VIP");
    await hasText(line, "Lists: Newsletter");
    await hasText(line, "Phone: +34600123456");
    await owner.goto(`/orgs/${orgId}/contacts`);
  });

  step("search is debounced and kept in the address", [created], async () => {
    const o = suite.ctx("owner");
    for (const [phone, name] of [
      ["+15551234567", "Bob Baker"],
      ["+447700900123", "Carla Cruz"],
      ["+15557654321", null],
    ] as const)
      await call(o, "POST", `/orgs/${orgId}/contacts`, { phone, name });
    await owner.reload();
    await countIs(visibleRows(owner), 4);
    await owner.getByLabel("Search").fill("bob");
    await owner.waitForURL(/[?&]q=bob/);
    await countIs(visibleRows(owner), 1);
    await see(row(owner, "+15551234567"));
    // Phone prefix, with and without +; the address survives a reload.
    await owner.getByLabel("Search").fill("1555");
    await owner.waitForURL(/[?&]q=1555/);
    await countIs(visibleRows(owner), 2);
    await owner.reload();
    await countIs(visibleRows(owner), 2);
    expect(await owner.getByLabel("Search").inputValue()).toBe("1555");
    await owner.getByLabel("Search").fill("");
    await owner.waitForURL((u) => !u.searchParams.has("q"));
    await countIs(visibleRows(owner), 4);
  });
  const searched = "search is debounced and kept in the address";

  step("a bulk action tags the selection; the tag filter is in the address", [searched], async () => {
    await row(owner, "+15551234567").getByRole("checkbox").check();
    await row(owner, "+447700900123").getByRole("checkbox").check();
    await see(owner.getByText("2 selected"));
    await owner.getByRole("button", { name: "Add tag" }).click();
    await owner.getByRole("menuitem", { name: "Wholesale" }).click();
    await hasText(toaster(owner), "Tag “Wholesale” added to 2 contacts.");
    await hasText(row(owner, "+447700900123"), "Wholesale");
    await accessible(owner, "contacts with a selection");
    await shoot(owner, "contacts");
    await owner.getByLabel("Tag", { exact: true }).selectOption({ label: "Wholesale" });
    await owner.waitForURL(/[?&]tagId=/);
    await countIs(visibleRows(owner), 2);
    // Delete asks first, naming the count.
    await row(owner, "+15551234567").getByRole("checkbox").check();
    await owner.getByRole("button", { name: "Delete", exact: true }).click();
    const confirm = owner.getByRole("alertdialog", { name: "Delete 1 contact?" });
    await see(confirm);
    await see(confirm.getByRole("button", { name: "Delete 1 contact" }));
    await confirm.getByRole("button", { name: "Cancel" }).click();
    await gone(confirm);
    await countIs(visibleRows(owner), 2);
  });
  const bulkTagged = "a bulk action tags the selection; the tag filter is in the address";

  step("export downloads the contacts matching the current filters", [bulkTagged], async () => {
    const link = owner.getByTestId("export-link");
    expect(await link.getAttribute("href")).toMatch(/tagId=/);
    const [download] = await Promise.all([owner.waitForEvent("download"), link.click()]);
    const file = await download.path();
    const csv = readFileSync(file, "utf8");
    expect(csv.split(/\r?\n/)[0]).toMatch(/^phone,name,tags,lists/);
    expect(csv).toContain("Bob Baker");
    expect(csv).toContain("Carla Cruz");
    expect(csv).not.toContain("Ana García");
  });

  step("a CSV import shows its progress to the end, with the rows that failed", [searched], async () => {
    await owner.goto(`/orgs/${orgId}/contacts`);
    await owner.getByRole("button", { name: "Import CSV" }).click();
    const dialog = owner.getByRole("dialog", { name: "Import contacts" });
    const rows = ["phone,name,tags,attr.city"];
    for (let i = 0; i < 60; i++) rows.push(`+3491${String(1000000 + i)},Imported ${i},Imported;VIP,Sevilla`);
    rows.push("not-a-phone,Broken,,");
    rows.push("+15551234567,Bob Baker Jr,,Boston"); // an existing phone: updated, not duplicated
    await dialog
      .locator('input[type="file"]')
      .setInputFiles({ name: "contacts.csv", mimeType: "text/csv", buffer: Buffer.from(rows.join("\n")) });
    await dialog.getByRole("button", { name: "Upload and import" }).click();
    const progress = dialog.getByTestId("import-progress");
    await see(progress);
    await see(dialog.getByRole("progressbar"));
    await owner.waitForFunction(
      () => document.querySelector('[data-testid="import-progress"]')?.getAttribute("data-state") === "completed",
      undefined,
      { timeout: 60_000 },
    );
    expect(await dialog.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("100");
    await hasText(dialog.getByTestId("import-created"), "60");
    await hasText(dialog.getByTestId("import-updated"), "1");
    await hasText(dialog.getByTestId("import-failed"), "1");
    await hasText(dialog.getByTestId("import-errors"), "Row 61");
    // The row's error is the web app's translation of its code (curly quotes; the API's English
    // message has straight ones).
    await hasText(dialog.getByTestId("import-errors"), "“not-a-phone”");
    await see(dialog.getByText("Import finished"));
    await accessible(owner, "import dialog, finished");
    await shoot(owner, "contacts-import");
    await dialog.getByRole("button", { name: "Done" }).click();
    await gone(dialog);
    await owner.getByLabel("Search").fill("+1555123");
    await hasText(row(owner, "+15551234567"), "Bob Baker Jr");
    await owner.getByLabel("Search").fill("");
    await owner.waitForURL((u) => !u.searchParams.has("q"));
    // The imported tag was created on the way; 60 contacts in pages of 50: "Load more" brings the rest.
    await owner.getByLabel("Tag", { exact: true }).selectOption({ label: "Imported" });
    await countIs(visibleRows(owner), 50);
    await owner.getByRole("button", { name: "Load more" }).click();
    await countIs(visibleRows(owner), 60);
  });
  const imported = "a CSV import shows its progress to the end, with the rows that failed";

  step("a bulk action on the whole filter reaches the contacts not loaded yet", [imported], async () => {
    await owner.reload(); // the first page only
    await countIs(visibleRows(owner), 50);
    await owner.getByRole("checkbox", { name: "Select all shown" }).click();
    await see(owner.getByText("50 selected"));
    await owner.getByRole("button", { name: "Select every contact matching the search and filters" }).click();
    await see(owner.getByText("All matching contacts selected"));
    await owner.getByRole("button", { name: "Add to list" }).click();
    await owner.getByRole("menuitem", { name: "Newsletter" }).click();
    await hasText(toaster(owner), "60 contacts added to “Newsletter”.");
    await owner.goto(`/orgs/${orgId}/contacts/lists`);
    await hasText(owner.locator('[data-testid="list-row"][data-name="Newsletter"]'), "61");
  });

  step("Settings → Teams: a team with members", [setup], async () => {
    await owner.goto(`/orgs/${orgId}`);
    await owner.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Teams" }).click();
    await see(owner.getByRole("heading", { name: "Teams", level: 1 }));
    await owner.getByRole("button", { name: "New team" }).click();
    const dialog = owner.getByRole("dialog", { name: "New team" });
    await dialog.getByLabel("Name").fill("Support");
    await dialog.getByLabel("Description").fill("Front line");
    await dialog.getByRole("checkbox", { name: `${OPERATOR.firstName} ${OPERATOR.lastName}` }).click();
    await dialog.getByRole("checkbox", { name: `${OWNER.firstName} ${OWNER.lastName}` }).click();
    await see(dialog.getByText("2 selected"));
    await dialog.getByRole("button", { name: "Create team" }).click();
    await gone(dialog);
    await hasText(owner.locator('[data-testid="team-row"][data-name="Support"]'), "2 members");
    await accessible(owner, "teams");
    await shoot(owner, "settings-teams");
    // Edited in the same dialog: a member taken out, the team renamed; the row follows.
    await owner.getByRole("button", { name: "Actions for team Support" }).click();
    await owner.getByRole("menuitem", { name: "Edit" }).click();
    const edit = owner.getByRole("dialog", { name: "Edit team" });
    await edit.getByRole("checkbox", { name: `${OWNER.firstName} ${OWNER.lastName}` }).click();
    await see(edit.getByText("1 selected"));
    await edit.getByLabel("Name").fill("Support EU");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await gone(edit);
    await see(owner.getByText("Team “Support EU” saved."));
    await hasText(owner.locator('[data-testid="team-row"][data-name="Support EU"]'), "1 member");
  });

  step("an Operator has no Contacts entry and cannot open the page", [setup], async () => {
    await operator.goto(`/orgs/${orgId}`);
    await see(operator.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Profile & Security" }));
    // The Operator's workspace is the Inbox only (chats:read_assigned), no contacts.
    const workspace = operator.getByRole("navigation", { name: "Workspace" });
    await see(workspace.getByRole("link", { name: "Inbox" }));
    await countIs(operator.getByRole("link", { name: "Contacts" }), 0);
    await operator.goto(`/orgs/${orgId}/contacts`);
    await see(operator.getByRole("heading", { name: "You can't open this page" }));
  });

  step("a Broadcast Manager sees contacts read-only", [created], async () => {
    await broadcaster.goto(`/orgs/${orgId}`);
    await broadcaster.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Contacts" }).click();
    await see(visibleRows(broadcaster));
    await broadcaster.getByLabel("Search").fill("ana");
    await countIs(visibleRows(broadcaster), 1);
    await see(row(broadcaster, "+34600123456"));
    for (const name of ["New contact", "Import CSV", "New tag"])
      await countIs(broadcaster.getByRole("button", { name }), 0);
    await countIs(broadcaster.getByTestId("export-link"), 0);
    await countIs(broadcaster.getByTestId("bulk-bar"), 0);
    await countIs(broadcaster.locator('[data-testid="contact-row"] input[type="checkbox"]'), 0);
    await accessible(broadcaster, "contacts read-only");
    await shoot(broadcaster, "contacts-read-only");
    await row(broadcaster, "+34600123456").getByRole("button", { name: "View" }).click();
    const drawer = broadcaster.getByRole("dialog", { name: "Ana García" });
    await see(drawer);
    expect(await drawer.getByLabel("Phone number").getAttribute("readonly")).not.toBeNull();
    await countIs(drawer.getByRole("button", { name: /Save|Create/ }), 0);
    await broadcaster.keyboard.press("Escape");
    await broadcaster.getByRole("navigation", { name: "Contacts area" }).getByRole("link", { name: "Tags" }).click();
    await see(broadcaster.locator('[data-testid="tag-row"][data-name="VIP"]'));
    await countIs(broadcaster.getByRole("button", { name: "New tag" }), 0);
    await countIs(broadcaster.getByRole("button", { name: /Actions for tag/ }), 0);
  });

  step("at 390 px the Contacts table is cards and nothing scrolls sideways", [bulkTagged], async () => {
    await owner.goto(`/orgs/${orgId}/contacts?q=ana`);
    await owner.setViewportSize(PHONE);
    await see(row(owner, "+34600123456"));
    await noSidewaysScroll(owner);
    await accessible(owner, "contacts");
    await see(owner.getByRole("button", { name: "Actions for Ana García" }));
    await owner.getByRole("button", { name: "Actions for Ana García" }).click();
    await owner.getByRole("menuitem", { name: "Edit" }).click();
    const drawer = owner.getByRole("dialog", { name: "Edit contact" });
    await see(drawer);
    await noSidewaysScroll(owner);
    await accessible(owner, "contact drawer");
    await owner.keyboard.press("Escape");
    await owner.setViewportSize({ width: 1280, height: 800 });
  });

  step("Spanish: the same pages in es, desktop and phone", [bulkTagged], async () => {
    await call(suite.ctx("owner"), "PATCH", "/me", { language: "es" });
    await owner.goto(`/orgs/${orgId}/contacts`);
    await see(owner.getByRole("heading", { name: "Contactos", level: 1 }));
    await see(owner.getByRole("navigation", { name: "Espacio de trabajo" }));
    await owner.getByLabel("Etiqueta", { exact: true }).selectOption({ label: "Wholesale" });
    await countIs(visibleRows(owner), 2);
    await row(owner, "+447700900123").getByRole("checkbox").check();
    await see(owner.getByText("1 seleccionado"));
    await shoot(owner, "contacts-es");
    await owner.getByRole("button", { name: "Acciones para Carla Cruz" }).click();
    await owner.getByRole("menuitem", { name: "Editar" }).click();
    await see(owner.getByRole("dialog", { name: "Editar contacto" }));
    await shoot(owner, "contacts-drawer-es");
    await owner.keyboard.press("Escape");
    await owner.goto(`/orgs/${orgId}/contacts/lists`);
    await see(owner.getByRole("heading", { name: "Listas", level: 1 }));
    await accessible(owner, "lists (es)");
    await shoot(owner, "contacts-lists-es");
    await call(suite.ctx("owner"), "PATCH", "/me", { language: "en" });
  });
});
