// Compiles the server (src/server, src/shared) to plain ESM JavaScript in dist/, file by file
// (no bundling, so `import.meta.dirname` paths keep their meaning). `npm start` runs the output
// with plain Node: the tsx loader would add ~37 MB resident and a transform on every start.
// `--with-bench` also compiles bench/, so benchmarks measure the server as `npm start` runs it.
import { readdirSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const dirs = ["src/server", "src/shared", ...(process.argv.includes("--with-bench") ? ["bench"] : [])];
const entryPoints = dirs.flatMap((dir) =>
  readdirSync(path.join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.join(root, dir, f)),
);

await build({
  entryPoints,
  outdir: path.join(root, "dist/node"),
  outbase: root,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
});
