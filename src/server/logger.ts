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
  const options: pino.LoggerOptions = {
    level,
    // Replaces Fastify's request serializer (same fields, the URL redacted).
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: redactUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
      err: (err: Error) => {
        const out = pino.stdSerializers.err(err);
        out.message = redactSecrets(out.message ?? "");
        if (out.stack) out.stack = redactSecrets(out.stack);
        return out;
      },
    },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "*.password",
        "*.currentPassword",
        "*.newPassword",
        "*.token",
        "*.code",
        "*.recoveryCode",
      ],
      censor: "[redacted]",
    },
  };
  if (format === "pretty") {
    // In-process and synchronous: a development terminal, where a worker thread buys nothing.
    // The serializers and redaction above have run before the line is formatted.
    return pino(options, pretty({ destination: destination ?? 1, sync: true, translateTime: "SYS:HH:MM:ss.l" }));
  }
  return destination ? pino(options, destination) : pino(options);
}

/**
 * LOG_FORMAT, or by default: readable lines for a person at a development terminal, JSON
 * wherever a program reads the log (production, a pipe, a file, the tests).
 */
export function logFormatFor(config: { logFormat: "json" | "pretty" | undefined; nodeEnv: string }): "json" | "pretty" {
  if (config.logFormat) return config.logFormat;
  return config.nodeEnv === "development" && process.stdout.isTTY ? "pretty" : "json";
}
