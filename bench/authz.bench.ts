// Authorization benchmark (issue: "a check at least as fast as CASL's, the hooks adding under 15%
// to a trivial route's latency"). Standalone: `npx tsx bench/authz.bench.ts` (or `npm run bench authz`).
//  (a) one permission check, in process: the project's PermissionSet (what the guard does with the
//      member loadMember built: `member.permissions.has(p)`) against @casl/ability (`ability.can`, one
//      Ability per role set) and casbin (RBAC model, the seven roles as policy lines, `enforce`).
//      The three are first checked to agree on every (member role set, permission) pair.
//  (b) the latency the authentication + authorization hooks add to a trivial route, through the
//      real app: the same handler registered public / signedIn / member("members:read"), on an app
//      with the authorization cache on (the default) and on a second instance built the same way with
//      AUTHZ_CACHE=off on the same database; all variants interleaved in rounds, first through
//      app.inject, then over a real port (127.0.0.1, one kept-alive connection per instance,
//      sequential requests). The cache's hit/miss counts are printed per variant.
//  (b') the write barrier: the same trivial handler behind POST (public and member), cache on (the
//      onSend hook awaits bus.barrier(): on PostgreSQL a ping NOTIFY acked by every leaseholder, on
//      PGlite a no-op) against AUTHZ_CACHE=off (no barrier); on PostgreSQL again with a second
//      cache-on instance on the same database (two leaseholders must ack).
//  Then the parts of the hooks timed alone (resolveCaller cold and warm, membership load, hashing,
//  the barrier).
// Database: an in-memory PGlite; with TEST_DATABASE_URL=postgres://… a fresh database on that server
// (dropped at the end), exactly as the tests do.
// Knobs: BENCH_ROUNDS (default 9, in-process), BENCH_HTTP_ROUNDS (default 30), BENCH_HTTP_BATCH (default 50).

import http from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { AbilityBuilder, createMongoAbility, type MongoAbility } from "@casl/ability";
import { type Enforcer, newCachedEnforcer, newEnforcer, newModelFromString, StringAdapter } from "casbin";
import { sql } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { z } from "zod";
import { buildApp } from "../src/server/app.js";
import { AuthzCache } from "../src/server/authz/cache.js";
import { type Config, loadConfig } from "../src/server/config.js";
import { access } from "../src/server/http/access.js";
import { resolveCaller } from "../src/server/http/caller.js";
import { hashToken } from "../src/server/lib/tokens.js";
import { sessionTtlOf } from "../src/server/modules/auth/sessions.js";
import { loadMember, memberActivityDue } from "../src/server/modules/members/load-member.js";
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
const baseEnv = { NODE_ENV: "test", APP_URL: "http://bench.test", LOG_LEVEL: "silent" };
const config = loadConfig(baseEnv);
const configOff = loadConfig({ ...baseEnv, AUTHZ_CACHE: "off" });
if (!config.authzCache || configOff.authzCache) throw new Error("AUTHZ_CACHE is not read as expected");
const params = z.object({ orgId: z.uuid() });
// Marks inside the request (requests run one at a time): these hooks are registered in the bench
// routes' own plugin, so Fastify runs them after the root instance's hooks, i.e. after the guard's
// onRequest (session) and preHandler (membership + permission).
const marks = { onRequest: 0, preHandler: 0 };
/** An app as main.ts builds it (same database), plus the trivial bench routes. */
async function benchApp(cfg: Config, withRoutes = true): Promise<FastifyInstance> {
  const a = await buildApp({ config: cfg, database, logger: pino({ level: "silent" }) });
  if (withRoutes) {
    await a.register(
      async (api) => {
        api.addHook("onRequest", async () => {
          marks.onRequest = performance.now();
        });
        api.addHook("preHandler", async () => {
          marks.preHandler = performance.now();
        });
        const ok = async () => ({ ok: true });
        const pub = { config: { access: access.public() }, schema: { params } };
        const mem = { config: { access: access.member("members:read") }, schema: { params } };
        api.get("/orgs/:orgId/bench/public", pub, ok);
        api.get("/orgs/:orgId/bench/signed-in", { config: { access: access.signedIn() }, schema: { params } }, ok);
        api.get("/orgs/:orgId/bench/member", mem, ok);
        // State-changing twins: answered 200 under 400, so installWriteBarrier's onSend awaits the barrier.
        api.post("/orgs/:orgId/bench/public-write", pub, ok);
        api.post("/orgs/:orgId/bench/member-write", mem, ok);
      },
      { prefix: "/api/v1" },
    );
    // The same trivial route outside /api: the guard's hooks run but return at once (nothing
    // declared), so with the same request (Bearer header included) this is "the route without them".
    await a.register(
      async (plain) => {
        plain.addHook("onRequest", async () => {
          marks.onRequest = performance.now();
        });
        plain.addHook("preHandler", async () => {
          marks.preHandler = performance.now();
        });
        plain.get("/orgs/:orgId/bench/member", { schema: { params } }, async () => ({ ok: true }));
      },
      { prefix: "/no-guard" },
    );
  }
  await a.ready();
  return a;
}
// The default configuration (cache on) and a second instance with AUTHZ_CACHE=off on the same database.
const app = await benchApp(config);
const appOff = await benchApp(configOff);

const signup = await app.inject({
  method: "POST",
  url: "/api/v1/auth/signup",
  headers: { origin: config.appUrl },
  payload: { email: "bench@example.com", password: "a long bench password", firstName: "Ben", lastName: "Bench" },
});
if (signup.statusCode !== 201) throw new Error(`signup: ${signup.statusCode} ${signup.body}`);
const token = (signup.cookies as { name: string; value: string }[]).find((c) => c.name === "chorus_session")!.value;
const userId = signup.json().id as string;
// Bearer, not the cookie: the guard's CSRF check then needs no Origin header on writes.
const auth = { authorization: `Bearer ${token}` };
const created = await app.inject({
  method: "POST",
  url: "/api/v1/orgs",
  headers: { ...auth, origin: config.appUrl },
  payload: { name: "Bench Org" },
});
if (created.statusCode !== 201) throw new Error(`create org: ${created.statusCode} ${created.body}`);
const orgId = created.json().id as string;

/** Live leases in authz_instances: the instances a barrier waits for (PostgreSQL only). */
async function leaseholders(): Promise<number> {
  if (database.kind !== "postgres") return 0;
  const res = (await database.db.execute(
    sql`select count(*)::int as n from authz_instances where lease_until > now()`,
  )) as unknown as { rows: { n: number }[] };
  return res.rows[0]!.n;
}
console.log(
  `\nDatabase: ${database.kind}. Instances: cache on (bus trusted: ${app.ctx.authz.bus.trusted()}), ` +
    `AUTHZ_CACHE=off (bus trusted: ${appOff.ctx.authz.bus.trusted()})` +
    (database.kind === "postgres" ? `; leaseholders in authz_instances: ${await leaseholders()}.` : "."),
);

interface Variant {
  name: string;
  app: FastifyInstance;
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  /** Not a request: a direct call timed the same way (no marks). */
  call?: () => Promise<unknown>;
}
const at = (path: string) => `/api/v1/orgs/${orgId}/bench/${path}`;
const get = (name: string, a: FastifyInstance, path: string, headers: Record<string, string> = auth): Variant => ({
  name,
  app: a,
  method: "GET",
  url: at(path),
  headers,
});
const post = (name: string, a: FastifyInstance, path: string, headers: Record<string, string> = auth): Variant => ({
  name,
  app: a,
  method: "POST",
  url: at(path),
  headers,
});

const readVariants: Variant[] = [
  {
    name: "same request, no authorization (route outside /api, Bearer header sent)",
    app,
    method: "GET",
    url: `/no-guard/orgs/${orgId}/bench/member`,
    headers: auth,
  },
  get("public, no credentials", app, "public", {}),
  get("signedIn (session), cache on", app, "signed-in"),
  get('member("members:read"), cache on', app, "member"),
  get("signedIn (session), AUTHZ_CACHE=off", appOff, "signed-in"),
  get('member("members:read"), AUTHZ_CACHE=off', appOff, "member"),
  get("public, AUTHZ_CACHE=off instance (control)", appOff, "public", {}),
];
const READ_BASE = readVariants[0]!.name;
const READ_MEMBER_ON = readVariants[3]!.name;
const READ_MEMBER_OFF = readVariants[5]!.name;

const writeVariants = (suffix: string): Variant[] => [
  post(`public write, AUTHZ_CACHE=off (no barrier)${suffix}`, appOff, "public-write", {}),
  post(`public write, cache on (barrier)${suffix}`, app, "public-write", {}),
  post(`member write, AUTHZ_CACHE=off (no barrier)${suffix}`, appOff, "member-write"),
  post(`member write, cache on (cache + barrier)${suffix}`, app, "member-write"),
  {
    name: `bus.barrier() alone, cache on${suffix}`,
    app,
    method: "POST",
    url: "",
    headers: {},
    call: () => app.ctx.authz.bus.barrier(),
  },
];

// Over a real port: the same process serves and asks, one request at a time on one kept-alive
// socket per instance (node:http's Agent; the `undici` package is not installed and fetch adds its own cost).
const servers = new Map<FastifyInstance, { port: number; agent: http.Agent }>();
for (const a of [app, appOff]) {
  await a.listen({ host: "127.0.0.1", port: 0 });
  servers.set(a, {
    port: (a.server.address() as AddressInfo).port,
    agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
  });
}
const overPort = (v: Variant) =>
  new Promise<number>((resolve, reject) => {
    const { port, agent } = servers.get(v.app)!;
    const headers = v.method === "GET" ? v.headers : { ...v.headers, "content-length": "0" };
    const req = http.request({ host: "127.0.0.1", port, path: v.url, method: v.method, headers, agent }, (res) => {
      res.on("error", reject);
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.resume();
    });
    req.on("error", reject);
    req.end();
  });
const viaInject = async (v: Variant) =>
  (await v.app.inject({ method: v.method, url: v.url, headers: v.headers })).statusCode;
type Transport = { name: string; send: (v: Variant) => Promise<number> };
const INJECT: Transport = { name: "app.inject", send: viaInject };
const PORT: Transport = { name: "a real port (127.0.0.1, keep-alive)", send: overPort };

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sign = (x: number) => `${x < 0 ? "−" : "+"}${Math.abs(x * 100).toFixed(0)}%`;
const vs = (a: number, b: number) => `${(a / b).toFixed(2)}× (${sign(a / b - 1)})`;

interface Result {
  lat: number[];
  /** [start → guard's onRequest done, → guard's preHandler done, → response], µs. */
  segs: [number[], number[], number[]];
  hits: number;
  misses: number;
}

/** Warm-up, then HTTP_ROUNDS rounds, each sending HTTP_BATCH requests per variant in rotating order. */
async function measure(variants: Variant[], t: Transport): Promise<Map<string, Result>> {
  const send = async (v: Variant) => {
    if (!v.call) return t.send(v);
    await v.call();
    return 200;
  };
  for (const v of variants) {
    for (let i = 0; i < 300; i++) {
      const status = await send(v);
      if (status !== 200) throw new Error(`${v.name}: ${status}`);
    }
  }
  const res = new Map<string, Result>(
    variants.map((v) => [v.name, { lat: [], segs: [[], [], []], hits: 0, misses: 0 }]),
  );
  for (let r = 0; r < HTTP_ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length]!;
      const out = res.get(v.name)!;
      const stats = v.app.ctx.authz.cache.stats;
      const hits0 = stats.hits;
      const misses0 = stats.misses;
      for (let i = 0; i < HTTP_BATCH; i++) {
        marks.onRequest = marks.preHandler = Number.NaN;
        const t0 = performance.now();
        const status = await send(v);
        const t1 = performance.now();
        out.lat.push((t1 - t0) * 1000);
        if (status !== 200) throw new Error(`${v.name}: ${status}`);
        if (v.call) continue;
        const [a, b, c] = out.segs;
        a.push((marks.onRequest - t0) * 1000);
        b.push((marks.preHandler - marks.onRequest) * 1000);
        c.push((t1 - marks.preHandler) * 1000);
      }
      out.hits += stats.hits - hits0;
      out.misses += stats.misses - misses0;
    }
  }
  return res;
}

function printTable(title: string, variants: Variant[], res: Map<string, Result>, baseName: string): void {
  const base = res.get(baseName)!.lat;
  console.log(`\n${title}`);
  console.log(`| variant | p50 µs | mean µs | p95 µs | p50 vs ${baseName} | mean vs it | cache hits / misses |`);
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const v of variants) {
    const r = res.get(v.name)!;
    const xs = r.lat;
    console.log(
      `| ${v.name} | ${pct(xs, 50).toFixed(0)} | ${mean(xs).toFixed(0)} | ${pct(xs, 95).toFixed(0)} | ` +
        `${vs(pct(xs, 50), pct(base, 50))} | ${vs(mean(xs), mean(base))} | ${r.hits} / ${r.misses} |`,
    );
  }
  console.log("\nInside the request (p50 µs of each segment, same requests):");
  console.log(
    "| variant | start → after onRequest (routing + session) | → after preHandler (validation + membership) | → response (handler + serialize + onSend, barrier) |",
  );
  console.log("|---|---:|---:|---:|");
  for (const v of variants) {
    if (v.call) continue;
    const [a, b, c] = res.get(v.name)!.segs;
    console.log(`| ${v.name} | ${pct(a, 50).toFixed(0)} | ${pct(b, 50).toFixed(0)} | ${pct(c, 50).toFixed(0)} |`);
  }
}

const perRequest = (r: Result) =>
  `${r.hits} hits, ${r.misses} misses over ${r.lat.length} requests (${(r.hits / r.lat.length).toFixed(2)} hits/request)`;
const addedMember: { transport: string; on: number; off: number }[] = [];
const rounds = `${HTTP_ROUNDS} interleaved rounds × ${HTTP_BATCH} requests per variant`;
for (const t of [INJECT, PORT]) {
  const res = await measure(readVariants, t);
  printTable(
    `(b) GET of a trivial route ({ok:true}) through ${t.name} on ${database.kind}, ${rounds}:`,
    readVariants,
    res,
    READ_BASE,
  );
  const base = pct(res.get(READ_BASE)!.lat, 50);
  const on = pct(res.get(READ_MEMBER_ON)!.lat, 50);
  const off = pct(res.get(READ_MEMBER_OFF)!.lat, 50);
  addedMember.push({ transport: t.name, on: on - base, off: off - base });
  const added = on / base - 1;
  console.log(
    `\ngoal "hooks add < 15% to a trivial route" (p50, member("members:read") with the cache on, the default, ` +
      `against the same request to the same handler without authorization): ` +
      `${sign(added)} ${added < 0.15 ? "OK" : "MISSED"}; with AUTHZ_CACHE=off: ${sign(off / base - 1)}`,
  );
  console.log(`cache during the member rounds, cache on: ${perRequest(res.get(READ_MEMBER_ON)!)}`);
  console.log(`cache during the member rounds, AUTHZ_CACHE=off: ${perRequest(res.get(READ_MEMBER_OFF)!)}`);
}

// The write barrier: the same trivial handler behind POST. With the cache on, installWriteBarrier's
// onSend awaits bus.barrier() (PostgreSQL: a ping NOTIFY and an ack from every leaseholder; PGlite: no-op).
const WRITE_BASE = writeVariants("")[0]!.name;
for (const t of [INJECT, PORT]) {
  const variants = writeVariants("");
  const res = await measure(variants, t);
  printTable(
    `(b') POST of a trivial route ({ok:true}) through ${t.name} on ${database.kind}` +
      (database.kind === "postgres" ? `, ${await leaseholders()} leaseholder(s)` : "") +
      `, ${rounds}:`,
    variants,
    res,
    WRITE_BASE,
  );
}
if (database.kind === "postgres") {
  // A second instance with the cache on (no requests of its own): every barrier now needs its ack too.
  const peer = await benchApp(config, false);
  const n = await leaseholders();
  const variants = writeVariants(", 2 leaseholders");
  const res = await measure(variants, PORT);
  printTable(
    `(b'') POST through ${PORT.name} on postgres with a second cache-on instance on the same database (${n} leaseholders), ${rounds}:`,
    variants,
    res,
    variants[0]!.name,
  );
  await peer.close();
}
for (const { agent } of servers.values()) agent.destroy();

// Where the time goes: the hooks' parts, each alone, on the same database.
const N = HTTP_ROUNDS * HTTP_BATCH;
/** Never trusted: every lookup misses and nothing is stored, so resolveCaller reads the database (the cold path). */
const coldCache = new AuthzCache(() => false);
const warmCache = app.ctx.authz.cache;
const parts: { name: string; run: () => unknown }[] = [
  {
    name: "resolveCaller, cold (cache never trusted): session + membership, one prepared query (member routes)",
    run: () => resolveCaller(database.db, coldCache, token, orgId, sessionTtlOf(config)),
  },
  {
    name: "resolveCaller, cold: session alone, prepared (signedIn routes)",
    run: () => resolveCaller(database.db, coldCache, token, undefined, sessionTtlOf(config)),
  },
  {
    name: "resolveCaller, warm (the app's cache, a hit: no query): session + membership",
    run: () => resolveCaller(database.db, warmCache, token, orgId, sessionTtlOf(config)),
  },
  {
    name: "resolveCaller, warm: session alone",
    run: () => resolveCaller(database.db, warmCache, token, undefined, sessionTtlOf(config)),
  },
  {
    name: "loadMember alone, prepared (memberships⋈orgs⋈member_roles⋈roles)",
    run: () => loadMember(database.db, orgId, userId),
  },
  { name: "hashToken alone (sha256 of the bearer token)", run: async () => hashToken(token) },
  {
    name: "memberActivityDue (no write: active < 1 min ago)",
    run: async () => memberActivityDue({ lastActiveAt: new Date() }),
  },
  { name: "database round trip alone (select 1)", run: () => database.ping() },
  {
    name: `bus.barrier() alone, cache on (${database.kind === "postgres" ? `${await leaseholders()} leaseholder(s)` : "PGlite: no-op"})`,
    run: () => app.ctx.authz.bus.barrier(),
  },
];
const partTimes = new Map<string, number[]>(parts.map((p) => [p.name, []]));
for (const p of parts) for (let i = 0; i < 200; i++) await p.run();
const warm0 = { ...warmCache.stats };
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
console.log(`\nWhere the added time goes (each part alone, ${N} calls, interleaved, on ${database.kind}):`);
console.log("| part | p50 µs | mean µs |");
console.log("|---|---:|---:|");
for (const p of parts) {
  const xs = partTimes.get(p.name)!;
  console.log(`| ${p.name} | ${pct(xs, 50).toFixed(1)} | ${mean(xs).toFixed(1)} |`);
}
console.log(
  `warm cache during the parts: ${warmCache.stats.hits - warm0.hits} hits, ${warmCache.stats.misses - warm0.misses} misses ` +
    `(3 lookups per pair of warm calls); cold cache: ${coldCache.stats.hits} hits, ${coldCache.stats.misses} misses.`,
);
const p50 = (i: number) => pct(partTimes.get(parts[i]!.name)!, 50).toFixed(1);
console.log(
  `resolveCaller for a member route: ${p50(0)} µs p50 cold (one query), ${p50(2)} µs warm (no query); ` +
    `measured added latency of member() p50, cache on / AUTHZ_CACHE=off: ` +
    addedMember.map((m) => `${m.on.toFixed(0)} / ${m.off.toFixed(0)} µs (${m.transport})`).join(", ") +
    `; the permission check itself: ${(project / 1000).toFixed(3)} µs.`,
);

await app.close();
await appOff.close();
await database.close();

// (c) The cache's memory: 100,000 sessions and 100,000 memberships with realistic strings,
// measured as heap growth after full collections, and what that makes at the configured bound.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapNow = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const ENTRIES = 100_000;
const memCache = new AuthzCache(() => true, ENTRIES);
const heap0 = heapNow();
for (let i = 0; i < ENTRIES; i++) {
  const user = crypto.randomUUID();
  memCache.putSession(memCache.ticket(), hashToken(`token-${i}`), {
    sessionId: crypto.randomUUID(),
    user: {
      id: user,
      email: `person.${i}@example-company.com`,
      firstName: `First${i}`,
      lastName: `Last${i}`,
      language: "en",
      emailVerified: true,
      twoFactorEnabled: i % 3 === 0,
    },
    twoFactorVerified: i % 3 === 0,
    lastUsedAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
    endsAt: Date.now() + 3_600_000,
  });
}
const heap1 = heapNow();
const orgIds = Array.from({ length: 1000 }, () => crypto.randomUUID());
for (let i = 0; i < ENTRIES; i++) {
  const orgId = orgIds[i % orgIds.length]!;
  const userId = crypto.randomUUID();
  const roleIds = memberRoles[i % memberRoles.length]!;
  memCache.putMember(memCache.ticket(), orgId, userId, {
    orgId,
    memberId: crypto.randomUUID(),
    userId,
    isOwner: false,
    firstName: `First${i}`,
    lastName: `Last${i}`,
    roleIds: [...roleIds],
    permissions: effectivePermissions(false, [projectSets[i % projectSets.length]!]),
    requireTwoFactor: false,
    lastActiveAt: new Date(),
  });
}
const heap2 = heapNow();
if (memCache.size.sessions !== ENTRIES || memCache.size.members !== ENTRIES)
  throw new Error("cache did not keep them all");
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
console.log(`\n(c) Authorization cache memory, ${ENTRIES.toLocaleString("en")} entries of each kind (heap growth):`);
console.log("| entries | MB | bytes / entry |");
console.log("|---|---:|---:|");
console.log(`| sessions (with their user) | ${mb(heap1 - heap0)} | ${((heap1 - heap0) / ENTRIES).toFixed(0)} |`);
console.log(
  `| memberships (with roles and permissions) | ${mb(heap2 - heap1)} | ${((heap2 - heap1) / ENTRIES).toFixed(0)} |`,
);
const bound = config.authzCacheSize;
console.log(
  `| both, at the bound AUTHZ_CACHE_SIZE=${bound.toLocaleString("en")} (each) | ${mb(((heap2 - heap0) * bound) / ENTRIES)} | |`,
);
console.log(`\n(sink ${sink})`);
