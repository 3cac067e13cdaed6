// Authorization benchmark (issue: "a check at least as fast as CASL's, the hooks adding under 15%
// to a trivial route's latency"). Standalone: `npx tsx bench/authz.bench.ts` (or `npm run bench authz`).
//  (a) one permission check, in process: the project's PermissionSet (what the guard does with the
//      member loadMember built: `member.permissions.has(p)`) against @casl/ability (`ability.can`, one
//      Ability per role set) and casbin (RBAC model, the seven roles as policy lines, `enforce`).
//      The three are first checked to agree on every (member role set, permission) pair.
//  (b) the latency the authentication + authorization hooks add to a trivial route, through the
//      real app (app.inject): the same handler registered public / signedIn / member("members:read"),
//      interleaved in rounds, first through app.inject, then over a real port (127.0.0.1, one
//      kept-alive connection, sequential requests); then the parts of the hooks timed alone (session lookup, membership load).
// Database: an in-memory PGlite; with TEST_DATABASE_URL=postgres://… a fresh database on that server
// (dropped at the end), exactly as the tests do.
// Knobs: BENCH_ROUNDS (default 9, in-process), BENCH_HTTP_ROUNDS (default 30), BENCH_HTTP_BATCH (default 50).

import http from "node:http";
import type { AddressInfo } from "node:net";
import { AbilityBuilder, createMongoAbility, type MongoAbility } from "@casl/ability";
import { type Enforcer, newCachedEnforcer, newEnforcer, newModelFromString, StringAdapter } from "casbin";
import pino from "pino";
import { z } from "zod";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { access } from "../src/server/http/access.js";
import { resolveCaller } from "../src/server/http/caller.js";
import { hashToken } from "../src/server/lib/tokens.js";
import { loadMember, touchMemberActivity } from "../src/server/modules/members/load-member.js";
import {
  effectivePermissions,
  PERMISSIONS,
  type Permission,
  type PermissionSet,
  SYSTEM_ROLES,
  type SystemRoleId,
  systemRolePermissions,
} from "../src/shared/permissions.js";
import { createTestDatabase } from "../test/helpers/db.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const HTTP_ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 30);
const HTTP_BATCH = Number(process.env.BENCH_HTTP_BATCH ?? 50);

// ---------------------------------------------------------------------------------------------
// Data: members with random role sets, checks with random catalogue keys (seeded, reproducible).
// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20_250_611);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const ROLE_IDS = SYSTEM_ROLES.map((r) => r.id) as SystemRoleId[];
const MEMBERS = 1000;
/** Role-set sizes: 5% none, 60% one role, 25% two, 10% three (distinct roles). */
function randomRoleSet(): SystemRoleId[] {
  const x = rand();
  const size = x < 0.05 ? 0 : x < 0.65 ? 1 : x < 0.9 ? 2 : 3;
  const set = new Set<SystemRoleId>();
  while (set.size < size) set.add(pick(ROLE_IDS));
  return [...set].sort();
}
const memberRoles: SystemRoleId[][] = Array.from({ length: MEMBERS }, randomRoleSet);

const split = (p: string) => {
  const i = p.indexOf(":");
  return { subject: p.slice(0, i), action: p.slice(i + 1) };
};
const ACTIONS = PERMISSIONS.map((p) => split(p).action);
const SUBJECTS = PERMISSIONS.map((p) => split(p).subject);

// The project: the member's set, built as loadMember builds it (union of the roles' sets).
const projectSets: PermissionSet[] = memberRoles.map((ids) =>
  effectivePermissions(
    false,
    ids.map((id) => systemRolePermissions(id)!),
  ),
);

// CASL: one Ability per distinct role set (members sharing a set share the Ability).
function caslRulesFor(roleIds: readonly SystemRoleId[]): MongoAbility {
  const { can, build } = new AbilityBuilder(createMongoAbility);
  for (const id of roleIds) {
    const role = SYSTEM_ROLES.find((r) => r.id === id)!;
    for (const p of role.permissions) {
      const { action, subject } = split(p);
      can(action, subject);
    }
  }
  return build();
}
const caslBySet = new Map<string, MongoAbility>();
const caslAbilities: MongoAbility[] = memberRoles.map((ids) => {
  const key = ids.join(",");
  let a = caslBySet.get(key);
  if (!a) {
    a = caslRulesFor(ids);
    caslBySet.set(key, a);
  }
  return a;
});

// casbin: classic RBAC, roles as policy subjects, members grouped into their roles.
const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`;
const policyLines = [
  ...SYSTEM_ROLES.flatMap((r) => r.permissions.map((p) => `p, ${r.id}, ${split(p).subject}, ${split(p).action}`)),
  ...memberRoles.flatMap((ids, m) => ids.map((id) => `g, member${m}, ${id}`)),
];
const enforcer: Enforcer = await newEnforcer(
  newModelFromString(CASBIN_MODEL),
  new StringAdapter(policyLines.join("\n")),
);
const casbinUsers = memberRoles.map((_, m) => `member${m}`);
// casbin's own answer to its cost: CachedEnforcer memoizes enforce() per (sub, obj, act) string.
const cachedEnforcer = await newCachedEnforcer(
  newModelFromString(CASBIN_MODEL),
  new StringAdapter(policyLines.join("\n")),
);

// Checks: half ask for a permission the member holds (what the web app, which hides controls,
// mostly sends), half for any catalogue key; so both allowed and denied answers are common.
const SAMPLES = 1 << 16;
const MASK = SAMPLES - 1;
const sampleMember = new Uint16Array(SAMPLES);
const samplePerm = new Uint8Array(SAMPLES);
for (let i = 0; i < SAMPLES; i++) {
  const m = Math.floor(rand() * MEMBERS);
  const held = projectSets[m]!.toArray();
  const p: Permission = rand() < 0.5 && held.length ? pick(held) : pick(PERMISSIONS);
  sampleMember[i] = m;
  samplePerm[i] = PERMISSIONS.indexOf(p);
}

// ---------------------------------------------------------------------------------------------
// Agreement: every member × every permission, and every sample, same answer from the three.
// ---------------------------------------------------------------------------------------------
{
  let pairs = 0;
  const mismatches: string[] = [];
  for (let m = 0; m < MEMBERS; m++) {
    for (let p = 0; p < PERMISSIONS.length; p++) {
      const a = projectSets[m]!.has(PERMISSIONS[p]!);
      const b = caslAbilities[m]!.can(ACTIONS[p]!, SUBJECTS[p]!);
      const c = enforcer.enforceSync(casbinUsers[m], SUBJECTS[p], ACTIONS[p]);
      const d = await enforcer.enforce(casbinUsers[m], SUBJECTS[p], ACTIONS[p]);
      const e = await cachedEnforcer.enforce(casbinUsers[m], SUBJECTS[p], ACTIONS[p]);
      pairs++;
      if (a !== b || a !== c || a !== d || a !== e)
        mismatches.push(
          `[${memberRoles[m]!.join("+") || "no role"}] ${PERMISSIONS[p]}: project=${a} casl=${b} casbin=${c}/${d}/${e}`,
        );
    }
  }
  if (mismatches.length) {
    console.error(
      `DISAGREEMENT on ${mismatches.length} of ${pairs} pairs, e.g.:\n${mismatches.slice(0, 10).join("\n")}`,
    );
    process.exit(1);
  }
  let allowed = 0;
  for (let i = 0; i < SAMPLES; i++) if (projectSets[sampleMember[i]!]!.has(PERMISSIONS[samplePerm[i]!]!)) allowed++;
  console.log(
    `Agreement: project, CASL and casbin give the same answer on all ${pairs.toLocaleString("en")} (member, permission) pairs ` +
      `(${MEMBERS} members, ${caslBySet.size} distinct role sets, ${PERMISSIONS.length} permissions). ` +
      `Timed mix: ${SAMPLES.toLocaleString("en")} checks, ${((100 * allowed) / SAMPLES).toFixed(1)}% allowed.`,
  );
}

// ---------------------------------------------------------------------------------------------
// (a) Timing. Each contender loops over the same samples and counts allowed answers into `sink`
// (printed at the end), so no check can be optimized away. Rounds rotate the order.
// ---------------------------------------------------------------------------------------------
let sink = 0;

const contenders: { name: string; run: (n: number) => number | Promise<number> }[] = [
  {
    name: "loop only (no check)",
    run: (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += sampleMember[i & MASK]! + samplePerm[i & MASK]!;
      return acc;
    },
  },
  {
    name: "project PermissionSet.has",
    run: (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++)
        if (projectSets[sampleMember[i & MASK]!]!.has(PERMISSIONS[samplePerm[i & MASK]!]!)) acc++;
      return acc;
    },
  },
  {
    name: "CASL ability.can",
    run: (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const p = samplePerm[i & MASK]!;
        if (caslAbilities[sampleMember[i & MASK]!]!.can(ACTIONS[p]!, SUBJECTS[p]!)) acc++;
      }
      return acc;
    },
  },
  {
    name: "casbin enforceSync",
    run: (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const p = samplePerm[i & MASK]!;
        if (enforcer.enforceSync(casbinUsers[sampleMember[i & MASK]!], SUBJECTS[p], ACTIONS[p])) acc++;
      }
      return acc;
    },
  },
  {
    name: "casbin enforce (async)",
    run: async (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const p = samplePerm[i & MASK]!;
        if (await enforcer.enforce(casbinUsers[sampleMember[i & MASK]!], SUBJECTS[p], ACTIONS[p])) acc++;
      }
      return acc;
    },
  },
  {
    name: "casbin CachedEnforcer.enforce (async, memoized)",
    run: async (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const p = samplePerm[i & MASK]!;
        if (await cachedEnforcer.enforce(casbinUsers[sampleMember[i & MASK]!], SUBJECTS[p], ACTIONS[p])) acc++;
      }
      return acc;
    },
  },
  // What a request really pays in the project: loadMember unions the role sets, then the guard checks.
  {
    name: "project: build set from roles + has",
    run: (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const roles = memberRoles[sampleMember[i & MASK]!]!;
        const set = effectivePermissions(
          false,
          roles.map((id) => systemRolePermissions(id)!),
        );
        if (set.has(PERMISSIONS[samplePerm[i & MASK]!]!)) acc++;
      }
      return acc;
    },
  },
  {
    name: "CASL: build Ability from roles + can",
    run: (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const p = samplePerm[i & MASK]!;
        if (caslRulesFor(memberRoles[sampleMember[i & MASK]!]!).can(ACTIONS[p]!, SUBJECTS[p]!)) acc++;
      }
      return acc;
    },
  },
];

const TARGET_MS = 120;
async function timed(run: (n: number) => number | Promise<number>, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  sink += await run(n);
  return Number(process.hrtime.bigint() - t0) / n; // ns per check
}
// Calibrate: after a warm-up, pick for each contender an iteration count that takes ~TARGET_MS.
const iterations = new Map<string, number>();
for (const c of contenders) {
  let n = 1024;
  for (;;) {
    const t0 = performance.now();
    sink += await c.run(n);
    const ms = performance.now() - t0;
    if (ms > 25) {
      iterations.set(c.name, Math.max(1024, Math.round((n * TARGET_MS) / ms)));
      break;
    }
    n *= 4;
  }
}
const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < contenders.length; k++) {
    const c = contenders[(k + r) % contenders.length]!;
    samples.get(c.name)!.push(await timed(c.run, iterations.get(c.name)!));
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const ns = (name: string) => median(samples.get(name)!);

console.log(
  `\n(a) One permission check, median of ${ROUNDS} rounds of ~${TARGET_MS} ms each (node ${process.version}):`,
);
console.log("| implementation | ns/check | checks/s | min–max ns over rounds |");
console.log("|---|---:|---:|---:|");
for (const c of contenders) {
  const xs = samples.get(c.name)!;
  const v = ns(c.name);
  console.log(
    `| ${c.name} | ${v.toFixed(1)} | ${Math.round(1e9 / v).toLocaleString("en")} | ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} |`,
  );
}
const project = ns("project PermissionSet.has");
const casl = ns("CASL ability.can");
const casbinSync = ns("casbin enforceSync");
const casbinAsync = ns("casbin enforce (async)");
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)} (${(b / a).toFixed(1)}× faster)`;
console.log(`ratio project/CASL:            ${ratio(project, casl)}`);
console.log(`ratio project/casbin (sync):   ${ratio(project, casbinSync)}`);
console.log(`ratio project/casbin (async):  ${ratio(project, casbinAsync)}`);
console.log(`ratio project/casbin (cached): ${ratio(project, ns("casbin CachedEnforcer.enforce (async, memoized)"))}`);
console.log(
  `ratio per request (build + check) project/CASL: ${ratio(ns("project: build set from roles + has"), ns("CASL: build Ability from roles + can"))}`,
);
console.log(`goal "a check at least as fast as CASL's": ${project <= casl ? "OK" : "MISSED"}`);

// ---------------------------------------------------------------------------------------------
// (b) The hooks on a trivial route, through the real app.
// ---------------------------------------------------------------------------------------------
const database = await createTestDatabase();
const config = loadConfig({ NODE_ENV: "test", APP_URL: "http://bench.test", LOG_LEVEL: "silent" });
const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
const params = z.object({ orgId: z.uuid() });
// Marks inside the request (requests run one at a time): these hooks are registered in the bench
// routes' own plugin, so Fastify runs them after the root instance's hooks, i.e. after the guard's
// onRequest (session) and preHandler (membership + permission).
const marks = { onRequest: 0, preHandler: 0 };
await app.register(
  async (api) => {
    api.addHook("onRequest", async () => {
      marks.onRequest = performance.now();
    });
    api.addHook("preHandler", async () => {
      marks.preHandler = performance.now();
    });
    const ok = async () => ({ ok: true });
    api.get("/orgs/:orgId/bench/public", { config: { access: access.public() }, schema: { params } }, ok);
    api.get("/orgs/:orgId/bench/signed-in", { config: { access: access.signedIn() }, schema: { params } }, ok);
    api.get("/orgs/:orgId/bench/member", { config: { access: access.member("members:read") }, schema: { params } }, ok);
  },
  { prefix: "/api/v1" },
);
await app.ready();

const signup = await app.inject({
  method: "POST",
  url: "/api/v1/auth/signup",
  headers: { origin: config.appUrl },
  payload: { email: "bench@example.com", password: "a long bench password", firstName: "Ben", lastName: "Bench" },
});
if (signup.statusCode !== 201) throw new Error(`signup: ${signup.statusCode} ${signup.body}`);
const token = (signup.cookies as { name: string; value: string }[]).find((c) => c.name === "chorus_session")!.value;
const userId = signup.json().id as string;
const auth = { authorization: `Bearer ${token}` };
const created = await app.inject({
  method: "POST",
  url: "/api/v1/orgs",
  headers: { ...auth, origin: config.appUrl },
  payload: { name: "Bench Org" },
});
if (created.statusCode !== 201) throw new Error(`create org: ${created.statusCode} ${created.body}`);
const orgId = created.json().id as string;

const variants = [
  { name: "public, no credentials", url: `/api/v1/orgs/${orgId}/bench/public`, headers: {} },
  { name: "signedIn (session lookup)", url: `/api/v1/orgs/${orgId}/bench/signed-in`, headers: auth },
  { name: 'member("members:read")', url: `/api/v1/orgs/${orgId}/bench/member`, headers: auth },
] as const;
type Variant = (typeof variants)[number];

// Over a real port: the same process serves and asks, one request at a time on one kept-alive
// socket (node:http's Agent; the `undici` package is not installed and fetch adds its own cost).
await app.listen({ host: "127.0.0.1", port: 0 });
const port = (app.server.address() as AddressInfo).port;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const overPort = (v: Variant) =>
  new Promise<number>((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: v.url, method: "GET", headers: v.headers, agent },
      (res) => {
        res.on("error", reject);
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.resume();
      },
    );
    req.on("error", reject);
    req.end();
  });
const viaInject = async (v: Variant) =>
  (await app.inject({ method: "GET", url: v.url, headers: v.headers })).statusCode;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const member50: number[] = [];

async function measure(transport: string, send: (v: Variant) => Promise<number>): Promise<void> {
  for (const v of variants) {
    for (let i = 0; i < 300; i++) {
      const status = await send(v);
      if (status !== 200) throw new Error(`${v.name}: ${status}`);
    }
  }
  const lat = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  /** Per variant: [start → guard's onRequest done, → guard's preHandler done, → response], µs. */
  const segs = new Map<string, [number[], number[], number[]]>(variants.map((v) => [v.name, [[], [], []]]));
  for (let r = 0; r < HTTP_ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length]!;
      const xs = lat.get(v.name)!;
      for (let i = 0; i < HTTP_BATCH; i++) {
        const t0 = performance.now();
        const status = await send(v);
        const t1 = performance.now();
        xs.push((t1 - t0) * 1000);
        if (status !== 200) throw new Error(`${v.name}: ${status}`);
        const [a, b, c] = segs.get(v.name)!;
        a.push((marks.onRequest - t0) * 1000);
        b.push((marks.preHandler - marks.onRequest) * 1000);
        c.push((t1 - marks.preHandler) * 1000);
      }
    }
  }
  const base = lat.get(variants[0].name)!;
  console.log(
    `\n(b) GET of a trivial route ({ok:true}) through ${transport} on ${database.kind}, ${HTTP_ROUNDS} interleaved rounds × ${HTTP_BATCH} requests per variant:`,
  );
  console.log("| access | p50 µs | mean µs | p95 µs | p50 vs public | mean vs public |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const v of variants) {
    const xs = lat.get(v.name)!;
    const r50 = pct(xs, 50) / pct(base, 50);
    const rm = mean(xs) / mean(base);
    console.log(
      `| ${v.name} | ${pct(xs, 50).toFixed(0)} | ${mean(xs).toFixed(0)} | ${pct(xs, 95).toFixed(0)} | ${r50.toFixed(2)}× (+${((r50 - 1) * 100).toFixed(0)}%) | ${rm.toFixed(2)}× (+${((rm - 1) * 100).toFixed(0)}%) |`,
    );
  }
  const member = lat.get(variants[2].name)!;
  member50.push(pct(member, 50) - pct(base, 50));
  const added = pct(member, 50) / pct(base, 50) - 1;
  console.log(
    `goal "hooks add < 15% to a trivial route" (p50): +${(added * 100).toFixed(0)}% ${added < 0.15 ? "OK" : "MISSED"}`,
  );
  console.log("\nInside the request (p50 µs of each segment, same requests):");
  console.log(
    "| access | start → after onRequest (routing + session) | → after preHandler (validation + membership) | → response (handler + serialize + onSend) |",
  );
  console.log("|---|---:|---:|---:|");
  for (const v of variants) {
    const [a, b, c] = segs.get(v.name)!;
    console.log(`| ${v.name} | ${pct(a, 50).toFixed(0)} | ${pct(b, 50).toFixed(0)} | ${pct(c, 50).toFixed(0)} |`);
  }
}
await measure("app.inject", viaInject);
await measure(`a real port (127.0.0.1:${port}, keep-alive)`, overPort);
agent.destroy();
// Where the time goes: the hooks' parts, each alone, on the same database.
const N = HTTP_ROUNDS * HTTP_BATCH;
const parts: { name: string; run: () => Promise<unknown> }[] = [
  {
    name: "resolveCaller: session + membership, one prepared query (member routes)",
    run: () => resolveCaller(database.db, token, orgId, config.sessionIdleTtlMs),
  },
  {
    name: "resolveCaller: session alone, prepared (signedIn routes)",
    run: () => resolveCaller(database.db, token, undefined, config.sessionIdleTtlMs),
  },
  {
    name: "loadMember alone, prepared (memberships⋈orgs⋈member_roles⋈roles)",
    run: () => loadMember(database.db, orgId, userId),
  },
  { name: "hashToken alone (sha256 of the bearer token)", run: async () => hashToken(token) },
  {
    name: "touchMemberActivity (skipped: active < 1 min ago)",
    run: async () => touchMemberActivity(database.db, { orgId, memberId: "", lastActiveAt: new Date() }),
  },
  { name: "database round trip alone (select 1)", run: () => database.ping() },
];
const partTimes = new Map<string, number[]>(parts.map((p) => [p.name, []]));
for (const p of parts) for (let i = 0; i < 200; i++) await p.run();
for (let r = 0; r < HTTP_ROUNDS; r++) {
  for (const p of parts) {
    const xs = partTimes.get(p.name)!;
    for (let i = 0; i < N / HTTP_ROUNDS; i++) {
      const t0 = performance.now();
      await p.run();
      xs.push((performance.now() - t0) * 1000);
    }
  }
}
console.log(`\nWhere the added time goes (each part alone, ${N} calls, interleaved):`);
console.log("| part | p50 µs | mean µs |");
console.log("|---|---:|---:|");
for (const p of parts) {
  const xs = partTimes.get(p.name)!;
  console.log(`| ${p.name} | ${pct(xs, 50).toFixed(0)} | ${mean(xs).toFixed(0)} |`);
}
console.log(
  `session + membership query: ${pct(partTimes.get(parts[0]!.name)!, 50).toFixed(0)} µs p50; measured added latency of member(): ${member50.map((x) => x.toFixed(0)).join(" µs (inject), ")} µs (port) p50; ` +
    `the permission check itself: ${(project / 1000).toFixed(3)} µs.`,
);

await app.close();
await app.ctx.outbox.stop();
await database.close();
console.log(`\n(sink ${sink})`);
