/**
 * Issue 18: what a new user meets, in Chromium at phone (390×844) and desktop (1280×800) width,
 * against the real server seeded with the demo organization. Each check would have caught its finding:
 *  1. no page scrolls sideways, and nothing sticks out of the viewport, with long names and emails;
 *  2. a page whose code cannot load shows Retry (and Back recovers); a deploy's stale chunk reloads once;
 *  3. a custom role (members:invite/update/remove, no roles:read) is offered only what the server allows.
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { APIRequestContext, Browser, BrowserContext, Page, Response } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { a11yProblems } from "./a11y.js";
import {
  countIs,
  DESKTOP,
  ensureWebBuilt,
  gone,
  launchBrowser,
  newContext,
  PHONE,
  type RunningServer,
  SHOTS,
  see,
  shoot,
  startServer,
  until,
} from "./server.js";

const DEMO_PASSWORD = "acme-support-demo";
const DEMO = (key: string) => `${key}@demo.chorus.localhost`;
const STAMP = Date.now().toString(36);
const LONG_ORG = "Acme Support International Customer Operations (Worldwide)";
const LONG_EMAIL = `maximiliana.featherstonehaugh.${STAMP}.6r4ur@customer-operations.example.test`;
const LONG_PENDING = `owner.1796031839458.${STAMP}.pending-invitation@example.test`;
const LEAD_EMAIL = `lee.lead.${STAMP}@example.test`;
const LEAD_ROLE = "Team Lead";
const PASSWORD = "staple paper clip 42";

let server: RunningServer;
let browser: Browser;
let ownerCtx: BrowserContext;
let leadCtx: BrowserContext;
let orgId = "";
let pendingToken = "";
let leadMemberId = "";

/** JSON API calls from a browser context: they share its cookies (the session). */
async function call(req: APIRequestContext, method: string, url: string, data?: unknown) {
  const res = await req.fetch(`${server.url}/api/v1${url}`, {
    method,
    headers: { origin: server.url, ...(data === undefined ? {} : { "content-type": "application/json" }) },
    ...(data === undefined ? {} : { data: JSON.stringify(data) }),
  });
  const body = res.status() === 204 ? null : await res.json().catch(() => null);
  if (!res.ok()) throw new Error(`${method} ${url} → ${res.status()} ${JSON.stringify(body)}`);
  return body;
}

/** The token of the newest invitation emailed to `email` (development mailbox). */
async function invitationToken(req: APIRequestContext, email: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const { items } = await call(req, "GET", `/dev/mailbox?to=${encodeURIComponent(email)}`);
    const text = JSON.stringify(items);
    const m = /\/invite\/([\w-]+)/.exec(text);
    if (m?.[1]) return m[1];
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no invitation email for ${email}`);
}

async function inviteAndJoin(
  inviter: APIRequestContext,
  ctx: BrowserContext,
  who: { email: string; firstName: string; lastName: string; roleIds: string[] },
) {
  await call(inviter, "POST", `/orgs/${orgId}/invitations`, who);
  const token = await invitationToken(inviter, who.email);
  const joined = await call(ctx.request, "POST", "/invitations/accept", { token, password: PASSWORD });
  return joined.memberId as string;
}

/**
 * Everything that sticks out of the viewport sideways and is not inside something that scrolls
 * sideways on purpose (a tab strip), plus the page's own horizontal scroll. Empty when none.
 */
async function horizontalOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const out: string[] = [];
    if (document.documentElement.scrollWidth > vw + 1)
      out.push(`the page is ${document.documentElement.scrollWidth}px wide at ${vw}px`);
    const scrollsSideways = (el: Element | null): boolean => {
      for (let e = el?.parentElement; e && e !== document.body; e = e.parentElement) {
        const ox = getComputedStyle(e).overflowX;
        if ((ox === "auto" || ox === "scroll") && e.scrollWidth > e.clientWidth) return !e.hasAttribute("data-table");
      }
      return false;
    };
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden" || style.position === "fixed") continue;
      if (style.clip === "rect(0px, 0px, 0px, 0px)" || style.clipPath === "inset(50%)") continue; // sr-only
      if ((r.right > vw + 1 || r.left < -1) && !scrollsSideways(el)) {
        const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${String(el.className).split(" ").slice(0, 3).join(".")}`;
        out.push(
          `${name} "${(el.textContent ?? "").trim().slice(0, 40)}" spans ${Math.round(r.left)}–${Math.round(r.right)}`,
        );
      }
    }
    // A table that needs sideways scrolling on a phone is not a table of cards.
    if (vw < 640)
      for (const t of document.querySelectorAll("[data-table]"))
        if (t.scrollWidth > t.clientWidth + 1)
          out.push(`a table scrolls sideways (${t.scrollWidth}px in ${t.clientWidth}px)`);
    return out.slice(0, 10);
  });
}

async function expectNoOverflow(page: Page, where: string) {
  await page.waitForTimeout(100); // layout settles after data arrives (a picture of the layout, not a wait for data)
  const found = await horizontalOverflow(page);
  if (found.length) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `FAILED-overflow-${where.replace(/\W+/g, "-")}.png`) });
  }
  expect(found, `${where} at ${page.viewportSize()?.width}px`).toEqual([]);
}

/** axe-core finds no serious or critical violation on the page as it stands (a11y.ts). */
async function expectAccessible(page: Page, where: string) {
  const found = await a11yProblems(page);
  if (found.length) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `FAILED-a11y-${where.replace(/\W+/g, "-")}.png`) });
  }
  expect(found, `${where} at ${page.viewportSize()?.width}px`).toEqual([]);
}

/** Both checks, on what the page shows now. */
async function expectGood(page: Page, where: string) {
  await expectNoOverflow(page, where);
  await expectAccessible(page, where);
}

describe("web app: a new user's walkthrough (issue 18)", { concurrent: false }, () => {
  beforeAll(async () => {
    ensureWebBuilt();
    server = await startServer({ seedDemo: true });
    browser = await launchBrowser();
    ownerCtx = await newContext(browser, server.url);
    leadCtx = await newContext(browser, server.url);
    const owner = ownerCtx.request;
    await call(owner, "POST", "/auth/login", { email: DEMO("owner"), password: DEMO_PASSWORD });
    const orgs = await call(owner, "GET", "/orgs");
    orgId = orgs.items[0].id;
    // Long names and emails everywhere a page shows them.
    await call(owner, "PATCH", `/orgs/${orgId}`, { name: LONG_ORG });
    await call(owner, "PATCH", "/me", { firstName: "Olivia-Alexandrina", lastName: "Owner-Featherstonehaugh" });
    const longCtx = await newContext(browser, server.url);
    await inviteAndJoin(owner, longCtx, {
      email: LONG_EMAIL,
      firstName: "Maximiliana",
      lastName: "Featherstonehaugh-Cholmondeley",
      roleIds: ["operator"],
    });
    await longCtx.close();
    await call(owner, "POST", `/orgs/${orgId}/invitations`, {
      email: LONG_PENDING,
      firstName: "Bartholomew",
      lastName: "Longinvitationname",
      roleIds: ["contact_manager"],
    });
    pendingToken = await invitationToken(owner, LONG_PENDING);
    // A custom role that manages members but cannot read roles.
    const role = await call(owner, "POST", `/orgs/${orgId}/roles`, {
      name: LEAD_ROLE,
      description: "Runs the shift",
      permissions: [
        "members:read",
        "members:invite",
        "members:update",
        "members:remove",
        "chats:read_assigned",
        "chats:reply",
      ],
    });
    leadMemberId = await inviteAndJoin(owner, leadCtx, {
      email: LEAD_EMAIL,
      firstName: "Lee",
      lastName: "Lead",
      roleIds: [role.id],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("the accessibility check finds the faults issue 18 reported (it can fail)", async () => {
    const page = await ownerCtx.newPage();
    await page.setContent(`<html lang="en"><body>
      <p>Language picker outside every landmark</p>
      <main>
        <button style="background:oklch(59.6% 0.145 163.225);color:#fff">Invite Member</button>
        <button aria-label="Switch organization">Acme Support</button>
        <dl><div><dt>Email</dt><dd>a@b.test</dd></div><p>Expires tomorrow</p></dl>
        <input type="text">
      </main></body></html>`);
    const found = (await a11yProblems(page)).join("\n");
    expect(found).toMatch(/^color-contrast \(serious\): .*button/m); // emerald-600 under white
    expect(found).toMatch(/^region \(moderate\): .*p/m);
    expect(found).toMatch(/^label-content-name-mismatch \(serious\): .*button\[aria-label="Switch organization"\]/m);
    expect(found).toMatch(/^definition-list \(serious\): .*dl/m);
    expect(found).toMatch(/^label \(critical\): .*input/m);
    await page.close();
  });

  it("no page scrolls sideways at 390×844 or 1280×800 with long names and emails, and none has the accessibility faults found (High 1, Medium 10)", async () => {
    const page = await ownerCtx.newPage();
    for (const size of [PHONE, DESKTOP]) {
      await page.setViewportSize(size);
      const visit = async (url: string, heading: string | RegExp, where: string) => {
        await page.goto(url);
        await see(page.getByRole("heading", { name: heading, level: 1 }));
        await expectGood(page, where);
      };
      await visit(`/orgs/${orgId}`, LONG_ORG, "overview");
      await visit(`/orgs/${orgId}/settings/team`, "Team Management", "team");
      await see(page.locator(`[data-testid="member-row"][data-email="${LONG_EMAIL}"]`));
      await see(page.locator(`[data-testid="invitation-row"][data-email="${LONG_PENDING}"]`));
      await expectGood(page, "team with rows");
      if (size === PHONE) await shoot(page, "team-management");
      // The Invite Member dialog is entirely on screen, its Send button included.
      await page.getByRole("button", { name: "Invite Member" }).click();
      const dialog = page.getByRole("dialog", { name: "Invite Member" });
      await see(dialog);
      // Focus starts on the first field (Medium 6).
      await until("the first field has focus", async () =>
        page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name === "firstName"),
      );
      const box = await dialog.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.y).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(size.width);
      expect(box!.y + box!.height).toBeLessThanOrEqual(size.height);
      const send = dialog.getByRole("button", { name: "Send invitation" });
      await send.scrollIntoViewIfNeeded();
      const sendBox = await send.boundingBox();
      expect(sendBox!.x + sendBox!.width).toBeLessThanOrEqual(size.width);
      expect(sendBox!.y + sendBox!.height).toBeLessThanOrEqual(size.height);
      await expectAccessible(page, "invite member dialog");
      if (size === PHONE) await shoot(page, "invite-member-dialog");
      await page.keyboard.press("Escape");
      await gone(dialog);
      // …and goes back to the button that opened the dialog.
      await until("Invite Member has focus again", async () =>
        page.evaluate(() => document.activeElement?.textContent === "Invite Member"),
      );
      await visit(`/orgs/${orgId}/settings/roles`, "Roles", "roles");
      await visit(`/orgs/${orgId}/settings/activity`, "Activity", "activity log");
      await see(page.getByTestId("activity-row").first());
      await expectGood(page, "activity log with rows");
      await page.getByRole("tab", { name: "Login activity" }).click();
      await see(page.getByRole("table", { name: "Login activity" }));
      await expectGood(page, "login activity");
      await page.getByRole("tab", { name: "Access review" }).click();
      await see(page.getByTestId("review-row").first());
      await expectGood(page, "access review");
      if (size === PHONE) await shoot(page, "access-review");
      await visit(`/orgs/${orgId}/settings/organization`, "Organization", "organization");
      for (const tab of ["profile", "security", "sessions", "logins"]) {
        await visit(`/profile?tab=${tab}`, "Profile & Security", `profile ${tab}`);
      }
      await visit("/orgs/new", "Create an organization", "create organization");
      await visit("/no/such/page", "Page not found", "not found");
    }
    // Signed out: sign-in, sign-up, and the invitation landing page for the long address.
    const guest = await newContext(browser, server.url);
    const landing = await guest.newPage();
    for (const size of [PHONE, DESKTOP]) {
      await landing.setViewportSize(size);
      await landing.goto("/signin");
      await see(landing.getByRole("heading", { name: "Sign in to Chorus" }));
      await expectGood(landing, "sign in");
      await landing.getByRole("button", { name: "Sign in" }).click(); // with its field errors shown
      await see(landing.getByText("Enter a valid email address."));
      await expectGood(landing, "sign in with errors");
      // The first invalid field has focus; an error goes as soon as its field changes (Medium 4).
      expect(await landing.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)).toBe("email");
      await landing.getByLabel("Email").fill("someone@example.test");
      await gone(landing.getByText("Enter a valid email address."));
      await landing.goto("/signup");
      await see(landing.getByRole("heading", { level: 1 }));
      await expectGood(landing, "sign up");
      await landing.goto(`/invite/${pendingToken}`);
      await see(landing.getByRole("heading", { name: "You are invited" }));
      await expectGood(landing, "invitation landing");
    }
    // Spanish: the server's error by its code, in Spanish (Medium 5).
    await landing.goto("/signin");
    await landing.getByRole("button", { name: "Español" }).click();
    await see(landing.getByRole("heading", { name: "Inicia sesión en Chorus" }));
    await landing.getByLabel("Correo electrónico").fill(DEMO("operator"));
    await landing.getByLabel("Contraseña", { exact: true }).fill("not the password 1");
    await landing.getByRole("button", { name: "Iniciar sesión" }).click();
    await see(landing.getByText("El correo electrónico o la contraseña no son correctos."));
    await countIs(landing.getByText("The email or password is incorrect."), 0);
    await guest.close();
    await page.close();
  });

  it("a first visit asks for the membership and the page's code alongside the session, not after it (Medium 9)", async () => {
    const page = await ownerCtx.newPage();
    const started = new Map<string, number>();
    const finished = new Map<string, number>();
    const key = (url: string) => {
      const u = new URL(url);
      if (u.pathname === "/api/v1/auth/session") return "me";
      if (u.pathname === `/api/v1/orgs/${orgId}/me`) return "orgMe";
      if (/\/assets\/TeamPage-[\w-]+\.js$/.test(u.pathname)) return "teamCode";
      if (u.pathname === `/api/v1/orgs/${orgId}/members`) return "members";
      return null;
    };
    page.on("request", (r) => {
      const k = key(r.url());
      if (k && !started.has(k)) started.set(k, Date.now());
    });
    page.on("requestfinished", (r) => {
      const k = key(r.url());
      if (k && !finished.has(k)) finished.set(k, Date.now());
    });
    await page.goto(`/orgs/${orgId}/settings/team`);
    await see(page.getByRole("heading", { name: "Team Management", level: 1 }));
    await see(page.getByTestId("member-row").first());
    for (const k of ["me", "orgMe", "teamCode", "members"]) expect(started.has(k), k).toBe(true);
    // Both left before the session's answer came back.
    expect(started.get("orgMe")!).toBeLessThanOrEqual(finished.get("me")!);
    expect(started.get("teamCode")!).toBeLessThanOrEqual(finished.get("me")!);
    // Filters are kept in the address: a reload shows the same list (Low).
    await page.getByLabel("Search").fill("oscar");
    await page.waitForURL(/[?&]q=oscar/);
    await page.getByLabel("Role", { exact: true }).selectOption("operator");
    await page.waitForURL(/[?&]role=operator/);
    await page.reload();
    await see(page.locator(`[data-testid="member-row"][data-email="${DEMO("operator")}"]`));
    expect(await page.getByLabel("Search").inputValue()).toBe("oscar");
    await countIs(page.getByTestId("member-row"), 1);
    await page.close();
  });

  it("a page whose code cannot load shows Retry, Back recovers, Retry loads it (High 2)", async () => {
    const page = await ownerCtx.newPage();
    if (process.env.E2E_DEBUG) {
      page.on("console", (m) => console.log(`[console] ${m.type()}: ${m.text()}`));
      page.on("requestfailed", (r) => console.log(`[failed] ${r.url()}`));
    }
    const chunk = /\/assets\/RolesPage-[\w-]+\.js$/;
    // As with the server stopped: the page's code cannot be fetched (the idle preload fails too).
    await page.route(chunk, (route) => route.abort("internetdisconnected"));
    await page.goto(`/orgs/${orgId}`);
    await see(page.getByRole("heading", { name: LONG_ORG, level: 1 }));
    await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Roles" }).click();
    const failure = page.getByTestId("page-error");
    await see(failure.getByRole("heading", { name: "This page could not be loaded" }));
    await expectAccessible(page, "page load failed");
    // The shell stays: the navigation is still there, and Back recovers.
    await see(page.getByRole("navigation", { name: "Settings" }));
    await shoot(page, "page-load-failed");
    await page.goBack();
    await see(page.getByRole("heading", { name: LONG_ORG, level: 1 }));
    await countIs(failure, 0);
    // Still unreachable: the message again, not a white screen; then the server answers and Retry loads it.
    await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Roles" }).click();
    await see(failure);
    await page.unroute(chunk);
    await failure.getByRole("button", { name: "Try again" }).click();
    await see(page.getByRole("heading", { name: "Roles", level: 1 }));
    await page.close();
  });

  it("after a deploy, a stale chunk reloads the tab once into the new version (High 2)", async () => {
    const page = await ownerCtx.newPage();
    const chunk = /\/assets\/ActivityPage-[\w-]+\.js$/;
    await page.route(chunk, (route) => route.fulfill({ status: 404, body: "gone" }));
    // The server now serves another build: its index.html names another entry script.
    await page.route(
      (url) => url.pathname === "/",
      async (route) => {
        if (route.request().resourceType() !== "fetch") return route.continue();
        const res = await route.fetch();
        const html = (await res.text()).replace(/src="\/assets\/index-[\w-]+\.js"/, 'src="/assets/index-NEWBUILD.js"');
        return route.fulfill({ response: res, body: html });
      },
    );
    // Loads of the document itself (the first visit, then any reload).
    let loads = 0;
    page.on("request", (r) => {
      if (r.isNavigationRequest() && r.frame() === page.mainFrame()) loads++;
    });
    await page.goto(`/orgs/${orgId}`);
    await see(page.getByRole("heading", { name: LONG_ORG, level: 1 }));
    const before = loads;
    await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Activity" }).click();
    // Reloaded once (the chunk is still missing after it: no second reload, the Retry screen instead).
    await see(page.getByTestId("page-error"));
    await page.waitForTimeout(1000); // a second reload, if any, would have started by now
    expect(loads - before).toBe(1);
    await see(page.getByTestId("page-error"));
    await page.close();
  });

  it("a custom role without roles:read is offered only actions the server allows (High 3)", async () => {
    const page = await leadCtx.newPage();
    const refused: string[] = [];
    page.on("response", (r: Response) => {
      if (r.url().includes("/api/") && r.status() === 403) refused.push(`${r.request().method()} ${r.url()}`);
    });
    for (const size of [PHONE, DESKTOP]) {
      await page.setViewportSize(size);
      await page.goto(`/orgs/${orgId}/settings/team`);
      await see(page.getByRole("heading", { name: "Team Management", level: 1 }));
      const row = (email: string) => page.locator(`[data-testid="member-row"][data-email="${email}"]`);
      await see(row(DEMO("administrator")));
      // Nothing to offer on the owner, an Administrator, or a Chat Manager (they hold permissions the lead lacks).
      for (const email of [DEMO("owner"), DEMO("administrator"), DEMO("chat_manager")])
        await countIs(row(email).getByRole("button", { name: /^Actions for/ }), 0);
      // Roles by their labels, the lead's own custom role included; never a raw id.
      await see(row(LEAD_EMAIL).getByText(LEAD_ROLE));
      expect(await page.locator('[data-testid="member-roles"]').allTextContents()).not.toContainEqual(
        expect.stringMatching(/role_/),
      );
      await expectNoOverflow(page, "team as the lead");
    }
    // An Operator is within the lead's permissions: Edit works, a name-only edit included.
    await page.getByRole("button", { name: "Actions for Oscar Operator" }).click();
    await page.getByRole("menuitem", { name: "Edit" }).click();
    const drawer = page.getByRole("dialog", { name: "Edit member" });
    await drawer.getByLabel("Last name").fill("Operations");
    const saved = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/members/"));
    await drawer.getByRole("button", { name: "Save changes" }).click();
    const res = await saved;
    expect(res.status()).toBe(200);
    expect(JSON.parse(res.request().postData() ?? "{}")).not.toHaveProperty("roleIds");
    await gone(drawer);
    await see(
      page.locator(`[data-testid="member-row"][data-email="${DEMO("operator")}"]`).getByText("Oscar Operations"),
    );
    // Their own row: Edit (the name; roles shown, not changeable), no Remove.
    await page.getByRole("button", { name: "Actions for Lee Lead" }).click();
    await countIs(page.getByRole("menuitem", { name: "Remove" }), 0);
    await page.getByRole("menuitem", { name: "Edit" }).click();
    await see(drawer);
    expect(await drawer.getByRole("checkbox", { name: LEAD_ROLE, exact: true }).isDisabled()).toBe(true);
    await page.keyboard.press("Escape");
    await gone(drawer);
    // Inviting offers only roles the lead may grant.
    await page.getByRole("button", { name: "Invite Member" }).click();
    const dialog = page.getByRole("dialog", { name: "Invite Member" });
    await see(dialog.getByRole("checkbox", { name: "Operator", exact: true }));
    await countIs(dialog.getByRole("checkbox", { name: "Administrator", exact: true }), 0);
    await page.keyboard.press("Escape");
    // Remove the Operator: offered, and it works.
    await page.getByRole("button", { name: "Actions for Oscar Operations" }).click();
    await page.getByRole("menuitem", { name: "Remove" }).click();
    const confirm = page.getByRole("alertdialog");
    await confirm.getByRole("button", { name: "Remove member" }).click();
    await gone(confirm);
    await countIs(page.locator(`[data-testid="member-row"][data-email="${DEMO("operator")}"]`), 0);
    // The lead's pages asked nothing the server refused (no roles list without roles:read).
    expect(refused).toEqual([]);
    // Removed by the owner, the lead is told which organization they lost and why (Medium 8).
    await call(ownerCtx.request, "DELETE", `/orgs/${orgId}/members/${leadMemberId}`);
    await page.goto("/");
    await page.waitForURL("**/orgs/new");
    await see(page.getByTestId("lost-access").getByText(LONG_ORG, { exact: false }));
    await page.close();
  });
  it("signed-out pages make no request that fails and log no console error (Low)", async () => {
    const ctx = await newContext(browser, server.url);
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    for (const size of [PHONE, DESKTOP]) {
      await page.setViewportSize(size);
      for (const [url, heading] of [
        ["/signin", "Sign in to Chorus"],
        ["/signup", /account/i],
        ["/forgot-password", /password/i],
        [`/invite/${pendingToken}`, "You are invited"],
        // An organization's address while signed out leads to sign-in without a 401 on the way.
        [`/orgs/${orgId}/settings/team`, "Sign in to Chorus"],
      ] as const) {
        await page.goto(url);
        await see(page.getByRole("heading", { name: heading, level: 1 }));
        await expectGood(page, `signed out ${url.split("/")[1]}`);
      }
    }
    expect(problems).toEqual([]);
    await ctx.close();
  });

  it("bulk role change and removal, inline role change, 2FA filter, CSV export, who holds a role, team stats: en + es, phone + desktop (Low, peers)", async () => {
    const owner = ownerCtx.request;
    const page = await ownerCtx.newPage();
    const roleIdsOf = async (email: string): Promise<string[]> => {
      const { items } = await call(owner, "GET", `/orgs/${orgId}/members?q=${encodeURIComponent(email)}`);
      return items[0].roleIds;
    };
    const row = (email: string) => page.locator(`[data-testid="member-row"][data-email="${email}"]`);

    // Overview: the team at a glance, and one's roles with what they are for.
    await page.goto(`/orgs/${orgId}`);
    const stats = page.getByTestId("team-stats");
    const { memberCount } = await call(owner, "GET", `/orgs/${orgId}`);
    await see(stats.locator('[data-stat="members"]').getByRole("link", { name: String(memberCount) }));
    await see(page.getByRole("link", { name: "All roles and what they allow" }));

    // 2FA filter: the list shows exactly the members the server counts, and the address keeps it.
    await page.goto(`/orgs/${orgId}/settings/team`);
    await see(row(LONG_EMAIL));
    await page.getByLabel("2FA", { exact: true }).selectOption("off");
    await page.waitForURL(/[?&]twoFactor=off/);
    const off = (await call(owner, "GET", `/orgs/${orgId}/members?twoFactor=off&limit=100`)).items.length;
    await countIs(page.getByTestId("member-row"), off);
    await page.getByLabel("2FA", { exact: true }).selectOption("");
    await see(row(LONG_EMAIL));

    // Export: a CSV download of the list, formula-safe, recorded (the server's test checks the cells).
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Export CSV" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8");
    expect(csv.split("\r\n")[0]).toBe("name,email,roles,owner,two_factor,joined_at,last_active_at");
    expect(csv).toContain(LONG_EMAIL);

    // Inline: a member with one role gets another from the row.
    const longName = "Maximiliana Featherstonehaugh-Cholmondeley";
    const patched = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/members/"));
    await row(LONG_EMAIL)
      .getByRole("combobox", { name: `Role of ${longName}` })
      .selectOption("contact_manager");
    expect((await patched).status()).toBe(200);
    expect(await roleIdsOf(LONG_EMAIL)).toEqual(["contact_manager"]);

    // Bulk: two members at once get a role, then are removed; only members one may act on can be picked.
    await page.setViewportSize(PHONE);
    expect(await row(DEMO("owner")).getByTestId("member-select").isDisabled()).toBe(true);
    await row(LONG_EMAIL)
      .getByRole("checkbox", { name: `Select ${longName}` })
      .check();
    await row(DEMO("broadcast_manager")).getByRole("checkbox", { name: "Select Bruno Broadcasts" }).check();
    const bar = page.getByTestId("bulk-bar");
    await see(bar.getByText("2 selected"));
    await expectGood(page, "team with a selection");
    await bar.getByLabel("New role for the selected members").selectOption("operator");
    await bar.getByRole("button", { name: "Change role of 2" }).click();
    await see(page.getByText("2 members are now Operator."));
    await until(
      "both are Operators",
      async () =>
        (await roleIdsOf(LONG_EMAIL)).join() === "operator" &&
        (await roleIdsOf(DEMO("broadcast_manager"))).join() === "operator",
    );
    await row(LONG_EMAIL)
      .getByRole("checkbox", { name: `Select ${longName}` })
      .check();
    await row(DEMO("broadcast_manager")).getByRole("checkbox", { name: "Select Bruno Broadcasts" }).check();
    await bar.getByRole("button", { name: "Remove 2" }).click();
    const confirm = page.getByRole("alertdialog", { name: "Remove 2 members?" });
    await see(confirm.getByText(longName, { exact: false }));
    await expectGood(page, "bulk remove confirmation");
    await confirm.getByRole("button", { name: "Remove 2" }).click();
    await gone(confirm);
    await countIs(row(LONG_EMAIL), 0);
    await countIs(row(DEMO("broadcast_manager")), 0);
    await page.setViewportSize(DESKTOP);

    // Who holds a role: the names, not only a count.
    await page.goto(`/orgs/${orgId}/settings/roles`);
    const admin = page.locator('[data-testid="role-row"][data-role="Administrator"]');
    await admin.getByTestId("role-holders-toggle").click();
    await see(admin.getByRole("list", { name: "Members with Administrator" }).getByText("Ada Admin"));
    await expectGood(page, "roles with holders");

    // Spanish, at phone width: the same pages, translated, still fitting and accessible.
    await call(owner, "PATCH", "/me", { language: "es" });
    try {
      await page.setViewportSize(PHONE);
      await page.goto(`/orgs/${orgId}/settings/team`);
      await see(page.getByRole("heading", { name: "Gestión del equipo", level: 1 }));
      await see(page.getByTestId("bulk-bar").getByText("Seleccionar todos"));
      await see(page.getByRole("link", { name: "Exportar CSV" }));
      await expectGood(page, "team es");
      await page.goto(`/orgs/${orgId}`);
      await see(page.getByTestId("team-stats").getByText("Sin 2FA"));
      await expectGood(page, "overview es");
      await page.goto(`/orgs/${orgId}/settings/roles`);
      const adminEs = page.locator('[data-testid="role-row"][data-role="Administrator"]');
      await adminEs.getByTestId("role-holders-toggle").click();
      await see(adminEs.getByText("Ada Admin"));
      await expectGood(page, "roles es");
    } finally {
      await call(owner, "PATCH", "/me", { language: "en" });
    }
    await page.close();
  });
});
