#!/usr/bin/env node
// `npm test`: the API suite (PGlite, or PostgreSQL when TEST_DATABASE_URL is set),
// then the browser suite in Debian's Chromium when it is installed. Without Chromium
// the browser suite is skipped, loudly. Prints one closing "N passed, N failed" line.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { binOf } from "./bin.mjs";

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const extra = process.argv.slice(2);
mkdirSync("test-results", { recursive: true });

function run(name, args) {
  const out = `test-results/${name}.json`;
  const flakyFile = `test-results/${name}-flaky.json`;
  for (const f of [out, flakyFile]) rmSync(f, { force: true });
  const res = spawnSync(
    process.execPath,
    [
      binOf("vitest"),
      "run",
      ...args,
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${out}`,
      // Names every test that passed only on a retry (test/flaky-reporter.ts).
      "--reporter=./test/flaky-reporter.ts",
      ...extra,
    ],
    {
      stdio: "inherit",
      env: { ...process.env, FLAKY_REPORT: flakyFile },
    },
  );
  let counts = { passed: 0, failed: 0, skipped: 0, flaky: 0 };
  if (existsSync(out)) {
    const r = JSON.parse(readFileSync(out, "utf8"));
    const flaky = existsSync(flakyFile) ? JSON.parse(readFileSync(flakyFile, "utf8")).length : 0;
    counts = {
      passed: r.numPassedTests,
      failed: r.numFailedTests,
      skipped: r.numPendingTests + (r.numTodoTests ?? 0),
      flaky,
    };
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
    flaky: a.flaky + r.counts.flaky,
  }),
  { passed: 0, failed: 0, skipped: 0, flaky: 0 },
);
const ok = results.every((r) => r.ok);
const flaky = total.flaky ? ` (${total.flaky} only on a retry: FLAKY, named above)` : "";
console.log(`\n${total.passed} passed${flaky}, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(ok ? 0 : 1);
