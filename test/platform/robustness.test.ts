/**
 * Walks every operation of the OpenAPI document with malformed input, as a signed-in owner of
 * an organization: the API must answer 4xx problem+json with a `code`, never 5xx. Routes are
 * read from the document, so new routes are covered without touching this file.
 */
import { randomUUID } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { createTestApp, ORIGIN, signUp, type TestClient } from "../helpers/app.js";

type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  minItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
type Parameter = { name: string; in: "path" | "query" | "header" | "cookie"; schema?: Schema; required?: boolean };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
};
type Doc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };

const BODY_LIMIT = 64 * 1024;
const t = await createTestApp({ env: { BODY_LIMIT: String(BODY_LIMIT) } });
const doc = (await t.client().get("/api/openapi.json")).json() as Doc;
afterAll(async () => {
  await t.close();
});

const METHODS = ["get", "post", "put", "patch", "delete"];
const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops)
    .filter(([method]) => METHODS.includes(method))
    .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
);

function resolve(s: Schema | undefined): Schema | undefined {
  if (!s?.$ref) return s;
  const name = s.$ref.split("/").pop()!;
  return resolve(doc.components?.schemas?.[name]);
}

function typeOf(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((x) => x !== "null");
  // A nullable field (`anyOf: [T, {type: null}]`) is tried as its T.
  if (!s.type && s.anyOf) return s.anyOf.map((x) => typeOf(resolve(x) ?? {})).find((t) => t && t !== "null");
  return s.type;
}

/** A plausible valid value, so that one wrong field at a time reaches the validator. */
function example(raw: Schema | undefined, depth = 0): unknown {
  const s = resolve(raw);
  if (!s || depth > 5) return null;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  if (s.default !== undefined) return s.default;
  const options = s.anyOf ?? s.oneOf;
  if (options?.length) return example(options.find((o) => resolve(o)?.type !== "null") ?? options[0], depth + 1);
  if (s.allOf?.length) return Object.assign({}, ...s.allOf.map((a) => example(a, depth + 1) as object));
  switch (typeOf(s)) {
    case "string": {
      if (s.format === "email") return `robust.${randomUUID().slice(0, 8)}@example.com`;
      if (s.format === "uuid") return randomUUID();
      if (s.format === "date-time") return new Date().toISOString();
      if (s.format === "uri" || s.format === "url") return "https://example.com/x";
      if (s.pattern === "^\\d{6}$") return "123456";
      const len = Math.min(Math.max(s.minLength ?? 1, 12), s.maxLength ?? 24);
      return "abcdefghijklmnopqrstuvwx".repeat(4).slice(0, len);
    }
    case "integer":
    case "number":
      return s.minimum ?? 1;
    case "boolean":
      return true;
    case "array":
      return Array.from({ length: s.minItems ?? 0 }, () => example(s.items, depth + 1));
    case "object":
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, example(v, depth + 1)]));
    default:
      return null;
  }
}

function wrongType(raw: Schema | undefined): unknown {
  const s = resolve(raw);
  switch (s && typeOf(s)) {
    case "string":
      return 12345;
    case "integer":
    case "number":
      return "not a number";
    case "boolean":
      return "maybe";
    case "array":
      return { not: "an array" };
    case "object":
      return "not an object";
    default:
      return { unexpected: [1, { deep: true }] };
  }
}

function oversized(raw: Schema | undefined): string | null {
  const s = resolve(raw);
  if (!s || typeOf(s) !== "string") return null;
  return "x".repeat(Math.min((s.maxLength ?? 20_000) + 1, BODY_LIMIT / 2));
}

/** The operation's path with its parameters filled in (`override` replaces one). */
function urlOf(path: string, op: Operation, orgId: string, override: Record<string, string> = {}): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (name in override) return encodeURIComponent(override[name]!);
    if (name === "orgId") return orgId;
    const p = op.parameters?.find((x) => x.in === "path" && x.name === name);
    return encodeURIComponent(String(example(p?.schema)));
  });
}

interface Case {
  label: string;
  method: string;
  url: string;
  payload?: string;
  headers?: Record<string, string>;
  /** Statuses this case must get (429 is always tolerated: throttling may answer first). */
  expect?: number[];
}

function cases(method: string, path: string, op: Operation, orgId: string): Case[] {
  const url = urlOf(path, op, orgId);
  const out: Case[] = [{ label: "as is, without input", method, url }];
  const json = { "content-type": "application/json" };

  if (method !== "GET") {
    const body = resolve(op.requestBody?.content?.["application/json"]?.schema);
    out.push(
      { label: "invalid JSON", method, url, payload: '{"a": ', headers: json, expect: [400] },
      { label: "JSON array", method, url, payload: "[1,2]", headers: json },
      { label: "JSON string", method, url, payload: '"text"', headers: json },
      { label: "JSON number", method, url, payload: "42", headers: json },
      { label: "JSON null", method, url, payload: "null", headers: json },
      { label: "empty object", method, url, payload: "{}", headers: json },
      {
        label: "prototype keys",
        method,
        url,
        payload: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
        headers: json,
      },
      {
        label: `body over BODY_LIMIT (${BODY_LIMIT})`,
        method,
        url,
        payload: JSON.stringify({ pad: "x".repeat(BODY_LIMIT + 10) }),
        headers: json,
        expect: [413],
      },
      {
        label: "wrong content type",
        method,
        url,
        payload: "<xml/>",
        headers: { "content-type": "application/xml" },
        expect: [415],
      },
    );
    if (body && typeOf(body) === "object") {
      const valid = example(body) as Record<string, unknown>;
      for (const [field, fieldSchema] of Object.entries(body.properties ?? {})) {
        out.push({
          label: `wrong type for ${field}`,
          method,
          url,
          payload: JSON.stringify({ ...valid, [field]: wrongType(fieldSchema) }),
          headers: json,
          expect: [400],
        });
        const fieldType = typeOf(resolve(fieldSchema) ?? {});
        // Past PostgreSQL's integer and timestamp ranges: a value that reaches the database fails the query.
        const extremes =
          fieldType === "integer" || fieldType === "number"
            ? [2_147_483_648, -2_147_483_649, 1e300]
            : resolve(fieldSchema)?.format === "date-time"
              ? ["0000-01-01T00:00:00Z", "2025-02-30T10:00:00Z"]
              : [];
        for (const extreme of extremes) {
          out.push({
            label: `${field} = ${extreme}`,
            method,
            url,
            payload: JSON.stringify({ ...valid, [field]: extreme }),
            headers: json,
          });
        }
        if (typeOf(resolve(fieldSchema) ?? {}) === "string") {
          // PostgreSQL text cannot hold NUL: a value that reaches the database with one fails the query.
          out.push({
            label: `NUL and control characters in ${field}`,
            method,
            url,
            payload: JSON.stringify({ ...valid, [field]: `a\u0000b\u0007c` }),
            headers: json,
          });
        }
        const big = oversized(fieldSchema);
        if (big) {
          out.push({
            label: `oversized ${field}`,
            method,
            url,
            payload: JSON.stringify({ ...valid, [field]: big }),
            headers: json,
          });
        }
      }
    }
  }

  for (const p of op.parameters ?? []) {
    const s = resolve(p.schema);
    if (p.in === "path") {
      if (s?.format === "uuid") {
        out.push({
          label: `bad UUID in :${p.name}`,
          method,
          url: urlOf(path, op, orgId, { [p.name]: "not-a-uuid" }),
          expect: [400],
        });
        out.push({
          label: `UUID-like junk in :${p.name}`,
          method,
          url: urlOf(path, op, orgId, { [p.name]: "00000000-0000-0000-0000-00000000000g" }),
          expect: [400],
        });
      }
      for (const junk of ["%00", "..%2F..%2Fetc", "'; drop table users; --", "x".repeat(400), "😀"]) {
        out.push({
          label: `junk in :${p.name}`,
          method,
          url: urlOf(path, op, orgId, { [p.name]: decodeURIComponent(junk) }),
        });
      }
    }
    if (p.in === "query") {
      const bad: string[] = ["", "x".repeat(5000), "%00", "[object Object]"];
      const type = s && typeOf(s);
      if (type === "integer" || type === "number") bad.push("abc", "-1", "1e309", "99999999999999999999", "1.5");
      if (s?.enum) bad.push("not-one-of-them");
      if (s?.format === "uuid") bad.push("not-a-uuid");
      if (p.name === "cursor") bad.push("!!!", Buffer.from('{"x":1}').toString("base64url"), "eyJ");
      // Well-formed but impossible or out of PostgreSQL's range: the year 0 once reached SQL (a 500).
      if (s?.format === "date-time")
        bad.push("yesterday", "2020-13-45T99:99:99Z", "2025-02-30T10:00:00Z", "0000-01-01T00:00:00Z");
      for (const v of bad) {
        const sep = url.includes("?") ? "&" : "?";
        out.push({
          label: `query ${p.name}=${v.slice(0, 20)}`,
          method,
          url: `${url}${sep}${p.name}=${encodeURIComponent(v)}`,
        });
      }
      out.push({ label: `query ${p.name} repeated`, method, url: `${url}?${p.name}=1&${p.name}=2` });
    }
  }
  return out;
}

/** A fresh signed-in user owning a fresh organization, so a destructive case cannot starve the next route. */
async function fixture(): Promise<{ client: TestClient; orgId: string }> {
  const client = t.client();
  await signUp(client);
  const created = await client.post("/api/v1/orgs", { name: "Robust Org" });
  const orgId = created.statusCode < 300 ? (created.json().id as string) : randomUUID();
  return { client, orgId };
}

function problems(c: Case, res: LightMyRequestResponse): string[] {
  const where = `${c.method} ${c.url.slice(0, 120)} [${c.label}] → ${res.statusCode}`;
  const found: string[] = [];
  if (res.statusCode >= 500) found.push(`${where}: ${res.body.slice(0, 300)}`);
  if (res.statusCode >= 400) {
    if (!String(res.headers["content-type"]).startsWith("application/problem+json")) {
      found.push(`${where}: content-type ${res.headers["content-type"]}`);
    } else {
      const body = res.json() as { code?: unknown; status?: unknown };
      if (typeof body.code !== "string" || body.code === "") found.push(`${where}: no code`);
      if (body.status !== res.statusCode) found.push(`${where}: status ${body.status} in the body`);
    }
  }
  if (c.expect && res.statusCode !== 429 && !c.expect.includes(res.statusCode)) {
    found.push(`${where}: expected ${c.expect.join(" or ")}`);
  }
  return found;
}

describe("robustness: every operation of the OpenAPI document with malformed input", () => {
  it("the document lists the operations", () => {
    expect(operations.length).toBeGreaterThanOrEqual(5);
    expect(operations.map((o) => `${o.method} ${o.path}`)).toContain("POST /api/v1/auth/signup");
  });

  it.each(operations.map((o) => [`${o.method} ${o.path}`, o] as const))("%s", async (_name, { method, path, op }) => {
    const { client, orgId } = await fixture();
    const found: string[] = [];
    // Cases that must be refused before the handler first: a case that reaches a handler may end
    // the session (logout) or delete the organization.
    const all = cases(method, path, op, orgId).sort((a, b) => Number(!a.expect) - Number(!b.expect));
    for (const c of all) {
      const headers: Record<string, string> = { origin: ORIGIN, ...c.headers };
      const res = await t.app.inject({
        method: c.method as "GET",
        url: c.url,
        headers,
        cookies: client.cookies,
        ...(c.payload !== undefined ? { payload: c.payload } : {}),
      });
      found.push(...problems(c, res));
    }
    expect(all.length).toBeGreaterThan(0);
    expect(found).toEqual([]);
  });
});
