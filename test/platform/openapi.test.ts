import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { type Finding, lintOpenApi, unacceptable } from "../../scripts/openapi/lint.js";
import { ACCEPTED_WARNINGS } from "../../scripts/openapi/ruleset.js";
import { OPENAPI_TAGS } from "../../src/server/http/openapi.js";
import { createTestApp } from "../helpers/app.js";

type Operation = {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }>;
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

const t = await createTestApp();
const doc = (await t.client().get("/api/openapi.json")).json() as Doc;
afterAll(async () => {
  await t.close();
});

const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ method, path, op })),
);

/** Every `$ref` string anywhere in the document. */
function refsOf(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refsOf(n, out);
  else if (node && typeof node === "object")
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refsOf(v, out);
    }
  return out;
}

describe("issue 11: the OpenAPI document is valid and useful", () => {
  it("every $ref resolves to a component the document holds", () => {
    const refs = refsOf(doc);
    expect(refs.length).toBeGreaterThan(0);
    const missing = refs.filter((r) => !(r.replace("#/components/schemas/", "") in doc.components.schemas));
    expect(missing).toEqual([]);
  });

  it("every operation has a unique operationId, a defined tag and its own security", () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.every((id) => typeof id === "string" && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set<string>(OPENAPI_TAGS.map((tag) => tag.name));
    for (const { op } of operations) {
      expect(op.tags?.length).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(tags.has(tag)).toBe(true);
      expect(Array.isArray(op.security)).toBe(true);
    }
  });

  it("signed-in operations take the cookie or the bearer token and document 401 and 500 as problems", () => {
    const me = doc.paths["/api/v1/me"]?.get;
    expect(me?.security).toEqual([{ session: [] }, { bearer: [] }]);
    for (const status of ["401", "500"]) {
      expect(me?.responses[status]?.content).toHaveProperty(["application/problem+json"]);
    }
    expect(doc.paths["/api/v1/auth/login"]?.post?.security).toEqual([]);
    const members = doc.paths["/api/v1/orgs/{orgId}/members"]?.get;
    for (const status of ["400", "401", "403", "404", "500"]) expect(members?.responses).toHaveProperty([status]);
  });

  it("a rate-limited operation documents 429 with Retry-After", () => {
    const login = doc.paths["/api/v1/auth/login"]?.post;
    expect(login?.responses["429"]?.headers).toHaveProperty(["Retry-After"]);
  });

  it("no credential travels in a path: the invitation token is in the body", () => {
    const params = operations.flatMap(({ path }) => path.match(/\{[^}]+\}/g) ?? []);
    expect(params.filter((p) => /token|secret|password|key/i.test(p))).toEqual([]);
    expect(doc.paths["/api/v1/invitations/accept"]?.post).toBeDefined();
  });

  it("Spectral (oas + OWASP rulesets) finds no error and only warnings with a written reason", async () => {
    const findings = await lintOpenApi(doc);
    const show = (fs: Finding[]) => fs.map((f) => `${f.severity} ${f.rule} ${f.path}`);
    expect(show(unacceptable(findings))).toEqual([]);
    for (const rule of new Set(findings.filter((f) => f.severity === "warning").map((f) => f.rule))) {
      expect(ACCEPTED_WARNINGS[rule]?.length).toBeGreaterThan(20);
    }
  }, 120_000);

  it("generates a typed client: openapi-typescript output type-checks against real calls", async () => {
    const generated = astToString(await openapiTS(doc as never));
    const usage = `
      type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
      type MeAnswer = Json<paths["/api/v1/me"]["get"]["responses"][200]>;
      const email: string = ({} as MeAnswer).email;
      type LoginBody = paths["/api/v1/auth/login"]["post"]["requestBody"];
      const login: NonNullable<LoginBody>["content"]["application/json"] = { email, password: "x" };
      type AcceptBody = NonNullable<paths["/api/v1/invitations/accept"]["post"]["requestBody"]>;
      const accept: AcceptBody["content"]["application/json"] = { token: "t" };
      type Problem = components["schemas"]["Problem"];
      const problem: Problem = { type: "about:blank", title: "Not Found", status: 404, detail: "", code: "not_found" };
      export const used = [login, accept, problem];
    `;
    // One program, two files: the real use must check clean, a wrong use must not (the types are not `any`).
    const wrong = 'export const wrong: components["schemas"]["Problem"] = { status: "404" };';
    const sources: Record<string, string> = {
      "/virtual/client.ts": `${generated}\n${usage}`,
      "/virtual/wrong.ts": `${generated}\n${wrong}`,
    };
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts"],
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, version, ...rest) =>
      sources[name] !== undefined
        ? ts.createSourceFile(name, sources[name], version)
        : getSourceFile(name, version, ...rest);
    host.fileExists = (name) => name in sources || fileExists(name);
    host.readFile = (name) => sources[name] ?? readFile(name);
    const program = ts.createProgram(Object.keys(sources), options, host);
    const diagnosticsOf = (name: string) =>
      ts
        .getPreEmitDiagnostics(program, program.getSourceFile(name))
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnosticsOf("/virtual/client.ts")).toEqual([]);
    expect(diagnosticsOf("/virtual/wrong.ts").length).toBeGreaterThan(0);
  }, 180_000);
});
