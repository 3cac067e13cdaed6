import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { z } from "zod";
import { isDatabaseUnavailable, pgCode } from "../db/pg-errors.js";

/** A field problem inside a 400 answer: `path` is dotted (`roleIds.2`), `in` says where the field was. */
export interface FieldError {
  path: string;
  message: string;
  in?: "body" | "query" | "params" | "headers";
}

/**
 * Every failure the API reports on purpose. `code` is the stable machine string
 * clients switch on; `title` is derived from the status; `detail` is for humans.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra: { errors?: FieldError[]; headers?: Record<string, string>; [key: string]: unknown } = {},
  ) {
    super(detail);
  }
}

export const badRequest = (code: string, detail: string, errors?: FieldError[]) =>
  new AppError(400, code, detail, errors ? { errors } : {});
export const unauthorized = (detail = "Sign in to continue.", code = "unauthenticated") =>
  new AppError(401, code, detail);
export const forbidden = (code: string, detail: string, extra: Record<string, unknown> = {}) =>
  new AppError(403, code, detail, extra);
export const notFound = (what = "resource", code = "not_found") =>
  new AppError(404, code, `The ${what} does not exist or is not visible to you.`);
export const conflict = (code: string, detail: string, extra: Record<string, unknown> = {}) =>
  new AppError(409, code, detail, extra);
export const gone = (code: string, detail: string, extra: Record<string, unknown> = {}) =>
  new AppError(410, code, detail, extra);
export const tooManyRequests = (retryAfterSeconds: number, detail = "Too many attempts. Try again later.") =>
  new AppError(429, "rate_limited", detail, {
    headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
  });

/** Seconds a client is told to wait before retrying while the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export const databaseUnavailable = (detail = "The database is unavailable right now. Try again shortly.") =>
  new AppError(503, "database_unavailable", detail, {
    headers: { "retry-after": String(DATABASE_RETRY_AFTER_SECONDS) },
  });

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The problem+json document, also used as the OpenAPI schema of error answers. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string(), in: z.string().optional() })).optional(),
  })
  .loose()
  .meta({ id: "Problem" });

export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
  const { errors, headers, ...rest } = err.extra;
  if (headers) reply.headers(headers);
  const body: Record<string, unknown> = {
    type: `https://chorus.dev/problems/${err.code.replaceAll("_", "-")}`,
    title: TITLES[err.status] ?? "Error",
    status: err.status,
    detail: err.message,
    code: err.code,
    ...rest,
  };
  if (errors) body.errors = errors;
  // Serialized by hand: a problem must never fail on a route's response schema.
  return reply.code(err.status).type("application/problem+json").serializer(JSON.stringify).send(body);
}

function fromValidation(err: FastifyError & { validation?: unknown; validationContext?: string }): AppError {
  const where = (err.validationContext ?? "body") as FieldError["in"];
  const issues = (err.validation ?? []) as {
    instancePath?: string;
    message?: string;
    params?: { issue?: z.core.$ZodIssue };
  }[];
  const errors: FieldError[] = issues.map((i) => {
    const issue = i.params?.issue;
    const path = issue
      ? issue.path.map(String).join(".")
      : (i.instancePath ?? "").replace(/^\//, "").replaceAll("/", ".");
    return { path, message: issue?.message ?? i.message ?? "Invalid value", in: where };
  });
  return badRequest("validation_failed", `The request ${where} is invalid.`, errors);
}

/** Maps every error to problem+json: Fastify's own 4xx keep their status, unknown errors become 500. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof AppError) return sendProblem(reply, error);
    if (hasZodFastifySchemaValidationErrors(error)) return sendProblem(reply, fromValidation(error));
    if ((error as FastifyError).validation) return sendProblem(reply, fromValidation(error));
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error }, "response did not match its schema");
      return sendProblem(reply, new AppError(500, "internal_error", "Something went wrong on our side."));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = CODES[error.code] ?? "bad_request";
      const detail = DETAILS[code] ?? error.message;
      const extra: { headers?: Record<string, string> } = {};
      if (status === 429) {
        const retry = reply.getHeader("retry-after");
        if (retry) extra.headers = { "retry-after": String(retry) };
      }
      return sendProblem(reply, new AppError(status, status === 429 ? "rate_limited" : code, detail, extra));
    }
    // Safety net behind the schemas: text PostgreSQL cannot store (NUL, invalid encoding) is bad
    // input, not a server failure.
    if (UNSTORABLE_TEXT.has(pgCode(error) ?? "")) {
      request.log.warn({ err: error }, "text the database cannot store");
      return sendProblem(reply, badRequest("invalid_text", "The request contains characters that cannot be stored."));
    }
    // The database down, restarting, overloaded or hung: the request may succeed later.
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, "database unavailable");
      return sendProblem(reply, databaseUnavailable());
    }
    // Safety net for a foreign key violation no service mapped (a row referred to was deleted
    // concurrently, or is still referred to): a conflict with another change, not a server failure.
    if (pgCode(error) === FOREIGN_KEY_VIOLATION) {
      request.log.warn({ err: error }, "unmapped foreign key violation");
      return sendProblem(
        reply,
        new AppError(409, "conflict", "The request conflicts with another change. Reload and try again."),
      );
    }
    request.log.error({ err: error }, "unhandled error");
    return sendProblem(reply, new AppError(500, "internal_error", "Something went wrong on our side."));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new AppError(404, "route_not_found", `No route ${request.method} ${request.url.split("?")[0]}.`),
    ),
  );
}

const FOREIGN_KEY_VIOLATION = "23503";

/** character_not_in_repertoire (NUL in text), untranslatable_character. */
const UNSTORABLE_TEXT = new Set(["22021", "22P05"]);

const CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "malformed_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "malformed_json",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "bad_content_length",
  FST_ERR_CTP_BODY_TOO_LARGE: "body_too_large",
  FST_ERR_CTP_INVALID_TYPE: "unsupported_media_type",
  FST_ERR_VALIDATION: "validation_failed",
  FST_ERR_BAD_URL: "bad_url",
  FST_ERR_ASYNC_CONSTRAINT: "bad_request",
};

const DETAILS: Record<string, string> = {
  malformed_json: "The request body is not valid JSON.",
  unsupported_media_type: "Send the request body as application/json.",
  body_too_large: "The request body is too large.",
};
