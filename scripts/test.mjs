#!/usr/bin/env node
// `npm test`: the API suite (PGlite, or PostgreSQL when TEST_DATABASE_URL is set),
// then the browser suite in Debian's Chromium when it is installed. Without Chromium
// the browser suite is skipped, loudly. Prints one closing "N passed, N failed" line.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { binOf } from "./bin.mjs";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const extra = process.argv.slice(2);
mkdirSync("test-results", { recursive: true });

function run(name, args) {
  const out = `test-results/${name}.json`;
  const res = spawnSync(
    process.execPath,
    [binOf("vitest"), "run", ...args, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...extra],
    {
      stdio: "inherit",
      env: process.env,
    },
  );
  let counts = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, "utf8"));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + (r.numTodoTests ?? 0) };
  }
  return { ok: res.status === 0, counts };
}

// The Node that runs the suites (vitest is started with it, and the tests start servers with
// process.execPath), printed so that every test log shows it (the pinned Node 24 under npm test).
console.log(`Node ${process.version} (${process.execPath})`);
const db = process.env.TEST_DATABASE_URL ? "PostgreSQL" : "PGlite";
console.log(`\n=== API tests on ${db} ===`);
const results = [run("api", [])];

if (process.env.SKIP_BROWSER_TESTS === "1") {
  console.log("\nBrowser tests not run here (SKIP_BROWSER_TESTS=1).");
} else if (existsSync(chromium)) {
  console.log(`\n=== Browser tests (Chromium at ${chromium}) ===`);
  results.push(run("browser", ["--config", "vitest.e2e.config.ts"]));
} else {
  const bar = "!".repeat(78);
  console.log(`\n${bar}\n!! BROWSER TESTS SKIPPED: no Chromium at ${chromium}.`);
  console.log("!! Install Debian's chromium (apt-get install chromium) to run them; .ci/run does.");
  console.log(`${bar}\n`);
}

const total = results.reduce(
  (a, r) => ({
    passed: a.passed + r.counts.passed,
    failed: a.failed + r.counts.failed,
    skipped: a.skipped + r.counts.skipped,
  }),
  { passed: 0, failed: 0, skipped: 0 },
);
const ok = results.every((r) => r.ok);
console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(ok ? 0 : 1);
