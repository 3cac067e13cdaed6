// The Spectral ruleset the OpenAPI document is held to (npm run lint:openapi, and
// test/platform/openapi.test.ts in every test run): Spectral's `oas` rules plus the OWASP API
// Security ruleset, with the few changes below, each with its reason.
import spectralFunctions from "@stoplight/spectral-functions";
import owasp from "@stoplight/spectral-owasp-ruleset";
import spectralRulesets from "@stoplight/spectral-rulesets";

const { defined, schema } = spectralFunctions;

/** Where a schema describes what a client sends: request bodies, parameters, `…Input` components. */
const REQUEST_PARTS = [
  "$.paths[*][*].requestBody",
  "$.paths[*][*].parameters",
  "$.components.schemas[?(@property.match(/Input$/))]",
];
/** Where it describes what the server answers. */
const RESPONSE_PARTS = ["$.paths[*][*].responses", "$.components.schemas[?(!@property.match(/Input$/))]"];

const typed = (parts: string[], type: string) =>
  parts.flatMap((part) => [
    `${part}..[?(@ && @.type=="${type}")]`,
    `${part}..[?(@ && @.type && @.type.constructor.name === "Array" && @.type.includes("${type}"))]`,
  ]);

const stringLimit = (parts: string[], severity: string) => ({
  message: "Schema of type string must specify maxLength, enum, or const.",
  severity,
  given: typed(parts, "string"),
  // biome-ignore lint/suspicious/noThenProperty: Spectral's rule format names its action `then`.
  then: {
    function: schema,
    functionOptions: {
      schema: { type: "object", anyOf: [{ required: ["maxLength"] }, { required: ["enum"] }, { required: ["const"] }] },
    },
  },
});

const arrayLimit = (parts: string[], severity: string) => ({
  message: "Schema of type array must specify maxItems.",
  severity,
  given: typed(parts, "array"),
  // biome-ignore lint/suspicious/noThenProperty: Spectral's rule format names its action `then`.
  then: { field: "maxItems", function: defined },
});

/** Rules switched off, and why. A rule here is a decision (docs/decisions.md, "OpenAPI document"). */
export const RULES_OFF: Record<string, string> = {
  "owasp:api4:2023-rate-limit":
    "Asks for RateLimit headers on every 2xx/4xx answer. Chorus has no per-client request quota to " +
    "advertise: its limits are per purpose (failed sign-ins per account and address, reset mails, " +
    "re-authentication, invitation resends), counted in the database; a route that can hit one documents " +
    "429 with Retry-After, which the server sends. Documenting headers the server does not send would be false.",
  "owasp:api2:2023-write-restricted":
    "Counts `security: []` as unprotected. Sign-up, sign-in, password reset, email verification and " +
    "invitation accept/decline are public by design (DESIGN.md §3). Every operation still declares its " +
    "security explicitly from its access declaration; chorus:operation-security-declared checks that.",
  "owasp:api8:2023-define-cors-origin":
    "The API is same-origin only: it sends no CORS headers (a browser on another site is refused), so " +
    "there is no Access-Control-Allow-Origin to document.",
};

/**
 * Warnings that stay, and why. Every warning the linter reports must come from a rule named
 * here (the test fails on any other), so a new kind of warning needs a written reason first.
 */
export const ACCEPTED_WARNINGS: Record<string, string> = {
  "owasp:api4:2023-string-restricted":
    "Names, descriptions, labels and opaque tokens are free text: a `pattern` would be invented. Every " +
    "such string has a maxLength (an error when missing); identifiers carry `format: uuid`, times `date-time`.",
  "owasp:api2:2023-read-restricted":
    "Public reads by design: /healthz, /readyz (probes) and the permission catalogue are open.",
  "owasp:api8:2023-define-error-responses-401":
    "Public operations that never answer 401 do not document it; every signed-in operation does.",
  "owasp:api4:2023-rate-limit-responses-429":
    "Only operations that can hit a limit document 429 (with Retry-After); elsewhere it would be false.",
  "owasp:api8:2023-define-error-validation":
    "Operations without any input (no body, query or path parameters) cannot answer 400.",
  "chorus:response-string-limit":
    "OWASP's string and array limits are held as errors on everything a client sends (request bodies, " +
    "parameters, input components): that is what bounds the work a request can cause. On answers a " +
    "maxLength is a promise the response serializer would keep by failing the answer with a 500 when a " +
    "stored value is longer (user agents, labels written before a limit existed); the values are bounded " +
    "where they are written. So they are reported as warnings on answers, not errors.",
  "chorus:response-array-limit":
    "As chorus:response-string-limit: pages are bounded by `limit` (at most 100); other answer lists are " +
    "bounded by what the organization holds (roles, members), not by a number worth promising.",
  "oas3-api-servers":
    "Each deployment serves its own document at its own origin (APP_URL); paths resolve against it, so " +
    "there is no fixed server URL to name.",
  "operation-success-response":
    "Only GET /orgs/{orgId}/events: its success is a text/event-stream that stays open (described in the " +
    "operation), which a response schema cannot express — fastify would put a JSON serializer on the stream.",
  "info-contact": "Chorus is self-hosted: whoever runs it is the contact, not a vendor address in the document.",
};

export const ruleset = {
  extends: [spectralRulesets.oas, owasp],
  rules: {
    ...Object.fromEntries(Object.keys(RULES_OFF).map((rule) => [rule, "off"])),
    // OWASP's own limit rules, held to request parts as errors and to answers as warnings (see above).
    "owasp:api4:2023-string-limit": stringLimit(REQUEST_PARTS, "error"),
    "owasp:api4:2023-array-limit": arrayLimit(REQUEST_PARTS, "error"),
    "chorus:response-string-limit": stringLimit(RESPONSE_PARTS, "warn"),
    "chorus:response-array-limit": arrayLimit(RESPONSE_PARTS, "warn"),
    "chorus:operation-security-declared": {
      description: "Every operation declares `security` itself (`[]` for public ones), from its access declaration.",
      severity: "error",
      given: "$.paths[*][get,put,post,delete,patch]",
      // biome-ignore lint/suspicious/noThenProperty: Spectral's rule format names its action `then`.
      then: { field: "security", function: defined },
    },
  },
};
