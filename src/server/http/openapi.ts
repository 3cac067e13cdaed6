import type { FastifySchema, RouteOptions } from "fastify";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import type { Access } from "./access.js";

/**
 * The OpenAPI document is generated from the routes; what every operation needs and a route
 * should not have to repeat is derived here from its declarations, so a route added tomorrow
 * inherits it: the operationId (from method and path), its security (from `config.access`),
 * and the problem answers the guard, the validator and the error handler can give it.
 * Route schemas add what is particular to them (409, 410, 429, descriptions).
 */

/** One tag per module, defined once; a route naming another tag fails the document's build. */
export const OPENAPI_TAGS = [
  { name: "auth", description: "Sign-up, sign-in (with two-factor), sign-out, email verification, password reset" },
  { name: "me", description: "The signed-in user: profile, preferences, password, sessions, 2FA, sign-in history" },
  { name: "organizations", description: "Organizations: create, list, edit, delete, transfer ownership, leave" },
  { name: "members", description: "Members of an organization: list, search, edit roles, remove" },
  {
    name: "invitations",
    description: "Invitations: send (one, a list, CSV), resend, revoke; preview, accept, decline",
  },
  { name: "roles", description: "The permission catalogue and an organization's system and custom roles" },
  { name: "activity", description: "Activity log, its export, members' sign-in activity and the access review" },
  {
    name: "contacts",
    description: "Contacts: search, create, edit, bulk actions, CSV import (background) and export (streamed)",
  },
  { name: "tags", description: "Tags for contacts (and conversations); a tag with a team is team-specific" },
  { name: "lists", description: "Static contact lists and their members" },
  { name: "teams", description: "Teams members work in (a member may be in several)" },
  { name: "settings", description: "Workspace settings: timezone, business hours, inbox visibility, assignment" },
  { name: "channels", description: "WhatsApp numbers: connect (Cloud API or simulator), edit, test, disconnect" },
  {
    name: "conversations",
    description: "The shared inbox: conversations, thread, replies, notes, status, assignment and transfer",
  },
  { name: "presence", description: "Members' presence (online, busy, offline) and capacity for the assignment rules" },
  { name: "analytics", description: "Chat analytics per member over a period" },
  {
    name: "templates",
    description: "WhatsApp message templates: create (submitted to Meta), edit, delete, sync, preview",
  },
  { name: "events", description: "Real-time events of the workspace (Server-Sent Events), filtered by visibility" },
  { name: "notifications", description: "The caller's in-app notifications (the bell) and marking them read" },
  { name: "automations", description: "Automations: trigger, conditions and actions on inbound messages; runs log" },
  {
    name: "broadcasts",
    description: "Broadcasts (campaigns): drafts, audience, send / schedule, pause, resume, cancel, recipients",
  },
  { name: "webhooks", description: "Meta's WhatsApp webhooks: verification and signed notifications" },
  { name: "health", description: "Liveness and readiness probes" },
  { name: "development", description: "Development mailbox (only when DEV_MAILBOX is on)" },
] as const;

const TAG_NAMES = new Set<string>(OPENAPI_TAGS.map((t) => t.name));

export const SECURITY_SCHEMES = {
  session: {
    type: "apiKey",
    in: "cookie",
    name: "chorus_session",
    description: "The httpOnly session cookie set by sign-in (browsers).",
  },
  bearer: {
    type: "http",
    scheme: "bearer",
    description: "The same session token as `Authorization: Bearer <token>` (programs).",
  },
} as const;

const API_PREFIX = "/api/v1";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const PROBLEM_REF = { $ref: "#/components/schemas/Problem" };

/** `POST /api/v1/orgs/:orgId/invitations/:id/resend` → `postOrgsByOrgIdInvitationsByIdResend`. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .replace(API_PREFIX, "")
    .split("/")
    .filter(Boolean)
    .map((segment) => (segment.startsWith(":") ? `By-${segment.slice(1)}` : segment));
  const camel = words
    .flatMap((w) => w.split(/[-_.]/))
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
  return method.toLowerCase() + camel;
}

/** Public routes answer without credentials; every other route takes the cookie or the bearer token. */
export function securityOf(access: Access | undefined): Record<string, string[]>[] {
  return access?.kind === "public" ? [] : [{ session: [] }, { bearer: [] }];
}

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input: `validation_failed` with `errors` listing each field, or a rule of this operation.",
  401: "Not signed in (`unauthenticated`), or the session ended (`session_expired`).",
  403: "Refused: a missing permission (`permission_denied`, `owner_only`), or a cross-site write (`csrf_origin_*`).",
  404: "Not found, or not visible to the caller (another organization's resource answers the same).",
  409: "Conflicts with the current state.",
  410: "No longer available.",
  429: "Too many attempts (`rate_limited`); retry after `Retry-After` seconds.",
  500: "Failed on the server side (`internal_error`); nothing about the cause is disclosed.",
  503: "A dependency (the database) does not answer.",
};

function problemResponse(status: number) {
  const response: Record<string, unknown> = {
    description: DESCRIPTIONS[status] ?? "A problem (RFC 9457).",
    content: { "application/problem+json": { schema: PROBLEM_REF } },
  };
  if (status === 429) {
    response.headers = {
      "Retry-After": { type: "integer", format: "int32", minimum: 1, maximum: 86400, description: "Seconds to wait." },
    };
  }
  return response;
}

/** The problem answers a route can give by its declarations alone. */
export function problemStatusesOf(method: string, access: Access | undefined, schema: FastifySchema): number[] {
  const statuses = new Set<number>([500]);
  if (schema.body || schema.querystring || schema.params || schema.headers) statuses.add(400);
  if (access?.kind !== "public") statuses.add(401);
  if (access?.kind === "member" || STATE_CHANGING.has(method)) statuses.add(403);
  if (access?.kind === "member" || schema.params) statuses.add(404);
  return [...statuses];
}

const isProblemSchema = (s: unknown) =>
  typeof s === "object" && s !== null && (s as { $ref?: string }).$ref === PROBLEM_REF.$ref;

type TransformInput = Parameters<typeof jsonSchemaTransform>[0] & { route: RouteOptions };

/** The per-route transform: Zod → JSON Schema, then what every operation inherits. */
export function openapiTransform(input: TransformInput) {
  const result = jsonSchemaTransform(input) as { schema: Record<string, unknown>; url: string };
  const { route } = input;
  if (result.schema.hide) return result;
  const method = String(Array.isArray(route.method) ? route.method[0] : route.method).toUpperCase();
  const declared = (route.schema ?? {}) as FastifySchema & {
    operationId?: string;
    tags?: string[];
    summary?: string;
    description?: string;
  };

  const tags = declared.tags ?? [];
  const unknown = tags.filter((t) => !TAG_NAMES.has(t));
  if (tags.length === 0 || unknown.length) {
    throw new Error(
      `Route ${method} ${route.url} must name one of the document's tags (${[...TAG_NAMES].join(", ")}); got [${tags.join(", ")}].`,
    );
  }

  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries((result.schema.response ?? {}) as Record<string, unknown>)) {
    // Problems are answered as application/problem+json, not the route's JSON.
    responses[status] = isProblemSchema(schema) ? problemResponse(Number(status)) : schema;
  }
  for (const status of problemStatusesOf(method, route.config?.access, declared)) {
    responses[status] ??= problemResponse(status);
  }

  return {
    url: result.url,
    schema: {
      ...result.schema,
      description: declared.description ?? declared.summary,
      operationId: declared.operationId ?? operationIdOf(method, route.url),
      security: securityOf(route.config?.access),
      response: responses,
    },
  };
}

/**
 * The document-level transform: fills components.schemas from the Zod registry (`.meta({ id })`),
 * keeps only the components the document uses (the registry holds an input and an output variant
 * of every named schema), and states the limits a string's format or an integer's range implies.
 */
export function openapiTransformObject(input: Parameters<typeof jsonSchemaTransformObject>[0]) {
  const document = jsonSchemaTransformObject(input) as OpenApiDocument;
  const schemas = document.components?.schemas ?? {};
  const used = referencedComponents(document);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
  walkSchemas(document, impliedLimits);
  return document as ReturnType<typeof jsonSchemaTransformObject>;
}

type Json = Record<string, unknown>;
type OpenApiDocument = Json & { components?: { schemas?: Record<string, unknown> } };

const COMPONENT_PREFIX = "#/components/schemas/";

/** Components reachable from the paths, following references inside components too. */
function referencedComponents(document: OpenApiDocument): Set<string> {
  const schemas = document.components?.schemas ?? {};
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (typeof node !== "object" || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith(COMPONENT_PREFIX)) {
        const name = value.slice(COMPONENT_PREFIX.length);
        if (!used.has(name)) {
          used.add(name);
          visit(schemas[name]);
        }
      } else visit(value);
    }
  };
  visit(document.paths);
  return used;
}

/** Calls `fn` on every object in the document (schemas among them), depth first. */
function walkSchemas(node: unknown, fn: (o: Json) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walkSchemas(n, fn);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  fn(node as Json);
  for (const value of Object.values(node)) walkSchemas(value, fn);
}

/** Lengths a format fixes (a UUID is 36 characters; RFC 5321 caps an address at 254). */
const FORMAT_MAX_LENGTH: Record<string, number> = { uuid: 36, email: 254, "date-time": 40, date: 10 };
const INT32 = 2 ** 31;

function impliedLimits(o: Json): void {
  const types = Array.isArray(o.type) ? o.type : [o.type];
  if (types.includes("string") && typeof o.format === "string" && o.maxLength === undefined) {
    const max = FORMAT_MAX_LENGTH[o.format];
    if (max !== undefined) o.maxLength = max;
  }
  if (types.includes("integer") && o.format === undefined) {
    const lo = typeof o.minimum === "number" ? o.minimum : -Infinity;
    const hi = typeof o.maximum === "number" ? o.maximum : Infinity;
    o.format = lo >= -INT32 && hi < INT32 ? "int32" : "int64";
  }
}
