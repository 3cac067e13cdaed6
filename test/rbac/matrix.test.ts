// The route × caller matrix. Every route the app registers under /api/ (read from the
// route registry, so a route added tomorrow is in the matrix without editing this file)
// is called by every kind of caller, and the answer must be the one its access
// declaration and the permission catalogue predict:
//   public     → the guard never refuses (no 401 unauthenticated/session_expired);
//   signedIn   → anonymous: 401; everyone signed in passes the guard;
//   member(…)  → anonymous: 401; signed-in non-member: 404 org_not_found; a member lacking a
//                declared permission: 403 permission_denied naming the first one missing;
//                not the owner on an owner route: 403 owner_only; otherwise the guard passes
//                (whatever the handler then answers: 2xx, 404 of an unknown id, 409 …).
// Requests are built from each route's own Zod schemas (params, querystring, body) so that
// they VALIDATE: validation runs before the membership check (preHandler), so a 400
// validation_failed would hide the guard's answer. Such a cell is inconclusive and fails the
// test: give the route a valid request in REQUEST_OVERRIDES instead.
// No answer may be a 500. Each route gets a fresh organization and fresh callers, so what
// one route does (leave, logout, delete the organization) cannot colour another's answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Access } from "../../src/server/http/access.js";
import { type RegisteredRoute, registeredRoutes } from "../../src/server/http/route-registry.js";
import {
  effectivePermissions,
  type Permission,
  PermissionSet,
  SYSTEM_ROLE_IDS,
  systemRolePermissions,
} from "../../src/shared/permissions.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { as, insertCustomRole, makeMember, makeOrg, makeUser, type RbacUser } from "../helpers/rbac.js";

/** The custom role of the matrix: a little of several groups. */
const CUSTOM_PERMISSIONS: Permission[] = [
  "members:read",
  "roles:read",
  "templates:read",
  "chats:read_all",
  "audit:read",
];

const ZERO_UUID = "00000000-0000-4000-8000-000000000000";

interface Caller {
  name: string;
  kind: "anonymous" | "outsider" | "member";
  isOwner?: boolean;
  roleIds?: string[];
  permissions?: PermissionSet;
}

/**
 * Requests for routes whose schemas the generator cannot satisfy. Key: "METHOD /url".
 * Values replace the generated part; `orgId` is filled in by the matrix.
 */
const REQUEST_OVERRIDES: Record<
  string,
  { params?: Record<string, string>; query?: Record<string, string>; body?: unknown; headers?: Record<string, string> }
> = {
  // An event stream never ends (app.inject would wait for ever): asking for JSON gets the plugin's
  // 406 once the guard has let the caller through; test/realtime streams it over a socket.
  "GET /api/v1/orgs/:orgId/events": { headers: { accept: "application/json" } },
  "POST /api/v1/orgs/:orgId/notifications/read": { body: { all: true } },
  // Either a selection or a filter, never both: the generator fills every optional field.
  "POST /api/v1/orgs/:orgId/contacts/bulk": { body: { action: "delete", contactIds: [ZERO_UUID] } },
  // The import's body is a CSV document, not JSON.
  "POST /api/v1/orgs/:orgId/contacts/import": {
    body: "phone,name\n+15550100001,Matrix\n",
    headers: { "content-type": "text/csv" },
  },
  // Meta's ids are digits; a simulator channel needs no ids or secrets.
  "POST /api/v1/orgs/:orgId/channels": {
    body: { name: "Matrix", mode: "simulator", displayPhoneNumber: "+1 555 010 0000" },
  },
  "PATCH /api/v1/orgs/:orgId/channels/:channelId": { body: { name: "Matrix" } },
  // A strict partial: the generator's every-optional-field body would be valid, one field is enough.
  "PATCH /api/v1/orgs/:orgId/settings": { body: { defaultLanguage: "es" } },
  // Template components are checked as Meta does (a body, examples per variable): a minimal valid one.
  "POST /api/v1/orgs/:orgId/templates": {
    body: {
      channelId: ZERO_UUID,
      name: "matrix",
      language: "en_US",
      category: "UTILITY",
      components: [{ type: "BODY", text: "Matrix" }],
    },
  },
  "PATCH /api/v1/orgs/:orgId/templates/:templateId": { body: { category: "UTILITY" } },
  "POST /api/v1/orgs/:orgId/templates/:templateId/preview": { body: { variables: {} } },
  "GET /api/v1/orgs/:orgId/templates": { query: {} },
  // A period whose end is after its start.
  "GET /api/v1/orgs/:orgId/analytics/chats": { query: { from: "2026-03-01", to: "2026-03-31" } },
  "GET /api/v1/orgs/:orgId/analytics/chats/export": { query: { from: "2026-03-01", to: "2026-03-31" } },
};

type Outcome =
  | { kind: "pass" }
  | { kind: "401" }
  | { kind: "404" }
  | { kind: "403"; code: "permission_denied" | "owner_only"; missing?: Permission };

function expected(access: Access, caller: Caller): Outcome {
  if (access.kind === "public") return { kind: "pass" };
  if (caller.kind === "anonymous") return { kind: "401" };
  if (access.kind === "signedIn") return { kind: "pass" };
  if (caller.kind === "outsider") return { kind: "404" };
  if (access.ownerOnly && !caller.isOwner) return { kind: "403", code: "owner_only" };
  const held = caller.permissions ?? PermissionSet.empty();
  const missing = access.permissions.find((p) => !held.has(p));
  return missing ? { kind: "403", code: "permission_denied", missing } : { kind: "pass" };
}

const GUARD_401 = new Set(["unauthenticated", "session_expired"]);
const GUARD_403 = new Set(["permission_denied", "owner_only", "two_factor_required"]);

function observed(status: number, body: { code?: string; missingPermission?: string }): Outcome | "invalid" {
  if (status === 400 && body.code === "validation_failed") return "invalid";
  if (status === 401 && GUARD_401.has(body.code ?? "")) return { kind: "401" };
  if (status === 404 && body.code === "org_not_found") return { kind: "404" };
  if (status === 403 && GUARD_403.has(body.code ?? "")) {
    return {
      kind: "403",
      code: body.code as "permission_denied",
      ...(body.missingPermission ? { missing: body.missingPermission as Permission } : {}),
    };
  }
  return { kind: "pass" };
}

// --- requests from the routes' own schemas ---------------------------------------------

type Json = Record<string, unknown>;

function sample(schema: Json, root: Json, full: boolean, name = ""): unknown {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.split("/").pop() as string;
    const defs = (root.$defs ?? root.definitions ?? {}) as Record<string, Json>;
    return sample(defs[name] ?? {}, root, full);
  }
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  for (const k of ["anyOf", "oneOf"] as const) {
    const options = schema[k] as Json[] | undefined;
    if (options) return sample(options.find((o) => o.type !== "null") ?? options[0]!, root, full);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...(schema.allOf as Json[]).map((s) => sample(s, root, full) as object));
  }
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((x) => x !== "null") : schema.type;
  switch (type) {
    case "object": {
      const props = (schema.properties ?? {}) as Record<string, Json>;
      const required = new Set((schema.required ?? []) as string[]);
      const out: Json = {};
      for (const [k, s] of Object.entries(props)) if (full || required.has(k)) out[k] = sample(s, root, full, k);
      return out;
    }
    case "array": {
      const n = (schema.minItems as number | undefined) ?? 0;
      return Array.from({ length: n }, () => sample((schema.items ?? {}) as Json, root, full));
    }
    case "string": {
      // Piped string schemas (e.g. trim → email) lose their format in the input JSON schema: go by name.
      if (/email/i.test(name) && !schema.format) return `matrix.${Math.random().toString(36).slice(2, 10)}@example.com`;
      if (/^(code|totp)$/i.test(name)) return "123456";
      switch (schema.format) {
        case "email":
          return `matrix.${Math.random().toString(36).slice(2, 10)}@example.com`;
        case "uuid":
          return ZERO_UUID;
        case "date-time":
          return new Date().toISOString();
        case "uri":
        case "url":
          return "https://example.com/x.png";
      }
      const min = (schema.minLength as number | undefined) ?? 1;
      // Long enough for passwords, short enough for names; digits keep code-like fields happy.
      return "Matrix1234".repeat(Math.ceil(Math.max(min, 10) / 10)).slice(0, Math.max(min, 10));
    }
    case "integer":
    case "number":
      return (schema.minimum as number | undefined) ?? 1;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return {};
  }
}

/**
 * Schemas the JSON Schema conversion cannot see into (unions checked in code, preprocess):
 * fill the fields Zod reports missing, by their expected type and name, a few rounds.
 */
function repair(schema: z.ZodType, start: unknown): unknown {
  const value = structuredClone(start ?? {});
  for (let round = 0; round < 8; round++) {
    const parsed = schema.safeParse(value);
    if (parsed.success) return value;
    const missing = parsed.error.issues.filter(
      (i) => i.code === "invalid_type" && i.path.length > 0 && /received undefined/.test(i.message),
    );
    if (!missing.length || typeof value !== "object" || value === null) return value;
    for (const issue of missing) {
      const expectedType = (issue as { expected?: string }).expected ?? "string";
      const key = String(issue.path[issue.path.length - 1]);
      let target = value as Record<string, unknown>;
      for (const p of issue.path.slice(0, -1)) {
        target[String(p)] ??= {};
        target = target[String(p)] as Record<string, unknown>;
      }
      target[key] = sample({ type: expectedType }, {}, false, key);
    }
  }
  return value;
}

/** A value that the Zod schema accepts: required fields first, then every field. */
function validSample(zodSchema: unknown, what: string): unknown {
  if (!zodSchema) return undefined;
  const schema = zodSchema as z.ZodType;
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
  let problem = "";
  // Required fields only; then required plus one optional field at a time ("at least one of",
  // "either a or b" refinements); then every field.
  const required = sample(json, json, false);
  const all = sample(json, json, true);
  const candidates: unknown[] = [required];
  if (required && all && typeof required === "object" && typeof all === "object" && !Array.isArray(all)) {
    for (const [k, v] of Object.entries(all)) if (!(k in required)) candidates.push({ ...required, [k]: v });
  }
  candidates.push(all);
  for (const start of candidates) {
    const candidate = repair(schema, start);
    const parsed = schema.safeParse(candidate);
    if (parsed.success) return candidate;
    problem = `${JSON.stringify(candidate)}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`;
  }
  throw new Error(`cannot build a valid ${what} (${problem}): add it to REQUEST_OVERRIDES`);
}

interface BuiltRequest {
  url: string;
  body: unknown;
  headers?: Record<string, string>;
}

function buildRequest(route: RegisteredRoute, orgId: string): BuiltRequest {
  const key = `${route.method} ${route.url}`;
  const o = REQUEST_OVERRIDES[key] ?? {};
  const s = (route.schema ?? {}) as { params?: unknown; querystring?: unknown; body?: unknown };
  const params = { ...((validSample(s.params, `params of ${key}`) as Record<string, string>) ?? {}), ...o.params };
  if ("orgId" in params || route.url.includes(":orgId")) params.orgId = orgId;
  const url = route.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(String(params[name])));
  const query = { ...((validSample(s.querystring, `query of ${key}`) as Record<string, unknown>) ?? {}), ...o.query };
  const qs = new URLSearchParams(
    Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, String(v)]),
  ).toString();
  const body = o.body ?? validSample(s.body, `body of ${key}`);
  return {
    url: qs ? `${url}?${qs}` : url,
    body: body ?? (route.method === "GET" || route.method === "DELETE" ? undefined : {}),
    ...(o.headers ? { headers: o.headers } : {}),
  };
}

// --- the matrix ------------------------------------------------------------------------

let t: TestApp;
let routes: RegisteredRoute[] = [];

beforeAll(async () => {
  t = await createTestApp();
  routes = registeredRoutes(t.app)
    .filter((r) => r.url.startsWith("/api/") && r.method !== "HEAD")
    .sort((a, b) => `${a.url} ${a.method}`.localeCompare(`${b.url} ${b.method}`));
});
afterAll(async () => {
  await t?.close();
});

const CALLER_NAMES = ["anonymous", "non-member", "no role", ...SYSTEM_ROLE_IDS, "custom role", "owner"];

async function callers(): Promise<{ caller: Caller; user: RbacUser | null; orgId: string }[]> {
  const db = t.database.db;
  const org = await makeOrg(db, "Matrix");
  const custom = await insertCustomRole(db, org.orgId, CUSTOM_PERMISSIONS, "Matrix custom");
  const list: { caller: Caller; user: RbacUser | null; orgId: string }[] = [
    { caller: { name: "anonymous", kind: "anonymous" }, user: null, orgId: org.orgId },
    { caller: { name: "non-member", kind: "outsider" }, user: await makeUser(db), orgId: org.orgId },
    {
      caller: { name: "no role", kind: "member", roleIds: [], permissions: PermissionSet.empty() },
      user: await makeMember(db, org.orgId, []),
      orgId: org.orgId,
    },
  ];
  for (const id of SYSTEM_ROLE_IDS) {
    list.push({
      caller: {
        name: id,
        kind: "member",
        roleIds: [id],
        permissions: effectivePermissions(false, [systemRolePermissions(id)!]),
      },
      user: await makeMember(db, org.orgId, [id]),
      orgId: org.orgId,
    });
  }
  list.push({
    caller: {
      name: "custom role",
      kind: "member",
      roleIds: [custom],
      permissions: PermissionSet.of(CUSTOM_PERMISSIONS),
    },
    user: await makeMember(db, org.orgId, [custom]),
    orgId: org.orgId,
  });
  // The owner goes last: an owner-only route (delete the organization) may end the fixture.
  list.push({
    caller: { name: "owner", kind: "member", isOwner: true, permissions: PermissionSet.all() },
    user: org.owner,
    orgId: org.orgId,
  });
  return list;
}

describe("route × caller matrix", () => {
  it("every /api/ route declares its access (deny by default)", () => {
    expect(routes.length).toBeGreaterThan(5);
    const undeclared = routes.filter((r) => !r.access).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    expect(CALLER_NAMES).toHaveLength(12);
  });

  it("the roles routes are in the matrix with the declarations of the issue", () => {
    const declared = Object.fromEntries(routes.map((r) => [`${r.method} ${r.url}`, r.access]));
    expect(declared["GET /api/v1/permissions"]).toEqual({ kind: "signedIn" });
    expect(declared["GET /api/v1/orgs/:orgId/roles"]).toMatchObject({ kind: "member", permissions: ["roles:read"] });
    expect(declared["GET /api/v1/orgs/:orgId/roles/:roleId"]).toMatchObject({ permissions: ["roles:read"] });
    for (const m of [
      "POST /api/v1/orgs/:orgId/roles",
      "PATCH /api/v1/orgs/:orgId/roles/:roleId",
      "DELETE /api/v1/orgs/:orgId/roles/:roleId",
    ]) {
      expect(declared[m], m).toMatchObject({ kind: "member", permissions: ["roles:manage"], ownerOnly: false });
    }
  });

  it("answers every route for every caller as the declaration and the catalogue predict", async () => {
    const failures: string[] = [];
    let cells = 0;
    let readFixture: Awaited<ReturnType<typeof callers>> | null = null;
    const tally = { pass: 0, "401": 0, "403": 0, "404": 0 };
    const report: string[] = [`route | ${CALLER_NAMES.join(" | ")}`];
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      // Reads change nothing: they share one fixture; every write gets a fresh one.
      if (route.method !== "GET" || !readFixture) readFixture = await callers();
      const fixture = readFixture;
      if (route.method !== "GET") readFixture = null;
      const row: string[] = [];
      for (const { caller, user, orgId } of fixture) {
        let req: BuiltRequest;
        try {
          req = buildRequest(route, orgId);
        } catch (err) {
          failures.push(`${key}: ${(err as Error).message}`);
          break;
        }
        const res = await as(t, user).request(
          route.method,
          req.url,
          req.body as Record<string, unknown> | undefined,
          req.headers,
        );
        cells++;
        let body: { code?: string; missingPermission?: string } = {};
        try {
          const parsed = res.json();
          if (parsed && typeof parsed === "object") body = parsed;
        } catch {
          // not JSON (an export stream, a page): never a guard refusal
        }
        const want = expected(route.access!, caller);
        const got = observed(res.statusCode, body);
        const where = `${key} as ${caller.name}: ${res.statusCode} ${body.code ?? ""}`;
        if (res.statusCode >= 500) {
          failures.push(`${where} — a server error`);
          continue;
        }
        if (got === "invalid") {
          // Only conclusive when the guard answers before validation (401 of onRequest).
          if (want.kind !== "pass" && want.kind !== "401")
            failures.push(`${where} — inconclusive: the request did not validate`);
          else if (want.kind === "401") failures.push(`${where} — expected 401 before validation`);
          else failures.push(`${where} — inconclusive: the request did not validate (add a REQUEST_OVERRIDES entry)`);
          continue;
        }
        tally[want.kind]++;
        row.push(`${res.statusCode}`);
        if (got.kind !== want.kind) {
          failures.push(`${where} — expected ${JSON.stringify(want)}`);
          continue;
        }
        if (want.kind === "403" && got.kind === "403") {
          if (got.code !== want.code) failures.push(`${where} — expected code ${want.code}`);
          else if (want.missing && got.missing !== want.missing)
            failures.push(`${where} — expected to name ${want.missing}`);
        }
      }
      report.push(`${key} | ${row.join(" | ")}`);
    }
    if (process.env.MATRIX_REPORT) console.log(report.join("\n"));
    expect(failures, failures.join("\n")).toEqual([]);
    expect(cells).toBe(routes.length * CALLER_NAMES.length);
    // Every class of answer occurs, so the matrix cannot pass by never calling the guard.
    for (const k of ["pass", "401", "403", "404"] as const) expect(tally[k], k).toBeGreaterThan(0);
  }, 600_000);
});
