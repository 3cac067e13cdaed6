// npm run lint:openapi: builds the app (no listen, in-memory database, development mailbox on so
// that its routes are linted too), writes its OpenAPI
// document to dist/openapi.json and lints it with Spectral (scripts/openapi/ruleset.ts).
// Exits non-zero on any error, or on a warning whose rule has no written reason.
import { mkdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import spectralCore from "@stoplight/spectral-core";
import spectralParsers from "@stoplight/spectral-parsers";
import { ACCEPTED_WARNINGS, ruleset } from "./ruleset.js";

const { Document, Spectral } = spectralCore;

export interface Finding {
  rule: string;
  severity: "error" | "warning" | "info" | "hint";
  path: string;
  message: string;
}

const SEVERITIES = ["error", "warning", "info", "hint"] as const;

/** Runs the ruleset on an OpenAPI document (a parsed object) and returns what it found. */
export async function lintOpenApi(document: unknown): Promise<Finding[]> {
  const spectral = new Spectral();
  spectral.setRuleset(ruleset as never);
  const results = await spectral.run(
    new Document(JSON.stringify(document, null, 2), spectralParsers.Json, "openapi.json"),
  );
  return results.map((r) => ({
    rule: String(r.code),
    severity: SEVERITIES[r.severity] ?? "hint",
    path: r.path.join("."),
    message: r.message,
  }));
}

/** Errors, and warnings from rules without a written reason in ACCEPTED_WARNINGS. */
export function unacceptable(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity === "error" || (f.severity === "warning" && !(f.rule in ACCEPTED_WARNINGS)));
}

/** The document of an app built for the purpose: in-memory PGlite, silent logger, never listening. */
export async function buildOpenApiDocument(): Promise<unknown> {
  const [{ default: pino }, { buildApp }, { loadConfig }, { openDatabase }] = await Promise.all([
    import("pino"),
    import("../../src/server/app.js"),
    import("../../src/server/config.js"),
    import("../../src/server/db/client.js"),
  ]);
  const database = await openDatabase({});
  await database.migrate();
  const config = loadConfig({ NODE_ENV: "test", APP_URL: "https://chorus.example", LOG_LEVEL: "silent" });
  const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
    await app.ctx.outbox.stop();
    await database.close();
  }
}

async function main(): Promise<void> {
  const document = await buildOpenApiDocument();
  mkdirSync("dist", { recursive: true });
  writeFileSync("dist/openapi.json", `${JSON.stringify(document, null, 2)}\n`);
  const findings = await lintOpenApi(document);
  for (const f of findings) console.log(`${f.severity.padEnd(7)} ${f.rule}  ${f.path}  ${f.message}`);
  const bad = unacceptable(findings);
  const count = (s: Finding["severity"]) => findings.filter((f) => f.severity === s).length;
  console.log(
    `\ndist/openapi.json: ${count("error")} errors, ${count("warning")} warnings (accepted rules: ` +
      `${Object.keys(ACCEPTED_WARNINGS).length}, reasons in scripts/openapi/ruleset.ts)`,
  );
  if (bad.length) {
    console.error(`${bad.length} finding(s) not accepted: errors, or warnings of rules without a written reason.`);
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
