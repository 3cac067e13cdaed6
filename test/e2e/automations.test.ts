/**
 * Issue 17, web app: Automations and Settings → Business hours & workspace in a real browser
 * (Chromium via playwright-core) against the real server (src/server/main.ts with its job workers,
 * temporary PGlite, the embedded fake Graph API). A customer writes a keyword from /dev/phone and
 * gets the automatic reply there; the conversation lands in the automation's team.
 */
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { countIs, gone, hasText, PHONE, SETUP_MS, see, shoot, until } from "./server.js";
import { accessible, browserSuite, noSidewaysScroll } from "./suite.js";

const OWNER = { firstName: "Aria", lastName: "Owner", email: "aria@auto.test", password: "correct horse battery 7" };
const OPERATOR = { firstName: "Olaf", lastName: "Operator", email: "olaf@auto.test", password: "staple paper 4545" };

const suite = browserSuite("automations", ["owner", "operator", "customer"] as const);
const { call, step } = suite;
let ownerCtx: BrowserContext;
let owner: Page;
let operator: Page;
let phone: Page;
let orgId = "";
let channelId = "";
let teamId = "";
const CUSTOMER = "15550107788";

/** At phone width, nothing scrolls sideways. */
async function noSideScroll(page: Page): Promise<void> {
  await page.setViewportSize(PHONE);
  await noSidewaysScroll(page);
}

describe("web app: Automations and business hours", { concurrent: false }, () => {
  beforeAll(async () => {
    await suite.start();
    ownerCtx = suite.ctx("owner");
    owner = suite.page("owner");
    operator = suite.page("operator");
    phone = suite.page("customer");
  }, SETUP_MS);

  afterAll(() => suite.stop());

  const setup = "setup over HTTP: owner, a simulator number, a Sales team, an Operator";
  step(setup, [], async () => {
    orgId = await suite.ownerWithOrg("owner", OWNER, "Auto Co");
    channelId = (
      await call<{ id: string }>(ownerCtx, "POST", `/orgs/${orgId}/channels`, {
        name: "Support line",
        mode: "simulator",
        displayPhoneNumber: "+1 555 010 0000",
      })
    ).id;
    teamId = (await call<{ id: string }>(ownerCtx, "POST", `/orgs/${orgId}/teams`, { name: "Sales", memberIds: [] }))
      .id;
    await suite.invite("owner", orgId, OPERATOR, "operator", "operator");
  });

  const created = "the owner builds a keyword automation: reply, then assign to Sales";
  step(created, [setup], async () => {
    await owner.goto(`/orgs/${orgId}`);
    await owner.getByRole("navigation", { name: "Workspace" }).getByRole("link", { name: "Automations" }).click();
    await see(owner.getByRole("heading", { name: "Automations", level: 1 }));
    await owner.getByRole("button", { name: "New automation" }).click();
    const dialog = owner.getByRole("dialog", { name: "New automation" });
    // Validation with the shared schema before the server is asked: the reply text is required.
    await dialog.getByRole("button", { name: "Create automation" }).click();
    await see(dialog.locator("[aria-invalid=true]"));
    await dialog.getByLabel("Name").fill("Prices");
    await dialog.getByLabel("Keywords").fill("price\nprecio");
    await dialog.getByLabel("Text").fill("Our prices are at example.com/prices");
    await dialog.getByRole("button", { name: "Add action" }).click();
    await dialog.getByLabel("Action 2").selectOption("assign_team");
    await dialog.getByLabel("Team").selectOption({ label: "Sales" });
    await accessible(owner, "automation editor");
    await shoot(owner, "automations-editor");
    await dialog.getByRole("button", { name: "Create automation" }).click();
    await gone(dialog);
    const row = owner.locator('[data-testid="automation-row"][data-name="Prices"]').first();
    await see(row);
    await see(row.getByRole("switch", { name: "Prices on" }));
  });

  const replied = "a keyword message from /dev/phone gets the automatic reply and lands in the Sales team";
  step(replied, [created], async () => {
    await phone.goto(`/dev/phone?channel=${channelId}&from=${CUSTOMER}`);
    await phone.locator('input[name="text"]').fill("Hola, ¿qué PRÉCIO tiene?");
    await phone.getByRole("button", { name: "Send" }).click();
    await until(
      "the automatic reply shows on the phone",
      async () => {
        await phone.goto(`/dev/phone?channel=${channelId}&from=${CUSTOMER}`);
        return ((await phone.locator("#thread").textContent()) ?? "").includes("Our prices are at example.com/prices");
      },
      30_000,
    );
    const list = await call<{ items: { contact: { phone: string }; team: { id: string; name: string } | null }[] }>(
      ownerCtx,
      "GET",
      `/orgs/${orgId}/conversations?view=all`,
    );
    const c = list.items.find((x) => x.contact.phone === `+${CUSTOMER}`);
    expect(c?.team).toEqual({ id: teamId, name: "Sales" });
    // The runs log shows the run with each action's result.
    await owner.reload();
    const row = owner.locator('[data-testid="automation-row"][data-name="Prices"]').first();
    await row.getByRole("button", { name: /Runs log Prices/ }).click();
    const runs = owner.getByRole("dialog", { name: "Runs of Prices" });
    await see(runs.getByTestId("automation-runs"));
    await hasText(runs.getByTestId("automation-runs"), "Reply with text");
    await hasText(runs.getByTestId("automation-runs"), "Assign to a team");
    await accessible(owner, "runs log");
    await owner.keyboard.press("Escape");
    await gone(runs);
    // Switched off from the list.
    await row.getByRole("switch", { name: "Prices on" }).click();
    await until(
      "the switch is off",
      async () => (await row.getByRole("switch").getAttribute("aria-checked")) === "false",
    );
    await accessible(owner, "automations list");
    await shoot(owner, "automations");
  });

  const hours = "Settings → Business hours & workspace: several ranges a day, a holiday, saved through PATCH /settings";
  step(hours, [setup], async () => {
    await owner.goto(`/orgs/${orgId}`);
    await owner
      .getByRole("navigation", { name: "Settings" })
      .getByRole("link", { name: "Business hours & workspace" })
      .click();
    await see(owner.getByRole("heading", { name: "Business hours & workspace", level: 1 }));
    await owner.getByLabel("Timezone").selectOption("Europe/Madrid");
    await owner.getByRole("checkbox", { name: "Use business hours" }).click();
    await owner.getByRole("button", { name: "Add range on Monday" }).click();
    await owner.getByLabel("Monday range 2 from").fill("15:00");
    await owner.getByLabel("Monday range 2 to").fill("19:00");
    await owner.getByLabel("Holiday date").fill("2026-12-25");
    await owner.getByRole("button", { name: "Add holiday" }).click();
    await owner.getByRole("checkbox", { name: "Operators see unassigned conversations" }).click();
    await owner.getByLabel("Mode").selectOption("round_robin");
    await accessible(owner, "business hours");
    await owner.getByRole("button", { name: "Save" }).click();
    await until("the settings are saved", async () => {
      const s = await call<{ timezone: string; businessHours: { enabled: boolean; holidays: string[] } }>(
        ownerCtx,
        "GET",
        `/orgs/${orgId}/settings`,
      );
      return (
        s.timezone === "Europe/Madrid" && s.businessHours.enabled && s.businessHours.holidays.includes("2026-12-25")
      );
    });
    const s = await call<{
      businessHours: { week: { mon: { from: string; to: string }[] } };
      operatorsSeeUnassigned: boolean;
      assignment: { mode: string };
    }>(ownerCtx, "GET", `/orgs/${orgId}/settings`);
    expect(s.businessHours.week.mon).toEqual([
      { from: "09:00", to: "17:00" },
      { from: "15:00", to: "19:00" },
    ]);
    expect(s.operatorsSeeUnassigned).toBe(true);
    expect(s.assignment.mode).toBe("round_robin");
    await shoot(owner, "business-hours");
  });

  step("an Operator has neither entry and cannot open the pages", [setup], async () => {
    await operator.goto(`/orgs/${orgId}`);
    await see(operator.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Profile & Security" }));
    await countIs(operator.getByRole("link", { name: "Automations" }), 0);
    await countIs(operator.getByRole("link", { name: "Business hours & workspace" }), 0);
    await operator.goto(`/orgs/${orgId}/automations`);
    await see(operator.getByRole("heading", { name: "You can't open this page" }));
  });

  step("Spanish and phone width: both pages, axe clean, no sideways scroll", [replied, hours], async () => {
    await call(ownerCtx, "PATCH", "/me", { language: "es" });
    await owner.goto(`/orgs/${orgId}/automations`);
    await see(owner.getByRole("heading", { name: "Automatizaciones", level: 1 }));
    await see(owner.getByRole("button", { name: "Nueva automatización" }));
    await noSideScroll(owner);
    await accessible(owner, "automations (es)");
    await owner.goto(`/orgs/${orgId}/settings/workspace`);
    await see(owner.getByRole("heading", { name: "Horario y espacio de trabajo", level: 1 }));
    await noSideScroll(owner);
    await accessible(owner, "business hours (es)");
    await owner.setViewportSize({ width: 1280, height: 800 });
    await call(ownerCtx, "PATCH", "/me", { language: "en" });
  });
});
