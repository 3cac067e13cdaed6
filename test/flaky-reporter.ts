import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Reporter, TestCase } from "vitest/node";

/**
 * Every test that passed only on a retry (vitest `retry`, see docs/decisions.md "Retries and flaky
 * tests"), printed loudly at the end of the run with the error of each failed attempt, and written
 * to `FLAKY_REPORT` (scripts/test.mjs sets it and counts them in its closing line). A retry keeps a slow or
 * racy step from sinking a CI run; it never hides one: each is named in every log.
 */
export default class FlakyReporter implements Reporter {
  private readonly flaky: { name: string; file: string; errors: string[] }[] = [];

  onTestCaseResult(testCase: TestCase): void {
    if (!testCase.diagnostic()?.flaky) return;
    this.flaky.push({
      name: testCase.fullName,
      file: testCase.module.moduleId,
      errors: testCase
        .attempts()
        .filter((a) => a.state === "failed")
        .map((a) => (a.errors ?? []).map((e) => e.message).join("\n")),
    });
  }

  onTestRunEnd(): void {
    const file = process.env.FLAKY_REPORT;
    if (file) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(this.flaky, null, 2));
    }
    if (!this.flaky.length) return;
    const bar = "~".repeat(78);
    console.log(`\n${bar}\n~~ ${this.flaky.length} test(s) FAILED, then passed on retry (flaky: fix the race):`);
    for (const f of this.flaky) {
      console.log(`~~ ${f.name}  (${f.file})`);
      for (const e of f.errors) console.log(`~~    failed attempt: ${e.split("\n")[0]?.slice(0, 300)}`);
    }
    console.log(bar);
  }
}
