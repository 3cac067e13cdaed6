// HTTP benchmark (issue 12, "a lean request path"): `npm run bench http`.
// In one run, over real sockets on 127.0.0.1 (bench/loadgen.ts: N kept-alive connections, closed
// loop, like autocannon's defaults), each server in its own process (bench/http-server.ts):
//   trivial   GET /healthz: Chorus (every plugin and hook) vs a bare Fastify 5 route
//   me        GET /api/v1/orgs/:orgId/me (Bearer, the guard's cache warm)
//   list      GET /api/v1/orgs/:orgId/members?limit=50 (a page of 50 of 1,000 members)
//   role      PATCH /api/v1/orgs/:orgId/members/:memberId {roleIds} — every request a real change
//             (members in turn, their role toggled), by the owner
// req/s, p50 and p99 per route. With a second source tree (BENCH_BASE, default ../perf-base when it
// exists: a `git worktree` of the commit to compare with, node_modules linked), the same routes on
// that build too, interleaved round by round, and the ratios. Then a CPU profile (inspector) of
// this tree's server under each route's load, summarized by where the time goes.
// Security headers are compared between the two builds (names and values) before anything is timed.
// Database: in-memory PGlite per server; DATABASE_URL or TEST_DATABASE_URL: a fresh database on
// that PostgreSQL server per server (dropped at the end).
// Knobs: BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), BENCH_ROUNDS (2), BENCH_CONNECTIONS (10),
// BENCH_PROFILE_SECONDS (3; 0 = no profile), BENCH_BASE ("" = no comparison), BENCH_ROUTES (e.g. "trivial,role"),
// BENCH_LOG_LEVEL (info; "warn" shows what the request log line costs), BENCH_LOG_DEST ("none": the
// line composed but not written).
import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { ProfileSummary } from "./http-profile.js";
import { httpRequest, type LoadResult, load } from "./loadgen.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PROFILE_SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 3);
const here = path.resolve(import.meta.dirname, "..");
const defaultBase = path.resolve(here, "../perf-base");
const BASE = process.env.BENCH_BASE ?? (existsSync(path.join(defaultBase, "src/server/app.ts")) ? defaultBase : "");
const ONLY = process.env.BENCH_ROUTES?.split(",");
const pgUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || "";

interface Server {
  name: string;
  child: ChildProcess;
  port: number;
  orgId?: string;
  token?: string;
  memberIds?: string[];
  roles?: [string, string];
  /** Requests sent so far to the role route (its toggling continues across rounds). */
  roleCounter: number;
}

const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

function start(name: string, args: string[]): Promise<Server> {
  const child = fork(path.join(import.meta.dirname, "http-server.ts"), args, {
    // BENCH_NODE_FLAGS: V8 flags for the servers (e.g. those of package.json "start"), both alike.
    execArgv: ["--import", "tsx", ...(process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [])],
    env: { ...process.env, TEST_DATABASE_URL: pgUrl, NODE_ENV: "production" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${name} server exited (${code}) before it was ready`)));
    child.once("message", (m: Omit<Server, "name" | "child" | "roleCounter">) => {
      child.removeAllListeners("exit");
      resolve({ name, child, roleCounter: 0, ...m });
    });
  });
}

function ask<T>(s: Server, msg: object, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        s.child.off("message", on);
        resolve(m[key] as T);
      }
    };
    s.child.on("message", on);
    s.child.send(msg);
  });
}

type RouteName = "trivial" | "me" | "list" | "role";
const ROUTES: Record<RouteName, { label: string; status: number; request: (s: Server) => (i: number) => Buffer }> = {
  trivial: { label: "GET /healthz", status: 200, request: () => () => httpRequest("GET", "/healthz") },
  me: {
    label: "GET /api/v1/orgs/:orgId/me",
    status: 200,
    request: (s) => {
      const b = httpRequest("GET", `/api/v1/orgs/${s.orgId}/me`, { authorization: `Bearer ${s.token}` });
      return () => b;
    },
  },
  list: {
    label: "GET /api/v1/orgs/:orgId/members?limit=50 (of 1,000)",
    status: 200,
    request: (s) => {
      const b = httpRequest("GET", `/api/v1/orgs/${s.orgId}/members?limit=50`, { authorization: `Bearer ${s.token}` });
      return () => b;
    },
  },
  role: {
    label: "PATCH /api/v1/orgs/:orgId/members/:memberId {roleIds}",
    status: 200,
    request: (s) => {
      const ids = s.memberIds!;
      const roles = s.roles!;
      return () => {
        const k = s.roleCounter++;
        // Members in turn; each pass over them toggles the role, so every request is a change.
        const roleId = roles[(Math.floor(k / ids.length) + 1) % 2]!;
        return httpRequest(
          "PATCH",
          `/api/v1/orgs/${s.orgId}/members/${ids[k % ids.length]}`,
          { authorization: `Bearer ${s.token}` },
          { roleIds: [roleId] },
        );
      };
    },
  },
};

async function run(s: Server, route: RouteName, ms: number): Promise<LoadResult> {
  const r = ROUTES[route];
  const res = await load({ port: s.port, connections: CONNECTIONS, durationMs: ms, request: r.request(s) });
  const bad = Object.entries(res.statuses).filter(([code]) => Number(code) !== r.status);
  if (bad.length) throw new Error(`${s.name} ${r.label}: unexpected answers ${JSON.stringify(res.statuses)}`);
  return res;
}

/** Response headers of one request, without those that differ per request. */
function headersOf(s: Server, method: string, url: string, auth: boolean): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: s.port,
        method,
        path: url,
        headers: auth ? { authorization: `Bearer ${s.token}` } : {},
      },
      (res) => {
        res.resume();
        const h = { ...res.headers } as Record<string, string>;
        for (const k of ["date", "x-request-id", "content-length", "keep-alive", "connection"]) delete h[k];
        h[":status"] = String(res.statusCode);
        resolve(h);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

// ------------------------------------------------------------------------------------------------
console.log(
  `HTTP bench: node ${process.version}, ${os.cpus().length} CPUs, database ${pgUrl ? "PostgreSQL" : "PGlite (in memory)"}, ` +
    `${CONNECTIONS} connections, ${SECONDS} s per measurement (+${WARMUP} s warm-up), ${ROUNDS} rounds; ` +
    `load average at start: ${loadavg()}`,
);
const bare = await start("bare Fastify", ["bare"]);
const current = await start("Chorus (this tree)", ["chorus", here]);
const base = BASE ? await start(`Chorus (base: ${path.basename(BASE)})`, ["chorus", BASE]) : undefined;
const chorusServers = base ? [current, base] : [current];

if (base) {
  const probes: [string, string, boolean][] = [
    ["GET", "/healthz", false],
    ["GET", `/api/v1/orgs/${current.orgId}/me`, true],
    ["GET", "/api/v1/nothing-here", false],
    ["GET", "/api/v1/me", false],
  ];
  let same = true;
  for (const [method, url, auth] of probes) {
    const a = await headersOf(current, method, url.replace(current.orgId!, current.orgId!), auth);
    const b = await headersOf(base, method, url.replace(current.orgId!, base.orgId!), auth);
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    const diff = keys.filter((k) => a[k] !== b[k]);
    if (diff.length) {
      same = false;
      console.log(`HEADERS DIFFER on ${method} ${url}: ${diff.map((k) => `${k}: ${b[k]} → ${a[k]}`).join("; ")}`);
    }
  }
  console.log(
    `Response headers (names and values, per-request ones aside) of this tree vs the base on ${probes.length} probes: ${same ? "identical" : "DIFFERENT"}`,
  );
  if (!same) process.exitCode = 1;
}

const results = new Map<string, LoadResult[]>();
const keep = (s: Server, route: RouteName, r: LoadResult) => {
  const k = `${route}|${s.name}`;
  results.set(k, [...(results.get(k) ?? []), r]);
};
const plan = (
  [
    ["trivial", [bare, ...chorusServers]],
    ["me", chorusServers],
    ["list", chorusServers],
    ["role", chorusServers],
  ] as [RouteName, Server[]][]
).filter(([route]) => !ONLY || ONLY.includes(route));
for (const [route, servers] of plan) {
  for (const s of servers) await run(s, route, WARMUP * 1000);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order round by round so neither build always goes first.
    const order = r % 2 ? [...servers].reverse() : servers;
    for (const s of order) keep(s, route, await run(s, route, SECONDS * 1000));
  }
  console.log(`  ${route} done (load average ${loadavg()})`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const summary = (route: RouteName, s: Server) => {
  const rs = results.get(`${route}|${s.name}`)!;
  return { rps: mean(rs.map((r) => r.rps)), p99: mean(rs.map((r) => r.p99)), p50: mean(rs.map((r) => r.p50)) };
};
console.log(`\nLoad average at the end: ${loadavg()}\n`);
console.log("| route | server | req/s | p50 ms | p99 ms | ratio |");
console.log("|---|---|---:|---:|---:|---|");
for (const [route, servers] of plan) {
  const ref = route === "trivial" ? bare : base;
  for (const s of servers) {
    const m = summary(route, s);
    const ratio =
      ref && s !== ref
        ? `${(m.rps / summary(route, ref).rps).toFixed(2)}× ${route === "trivial" ? "bare" : "base"}`
        : "";
    const ratio2 =
      route === "trivial" && base && s === current ? `, ${(m.rps / summary(route, base).rps).toFixed(2)}× base` : "";
    console.log(
      `| ${ROUTES[route].label} | ${s.name} | ${Math.round(m.rps).toLocaleString("en")} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${ratio}${ratio2} |`,
    );
  }
}
const ran = (route: RouteName) => plan.some(([r]) => r === route);
if (ran("trivial")) {
  const trivialRatio = summary("trivial", current).rps / summary("trivial", bare).rps;
  console.log(
    `\ngoal "trivial route ≥ 0.6× bare Fastify": ${trivialRatio.toFixed(2)}× — ${trivialRatio >= 0.6 ? "OK" : "MISSED"}`,
  );
}
if (base && ran("role")) {
  const roleRatio = summary("role", current).rps / summary("role", base).rps;
  console.log(
    `goal "member role change ≥ 1.5× the base build": ${roleRatio.toFixed(2)}× — ${roleRatio >= 1.5 ? "OK" : "MISSED"}`,
  );
}

if (PROFILE_SECONDS > 0) {
  for (const [route] of plan) {
    await ask(current, { profile: "start" }, "profiling");
    const r = await run(current, route, PROFILE_SECONDS * 1000);
    const p = await ask<ProfileSummary>(current, { profile: "stop" }, "profileSummary");
    console.log(
      `\nCPU profile of this tree's server, ${ROUTES[route].label} (${Math.round(r.rps).toLocaleString("en")} req/s under the profiler, ` +
        `${p.idlePct.toFixed(0)}% idle; shares of busy time):`,
    );
    console.log(`  by place: ${p.byCategory.map(([k, v]) => `${k} ${v.toFixed(1)}%`).join(", ")}`);
    console.log(
      `  top functions (self): ${p.byFunction
        .slice(0, 10)
        .map(([k, v]) => `${k} ${v.toFixed(1)}%`)
        .join("; ")}`,
    );
  }
}

for (const s of [bare, ...chorusServers]) {
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.send({ exit: true });
  await exited;
}
