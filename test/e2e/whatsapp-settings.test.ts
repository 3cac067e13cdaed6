/**
 * Issue 14, web app: Settings → WhatsApp in a real browser (Chromium via playwright-core) against the
 * real server (src/server/main.ts, temporary PGlite, the embedded fake Graph API for simulator
 * channels). People are set up over HTTP; the page is driven like a person would. Screenshots
 * (desktop and phone, en and es) go to screenshots-out/whatsapp-*.png.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { attrIs, countIs, gone, hasText, PHONE, SETUP_MS, see, shoot } from "./server.js";
import { accessible, browserSuite } from "./suite.js";

const OWNER = { firstName: "Wendy", lastName: "Owner", email: "wendy@wa.test", password: "correct horse battery 9" };
const VIEWER = { firstName: "Vic", lastName: "Viewer", email: "vic@wa.test", password: "staple paper 4242" };
const OPERATOR = { firstName: "Otto", lastName: "Operator", email: "otto@wa.test", password: "staple paper 4343" };

const suite = browserSuite("whatsapp", ["owner", "viewer", "operator"] as const);
const { call, step } = suite;
let owner: Page;
let viewer: Page;
let operator: Page;
let orgId = "";

const card = (page: Page, name: string) => page.locator(`[data-testid="channel-card"][data-name="${name}"]`);

describe("web app: Settings → WhatsApp", { concurrent: false }, () => {
  beforeAll(async () => {
    await suite.start();
    await suite.ctx("owner").grantPermissions(["clipboard-read", "clipboard-write"], { origin: suite.server.url });
    owner = suite.page("owner");
    viewer = suite.page("viewer");
    operator = suite.page("operator");
  }, SETUP_MS);

  afterAll(() => suite.stop());

  const setup = "setup over HTTP: owner, a settings:read viewer and an Operator";
  step(setup, [], async () => {
    orgId = await suite.ownerWithOrg("owner", OWNER, "WhatsApp Co");
    const o = suite.ctx("owner");
    const role = await call<{ id: string }>(o, "POST", `/orgs/${orgId}/roles`, {
      name: "Settings viewer",
      permissions: ["settings:read"],
    });
    await suite.invite("owner", orgId, VIEWER, role.id, "viewer");
    await suite.invite("owner", orgId, OPERATOR, "operator", "operator");
  });

  const connected = "the owner connects a simulator number and sees what to paste into Meta's console";
  step(connected, [setup], async () => {
    await owner.goto(`/orgs/${orgId}`);
    await owner.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "WhatsApp" }).click();
    await see(owner.getByRole("heading", { name: "WhatsApp", level: 1 }));
    await see(owner.getByTestId("channels-empty"));
    await owner.getByRole("button", { name: "Connect number" }).click();
    const dialog = owner.getByRole("dialog", { name: "Connect a WhatsApp number" });
    // Cloud API: every field is needed (checked here before the server is asked).
    await dialog.getByLabel("Name").fill("Support line");
    await dialog.getByRole("button", { name: "Connect number" }).click();
    await attrIs(dialog.getByLabel("Access token"), "aria-invalid", "true");
    await accessible(owner, "connect dialog");
    await shoot(owner, "whatsapp-connect");
    await dialog.getByLabel("Mode").selectOption("simulator");
    await countIs(dialog.getByLabel("Access token"), 0);
    await dialog.getByLabel("Display phone number").fill("+1 555 010 0000");
    await dialog.getByRole("button", { name: "Connect number" }).click();
    await gone(dialog);
    const c = card(owner, "Support line");
    await see(c);
    await hasText(c, "Simulator");
    const url = await c.getByTestId("webhook-url").inputValue();
    expect(url).toMatch(new RegExp(`^${suite.server.url}/api/v1/webhooks/whatsapp/[\\w-]{16,}$`));
    const verify = await c.getByTestId("verify-token").inputValue();
    expect(verify.length).toBeGreaterThanOrEqual(16);
    // Copy buttons put the value on the clipboard.
    await c.getByRole("button", { name: /Webhook callback URL/ }).click();
    await hasText(c.getByRole("button", { name: /Webhook callback URL/ }), "Copied");
    expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await c.getByRole("button", { name: /Verify token/ }).click();
    expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(verify);
    // The webhook URL really answers Meta's verification with this token.
    const res = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=${verify}&hub.challenge=1158201444`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1158201444");
    // Secrets are never in what the page was given.
    const listed = JSON.stringify(await call(suite.ctx("owner"), "GET", `/orgs/${orgId}/channels`));
    expect(listed).not.toMatch(/accessToken|appSecret/);
  });

  step("test connection reports the number's name and quality rating", [connected], async () => {
    const c = card(owner, "Support line");
    await c.getByRole("button", { name: "Test connection" }).click();
    await see(c.getByTestId("test-result"));
    await hasText(c.getByTestId("test-result"), "Connected:");
    await hasText(c.getByTestId("test-result"), "quality rating");
    await accessible(owner, "whatsapp settings");
    await shoot(owner, "whatsapp");
  });

  step("a server field error shows on its field and clears as it changes", [connected], async () => {
    await owner.getByRole("button", { name: "Connect number" }).click();
    const dialog = owner.getByRole("dialog", { name: "Connect a WhatsApp number" });
    await dialog.getByLabel("Name").fill("Sales");
    await dialog.getByLabel("Display phone number").fill("+1 555 010 0001");
    await dialog.getByLabel("Phone number ID").fill("12ab");
    await dialog.getByLabel("WhatsApp Business Account ID").fill("987654321");
    await dialog.getByLabel("Access token").fill("EAAGm0PX4ZCpsBAtoken");
    await dialog.getByLabel("App secret").fill("0123456789abcdef");
    await dialog.getByRole("button", { name: "Connect number" }).click();
    const idField = dialog.getByLabel("Phone number ID");
    await attrIs(idField, "aria-invalid", "true");
    await idField.fill("123456789012345");
    expect(await idField.getAttribute("aria-invalid")).toBeNull();
    await dialog.getByRole("button", { name: "Connect number" }).click();
    await gone(dialog);
    await see(card(owner, "Sales"));
    await hasText(card(owner, "Sales"), "Cloud API");
  });

  step("a settings:read member sees the numbers but no control", [connected], async () => {
    await viewer.goto(`/orgs/${orgId}`);
    await viewer.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "WhatsApp" }).click();
    const c = card(viewer, "Support line");
    await see(c);
    await see(c.getByTestId("webhook-url"));
    for (const name of ["Connect number", "Test connection", "Edit", "Disconnect"])
      await countIs(viewer.getByRole("button", { name, exact: true }), 0);
    await shoot(viewer, "whatsapp-read-only");
  });

  step("an Operator has no WhatsApp entry and cannot open the page", [setup], async () => {
    await operator.goto(`/orgs/${orgId}`);
    await see(operator.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Profile & Security" }));
    await countIs(operator.getByRole("link", { name: "WhatsApp" }), 0);
    await operator.goto(`/orgs/${orgId}/settings/whatsapp`);
    await see(operator.getByRole("heading", { name: "You can't open this page" }));
  });

  step("Spanish and phone width; the owner disconnects a number", [connected], async () => {
    await call(suite.ctx("owner"), "PATCH", "/me", { language: "es" });
    await owner.goto(`/orgs/${orgId}/settings/whatsapp`);
    await see(owner.getByRole("heading", { name: "WhatsApp", level: 1 }));
    await see(owner.getByRole("button", { name: "Conectar número" }));
    await owner.setViewportSize(PHONE);
    const width = await owner.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await accessible(owner, "whatsapp settings (es)");
    await owner.setViewportSize({ width: 1280, height: 800 });
    await shoot(owner, "whatsapp-es");
    await card(owner, "Sales").getByRole("button", { name: "Desconectar" }).click();
    const confirm = owner.getByRole("alertdialog", { name: "¿Desconectar Sales?" });
    await confirm.getByRole("button", { name: "Desconectar" }).click();
    await gone(confirm);
    await countIs(card(owner, "Sales"), 0);
    await see(card(owner, "Support line"));
    await call(suite.ctx("owner"), "PATCH", "/me", { language: "en" });
  });
});
