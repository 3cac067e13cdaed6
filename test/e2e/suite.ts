import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expect, it, type TestContext } from "vitest";
import { a11yProblems } from "./a11y.js";
import { e2eApi } from "./api.js";
import { ensureWebBuilt, launchBrowser, newContext, type RunningServer, SHOTS, startServer } from "./server.js";

export interface Person {
  firstName: string;
  lastName: string;
  email: string;
  password: string;
}

/**
 * One browser suite's fixture: a real server, Chromium, one browser context and page per person
 * (`who`), ordered steps that skip when a step they need failed (with full-page screenshots of every
 * page on failure, `FAILED-<prefix>-…png`), and the usual setup over HTTP: an owner with an
 * organization, people invited by role. Call `start` in `beforeAll` and `stop` in `afterAll`.
 */
export function browserSuite<W extends string>(prefix: string, who: readonly W[]) {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const ctxs = new Map<W, BrowserContext>();
  const pages = new Map<W, Page>();
  const passed = new Set<string>();
  const api = e2eApi(() => suite.server.url);

  const suite = {
    ...api,
    get server(): RunningServer {
      if (!server) throw new Error("the suite's server has not started");
      return server;
    },
    ctx(w: W): BrowserContext {
      const c = ctxs.get(w);
      if (!c) throw new Error(`no browser context for ${w}`);
      return c;
    },
    page(w: W): Page {
      const p = pages.get(w);
      if (!p) throw new Error(`no page for ${w}`);
      return p;
    },

    /** Server, browser, a context and a page per person; old failure screenshots of this suite removed. */
    async start(opts: { seedDemo?: boolean } = {}): Promise<void> {
      ensureWebBuilt();
      for (const f of existsSync(SHOTS) ? readdirSync(SHOTS) : [])
        if (f.startsWith(`FAILED-${prefix}-`)) rmSync(path.join(SHOTS, f));
      server = await startServer(opts);
      browser = await launchBrowser();
      for (const w of who) {
        const ctx = await newContext(browser, server.url);
        ctxs.set(w, ctx);
        pages.set(w, await ctx.newPage());
      }
    },

    async stop(): Promise<void> {
      await browser?.close();
      await server?.stop();
    },

    /** An ordered step: skipped when a step it needs did not pass; screenshots of every page when it fails. */
    step(name: string, needs: string[], fn: () => Promise<void>): void {
      it(name, async (tc: TestContext) => {
        const missing = needs.filter((n) => !passed.has(n));
        if (missing.length) tc.skip(`needs: ${missing.join(", ")}`);
        try {
          await fn();
        } catch (err) {
          mkdirSync(SHOTS, { recursive: true });
          const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
          for (const [w, page] of pages)
            await page
              .screenshot({ path: path.join(SHOTS, `FAILED-${prefix}-${slug}-${w}.png`), fullPage: true })
              .catch(() => undefined);
          throw err;
        }
        passed.add(name);
      });
    },

    /** `w` signs up (verified through the mailed link), signs in and creates an organization: its id. */
    async ownerWithOrg(w: W, person: Person, orgName: string): Promise<string> {
      const c = suite.ctx(w);
      await api.call(c, "POST", "/auth/signup", { ...person, language: "en" });
      const token = await api.mailedToken(c, person.email, /verify-email\?token=([\w-]+)/);
      await api.call(c, "POST", "/auth/verify-email", { token });
      await api.call(c, "POST", "/auth/login", { email: person.email, password: person.password });
      return (await api.call<{ id: string }>(c, "POST", "/orgs", { name: orgName })).id;
    },

    /** `by` invites `person` with one role; `w`'s context accepts the mailed invitation (and is signed in). */
    async invite(by: W, orgId: string, person: Person, roleId: string, w: W): Promise<void> {
      const inviter = suite.ctx(by);
      await api.call(inviter, "POST", `/orgs/${orgId}/invitations`, {
        email: person.email,
        firstName: person.firstName,
        lastName: person.lastName,
        roleIds: [roleId],
      });
      const token = await api.mailedToken(inviter, person.email, /\/invite\/([\w-]+)/);
      await api.call(suite.ctx(w), "POST", "/invitations/accept", {
        token,
        password: person.password,
        firstName: person.firstName,
        lastName: person.lastName,
      });
    },
  };
  return suite;
}

/** axe-core finds no serious or critical violation on the page as it stands (test/e2e/a11y.ts, issue 18). */
export async function accessible(page: Page, where: string): Promise<void> {
  expect(await a11yProblems(page), `${where} at ${page.viewportSize()?.width}px`).toEqual([]);
}

/** Nothing on the page is wider than the viewport (no sideways scrolling at 390 px). */
export async function noSidewaysScroll(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  expect(scroll, `page width at ${width} px`).toBeLessThanOrEqual(width);
}
