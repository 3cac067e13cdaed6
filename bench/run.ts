// `npm run bench`: runs every bench/*.bench.ts in its own process, one after another,
// so one benchmark's memory or JIT state never colours another's figures.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

const dir = import.meta.dirname;
const only = process.argv[2];
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts") && (!only || f.includes(only)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}`);
  const res = spawnSync(process.execPath, ["--import", "tsx", path.join(dir, f)], {
    stdio: "inherit",
    env: process.env,
  });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
