/**
 * The browser suite's accessibility check: axe-core (devDependency) run in the page.
 * Every violation of impact serious or critical fails, and so does `region` (content outside
 * landmarks, a "moderate" best-practice rule that issue 18 reported). `label-content-name-mismatch`
 * (WCAG 2.5.3, the accessible name contains the visible text) is switched on explicitly.
 * Each problem reads "rule-id (impact): help — first targets". AXE_LOG=<file> logs all violations.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Rules that fail whatever impact axe gives them. */
const ALWAYS_FAIL = new Set(["region"]);

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; any?: { data?: { messageKey?: string } | null }[] }[];
}

export async function a11yProblems(page: Page): Promise<string[]> {
  // Evaluated rather than added as a <script>: the app's Content-Security-Policy would refuse that.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const { violations, incomplete, passes } = await page.evaluate(async () => {
    // Colours measured mid-transition are neither state (a button turning enabled after a
    // language switch measured half-faded): let finite transitions and animations end first.
    await Promise.all(
      document
        .getAnimations()
        .filter((a) => Number.isFinite(Number(a.effect?.getComputedTiming().endTime)))
        .map((a) => a.finished.catch(() => undefined)),
    );
    // biome-ignore lint/suspicious/noExplicitAny: axe is a global set by the evaluated source
    const axe = (window as any).axe;
    const result = await axe.run(document, {
      resultTypes: ["violations"],
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      rules: { "label-content-name-mismatch": { enabled: true } },
    });
    const brief = (v: Violation): Violation => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, why: n.any?.[0]?.data?.messageKey ?? "" })),
    });
    return {
      violations: (result.violations as Violation[]).map(brief),
      incomplete: (result.incomplete as Violation[]).map(brief),
      passes: (result.passes as Violation[]).length,
    };
  });
  // AXE_LOG=<file> records every violation (minor and moderate ones included) and what axe could
  // not decide ("incomplete", e.g. contrast over an image), with the page's address.
  const log = process.env.AXE_LOG;
  if (log) {
    appendFileSync(log, `${page.url()}\tpasses\t${passes}\n`);
    for (const [kind, list] of [
      ["violation", violations],
      ["incomplete", incomplete],
    ] as const)
      for (const v of list)
        appendFileSync(
          log,
          `${page.url()}\t${kind}\t${v.id}\t${v.impact}\t${v.nodes.length}\t${JSON.stringify(v.nodes[0])}\n`,
        );
  }
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical" || ALWAYS_FAIL.has(v.id))
    .map((v) => {
      const targets = v.nodes
        .slice(0, 3)
        .map((n) => n.target.map(String).join(" "))
        .join(", ");
      const more = v.nodes.length > 3 ? ` (+${v.nodes.length - 3} more)` : "";
      return `${v.id} (${v.impact}): ${v.help} — ${targets}${more}`;
    });
}
