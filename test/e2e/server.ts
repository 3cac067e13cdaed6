import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const ROOT = path.resolve(import.meta.dirname, "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SHOTS = path.join(ROOT, "screenshots-out");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds the web app when dist/web is missing or older than its sources or its build recipe
 * (vite.config.ts, and this file: the way it is built here).
 */
export function ensureWebBuilt(): void {
  const index = path.join(ROOT, "dist/web/index.html");
  const sources = Math.max(
    newestMtime(path.join(ROOT, "src/web")),
    newestMtime(path.join(ROOT, "src/shared")),
    statSync(path.join(ROOT, "vite.config.ts")).mtimeMs,
    statSync(path.join(ROOT, "test/e2e/server.ts")).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const res = spawnSync(
    process.execPath,
    [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--config", "vite.config.ts", "--logLevel", "warn"],
    {
      cwd: ROOT,
      stdio: "inherit",
      // Vitest sets NODE_ENV=test, which Vite would pass on: React's development build, not what ships.
      env: { ...process.env, NODE_ENV: "production" },
    },
  );
  if (res.status !== 0) throw new Error("npm run build:web failed");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * The real server (`src/server/main.ts`) on a free port, with a temporary PGlite and the dev mailbox;
 * `seedDemo`: with the demo organization (an owner and one member per system role, DEMO_PASSWORD).
 */
export async function startServer(opts: { seedDemo?: boolean } = {}): Promise<RunningServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), "chorus-e2e-"));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: "127.0.0.1",
    APP_URL: url,
    DATA_DIR: dataDir,
    NODE_ENV: "development",
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "warn",
    MAIL_POLL_MS: "200",
  };
  delete env.SMTP_URL;
  delete env.DATABASE_URL;
  delete env.SEED_DEMO;
  if (opts.seedDemo) env.SEED_DEMO = "1";
  // process.execPath: the Node running the tests (the pinned Node 24 under `npm test`).
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/server/main.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  // E2E_START_MS: more time on a machine shared by several test runs (the start compiles with tsx).
  const deadline = Date.now() + (SETUP_MS - 90_000);
  for (;;) {
    if (exited) throw new Error("the server exited during start");
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error("the server did not start within 90 s");
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    stop: async () => {
      if (!exited) {
        child.kill("SIGTERM");
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, 10_000);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export async function newContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  // Reduced motion: the app then changes state without fades, so the accessibility check never
  // measures a colour halfway through a transition that started after it looked.
  return browser.newContext({
    baseURL,
    viewport: { width: 1280, height: 800 },
    locale: "en-GB",
    timezoneId: "UTC",
    reducedMotion: "reduce",
  });
}

/** A suite's beforeAll: the server's start (E2E_START_MS) and the browser's. */
export const SETUP_MS = Number(process.env.E2E_START_MS ?? 90_000) + 90_000;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Screenshots of the page at desktop and phone width into screenshots-out/<name>-{desktop,phone}.png.
 * Transient toasts (the Toaster, fixed at the bottom of the viewport) are left out of the picture; with a
 * dialog open, only the viewport is taken.
 */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  // An open dialog sits on a viewport-sized overlay: a full-page picture would show the page below it undimmed.
  const modal = (await page.locator('[role="dialog"]:visible, [role="alertdialog"]:visible').count()) > 0;
  for (const [label, size] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150); // let the layout settle at the new width (a picture, not a check)
    await page.screenshot({
      path: path.join(SHOTS, `${name}-${label}.png`),
      fullPage: !modal,
      style: "[data-toaster] { visibility: hidden !important; }",
    });
  }
  await page.setViewportSize(original);
}

// ---- waiting assertions (playwright-core has no `expect`): poll until true or time out ----
import type { Locator } from "playwright-core";

const WAIT_MS = 15_000;

export async function until(what: string, check: () => Promise<boolean>, timeout = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const see = (l: Locator) => l.first().waitFor({ state: "visible", timeout: WAIT_MS });
export const gone = (l: Locator) => l.first().waitFor({ state: "hidden", timeout: WAIT_MS });
export const countIs = (l: Locator, n: number) => until(`${l} has ${n} matches`, async () => (await l.count()) === n);
export const attrIs = (l: Locator, name: string, value: string) =>
  until(`${l} has ${name}=${value}`, async () => (await l.first().getAttribute(name)) === value);
export const isChecked = (l: Locator) => until(`${l} is checked`, () => l.first().isChecked());
export const hasText = (l: Locator, text: string) =>
  until(`${l} contains "${text}"`, async () => ((await l.first().textContent()) ?? "").includes(text));
