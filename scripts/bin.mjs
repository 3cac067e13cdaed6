// The script file behind a dependency's command (`vitest`, `vite`, `tsx`), to run with
// process.execPath: the Node that runs this script, the project's pinned Node 24 under npm
// scripts. `npx <command>` would start it with whichever `node` comes first on PATH instead.
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

export function binOf(pkg, command = pkg) {
  const dir = path.join(root, "node_modules", pkg);
  const { bin } = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  return path.join(dir, typeof bin === "string" ? bin : bin[command]);
}
