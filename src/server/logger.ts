import { type FastifyReply, type FastifyRequest, LogController } from "fastify";
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import { redactSecrets, redactUrl } from "./lib/redact-url.js";

/** What the request serializer reads of a Fastify request. */
interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** What every censored value reads as. */
export const LOG_CENSOR = "[redacted]";
/**
 * Censored wherever they appear one level below a log line's top level (`*.password`: the
 * `password` of `{ body: { password } }`, of a serialized error, of a child logger's binding).
 */
export const SECRET_LOG_KEYS = ["password", "currentPassword", "newPassword", "token", "code", "recoveryCode"] as const;
/** Headers censored under `<key>.headers` (req.headers.authorization, req.headers.cookie, res.headers["set-cookie"]). */
const SECRET_HEADERS: Record<string, readonly string[]> = { req: ["authorization", "cookie"], res: ["set-cookie"] };

/**
 * The value logged under `key`, its secrets censored; a copy only when something is censored,
 * the value itself otherwise. This is what pino's `redact` option did with the paths
 * `*.password`, …, `req.headers.authorization`, `req.headers.cookie`, `res.headers["set-cookie"]`
 * (same output: test/platform/log-redaction.test.ts compares the two on the same lines), without
 * its cost: pino's redaction deep-clones every top-level value of every line (~7 µs per line,
 * two lines per request; issue 12).
 */
export function redactLogValue(key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const k of SECRET_LOG_KEYS) {
    if (Object.hasOwn(value, k)) {
      out ??= { ...(value as Record<string, unknown>) };
      out[k] = LOG_CENSOR;
    }
  }
  const names = SECRET_HEADERS[key];
  const headers = names && (value as { headers?: unknown }).headers;
  if (names && headers && typeof headers === "object") {
    let h: Record<string, unknown> | undefined;
    for (const n of names) {
      if (Object.hasOwn(headers, n)) {
        h ??= { ...(headers as Record<string, unknown>) };
        h[n] = LOG_CENSOR;
      }
    }
    if (h) {
      out ??= { ...(value as Record<string, unknown>) };
      out.headers = h;
    }
  }
  return out ?? value;
}

/** Each top-level value of a line (or of a child's bindings) through `redactLogValue`, unless a serializer does it. */
function redactTopLevel(obj: Record<string, unknown>, serialized: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    if (!Object.hasOwn(obj, key) || Object.hasOwn(serialized, key)) continue;
    const value = obj[key];
    const redacted = redactLogValue(key, value);
    if (redacted !== value) {
      out ??= { ...obj };
      out[key] = redacted;
    }
  }
  return out ?? obj;
}

/**
 * Where JSON logs go by default (stdout): written asynchronously, so a request never waits for a
 * write system call, and lines logged while a write is in flight leave together in the next one
 * (under load, many lines per call). Nothing waits in a buffer when the server is idle; what is
 * pending at exit is flushed by pino's exit hook. Measured with `npm run bench http`: the
 * synchronous write per line was a third of the trivial route's CPU time (docs/decisions.md).
 */
export function logDestination(dest: number | string = 1): DestinationStream {
  return pino.destination({ dest, sync: false });
}

/** The request fields a line carries (the URL without link tokens). */
function loggedRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * Structured JSON logs; credentials never reach them: listed fields are censored, and every
 * logged request URL, and error messages that may quote one, lose their link tokens.
 * `destination`: stdout unless given (tests read the log through it).
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: "json" | "pretty" = "json",
): Logger {
  // Serialized values are censored by their serializer (after serializing, as pino's redact did);
  // every other value by the log formatter. Fastify adds no serializer of its own over these three.
  const serializers = {
    req: (req: LoggedRequest) => redactLogValue("req", loggedRequest(req)),
    // Replaces Fastify's (same field).
    res: (reply: { statusCode: number }) => redactLogValue("res", { statusCode: reply.statusCode }),
    err: (err: Error) => {
      const out = pino.stdSerializers.err(err);
      out.message = redactSecrets(out.message ?? "");
      if (out.stack) out.stack = redactSecrets(out.stack);
      return redactLogValue("err", out);
    },
  };
  const options: pino.LoggerOptions = {
    level,
    // Replaces Fastify's request serializer (same fields, the URL redacted).
    serializers,
    formatters: {
      log: (obj) => redactTopLevel(obj, serializers),
      bindings: (bindings) => redactTopLevel(bindings, serializers),
    },
  };
  const logger =
    format === "pretty"
      ? // In-process and synchronous: a development terminal, where a worker thread buys nothing.
        // The serializers and redaction above have run before the line is formatted.
        pino(options, pretty({ destination: destination ?? 1, sync: true, translateTime: "SYS:HH:MM:ss.l" }))
      : pino(options, destination ?? logDestination());
  // A child's bindings skip `formatters.bindings` (pino applies it to the root's only): censored
  // here, for every descendant (children are created from their parent's prototype chain).
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactTopLevel(bindings, serializers), childOptions);
  } as Logger["child"];
  return logger;
}

/**
 * LOG_FORMAT, or by default: readable lines for a person at a development terminal, JSON
 * wherever a program reads the log (production, a pipe, a file, the tests).
 */
export function logFormatFor(config: { logFormat: "json" | "pretty" | undefined; nodeEnv: string }): "json" | "pretty" {
  if (config.logFormat) return config.logFormat;
  return config.nodeEnv === "development" && process.stdout.isTTY ? "pretty" : "json";
}

/**
 * One log line per request, written when the answer has gone: `request completed` (or `request
 * errored`) with the request (method, URL without link tokens, host, peer), the status, the time
 * in ms and the request id (`reqId`, the child logger's binding; also the `x-request-id` header).
 * Fastify's default writes two lines, `incoming request` and `request completed`; the line per
 * request that said nothing the second did not was a sixth of the trivial route's CPU time
 * (issue 12, docs/decisions.md). `incoming request` is still written at `debug` level, for
 * whoever needs to see a request arrive before it ends (test/platform/process.test.ts does).
 * Everything else Fastify logs about a request (handler errors, 404s, stream errors) is unchanged.
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    // The app's logger is pino (createLogger): its request children have isLevelEnabled.
    if ((request.log as unknown as Logger).isLevelEnabled("debug")) {
      request.log.debug({ req: request }, "incoming request");
    }
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, "request errored");
    } else {
      writeCompletedLine(reply.log as unknown as Logger, request, reply);
    }
  }
}

const { chindingsSym, lsCacheSym, streamSym, timeSym } = pino.symbols;
const INFO = 30;

/**
 * `request completed`, the line of every request, composed directly: byte for byte what
 * `log.info({ req, res, responseTime }, "request completed")` writes through createLogger's
 * serializers and formatters (test/platform/log-redaction.test.ts compares the two), without
 * pino's generic walk over the object (formatter, serializer lookups, stringifier choice per
 * key). The request object holds no field `redactLogValue` censors (no headers, no password).
 */
function writeCompletedLine(log: Logger, request: FastifyRequest, reply: FastifyReply): void {
  if (!log.isLevelEnabled("info")) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const line = `${(internals[lsCacheSym] as Record<number, string>)[INFO]}${(internals[timeSym] as () => string)()}${
    internals[chindingsSym] as string
  },"req":${JSON.stringify(loggedRequest(request))},"res":{"statusCode":${reply.statusCode}},"responseTime":${
    reply.elapsedTime
  },"msg":"request completed"}\n`;
  (internals[streamSym] as DestinationStream).write(line);
}
