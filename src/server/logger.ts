import pino, { type DestinationStream, type Logger } from "pino";
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
export function createLogger(level: string, destination?: DestinationStream): Logger {
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
  return destination ? pino(options, destination) : pino(options);
}
