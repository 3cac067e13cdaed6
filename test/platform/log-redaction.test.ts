import type { Writable } from "node:stream";
import Fastify, { type FastifyBaseLogger } from "fastify";
import pino, { type Logger } from "pino";
import { describe, expect, it } from "vitest";
import { redactSecrets, redactUrl } from "../../src/server/lib/redact-url.js";
import { createLogger, LOG_CENSOR, RequestLogController } from "../../src/server/logger.js";
import { logSink } from "../helpers/log-sink.js";

function sink() {
  const { stream, writes } = logSink();
  const lines = () => writes.flatMap((w) => w.split("\n").filter(Boolean));
  return { stream, lines: () => lines().map((l) => ({ ...JSON.parse(l), time: 0, pid: 0, hostname: "" })) };
}

/**
 * The logger as it was configured before issue 12: pino's own `redact` option with these paths
 * (and Fastify's `res` serializer, which Fastify merged in). The reference the cheaper redaction
 * must match line for line.
 */
function pinoRedactLogger(destination: Writable): Logger {
  return pino(
    {
      level: "info",
      serializers: {
        req: (req: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
        }),
        res: (reply: { statusCode: number }) => ({ statusCode: reply.statusCode }),
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
    },
    destination,
  );
}

// One error for both loggers (its stack names where it was made).
const pgError = Object.assign(new Error("duplicate key, token=abc123 in /invite/tok_secret_1"), {
  code: "23505",
  detail: "Key (email)=(a@b.c) already exists.",
});

/** The same lines through a logger (its children included). */
function writeLines(log: Logger) {
  log.info(
    { body: { email: "a@b.c", password: "hunter2-hunter2", newPassword: "n", currentPassword: "c" } },
    "sign up",
  );
  log.info({ input: { token: "tok_1", code: "123456", recoveryCode: "rc", keep: "visible" } }, "codes");
  log.error({ err: pgError }, "query failed");
  log.error(pgError);
  log.info({ req: { method: "GET", url: "/invite/tok_secret_2", host: "h", ip: "1.2.3.4" } }, "incoming request");
  log.info({ res: { statusCode: 200, headers: { "set-cookie": "s" } }, responseTime: 1.5 }, "request completed");
  log.info({ password: "top-level stays", token: "top-level stays" }, "top level is not a wildcard match");
  log.info({ deep: { inner: { password: "depth three stays" } } }, "only one level below the top");
  log.info({ list: [{ password: "in an array" }], n: 3, s: "x", nil: null, flag: true }, "other values");
  log.info({ headers: { authorization: "Bearer top" }, request: { headers: { cookie: "c" } } }, "not req");
  log.info({ user: { id: 1, code: undefined } }, "undefined value");
  log.info("just a message");
  const child = log.child({ reqId: "r1", session: { token: "child-binding" }, plain: { a: 1 } });
  child.info({ extra: { code: "child-line" } }, "from a child");
  child.child({ nested: { password: "grandchild-secret" } }).warn("from a grandchild");
}

describe("log redaction (issue 12: pino's redact replaced by serializers and formatters)", () => {
  it("writes exactly the lines pino's redact option wrote, secrets censored at the same places", () => {
    const before = sink();
    writeLines(pinoRedactLogger(before.stream));
    const after = sink();
    writeLines(createLogger("info", after.stream));
    expect(after.lines()).toEqual(before.lines());
    const text = JSON.stringify(after.lines());
    for (const secret of [
      "hunter2-hunter2",
      "tok_1",
      "123456",
      "child-binding",
      "grandchild-secret",
      "tok_secret_2",
      "23505",
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain(LOG_CENSOR);
    expect(text).toContain("depth three stays"); // the reference keeps it too: no deeper than pino did
  });

  it("censors through Fastify's request logger, which merges its own serializers with ours: one line per request, on response", async () => {
    const out = sink();
    const app = Fastify({
      loggerInstance: createLogger("info", out.stream) as FastifyBaseLogger,
      logController: new RequestLogController(),
      genReqId: () => "req-1",
    });
    app.get("/invite/:token", async (request) => {
      request.log.info({ body: { password: "route-secret" } }, "in the handler");
      return { ok: true };
    });
    await app.inject({ method: "GET", url: "/invite/tok_secret_3", headers: { cookie: "chorus_session=s" } });
    await app.close();
    const lines = out.lines();
    expect(lines.map((l) => l.msg)).toEqual(["in the handler", "request completed"]);
    expect(lines[0].body).toEqual({ password: LOG_CENSOR });
    const completed = lines[1];
    expect(completed).toMatchObject({
      level: 30,
      reqId: "req-1",
      req: { method: "GET", url: "/invite/[redacted]", host: "localhost:80", remoteAddress: "127.0.0.1" },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
    expect(JSON.stringify(lines)).not.toMatch(/route-secret|tok_secret_3|chorus_session/);
  });

  it("writes `incoming request` too at debug level, and `request errored` with the request when the answer fails", async () => {
    const out = sink();
    const app = Fastify({
      loggerInstance: createLogger("debug", out.stream) as FastifyBaseLogger,
      logController: new RequestLogController(),
    });
    app.get("/invite/:token", async () => ({ ok: true }));
    await app.inject({ method: "GET", url: "/invite/tok_secret_4?token=tok_secret_5" });
    await app.close();
    const lines = out.lines();
    expect(lines.map((l) => l.msg)).toEqual(["incoming request", "request completed"]);
    expect(lines[0]).toMatchObject({ level: 20, req: { method: "GET" } });
    expect(lines[0].reqId).toBe(lines[1].reqId);
    expect(JSON.stringify(lines)).not.toMatch(/tok_secret_4|tok_secret_5/);

    // What Fastify calls when the response stream fails after the handler (reply.js), here with
    // the fields the line reads of the request and the reply.
    const errOut = sink();
    const log = createLogger("info", errOut.stream);
    new RequestLogController().requestCompleted(
      new Error("socket hang up"),
      { log, method: "GET", url: "/invite/tok_secret_6" } as never,
      { log, statusCode: 200, elapsedTime: 3 } as never,
    );
    const errored = errOut.lines().find((l) => l.msg === "request errored");
    expect(errored).toMatchObject({ level: 50, res: { statusCode: 200 }, err: { message: "socket hang up" } });
    expect(JSON.stringify(errOut.lines())).not.toContain("tok_secret_6");
  });
});

describe("the `request completed` line, composed without pino's generic walk (issue 12)", () => {
  it("is byte for byte what log.info({ req, res, responseTime }) writes: field order, escaping, tokens redacted, absent fields left out", () => {
    const { writes: raw, stream } = logSink();
    const log = createLogger("info", stream).child({ reqId: 'req-"1"' });
    const requests = [
      { method: "GET", url: "/healthz", host: "chorus.test", ip: "10.0.0.1", socket: { remotePort: 50123 } },
      { method: "POST", url: "/invite/tok_secret_7?next=%2Fa&token=tok_secret_8", host: "h", ip: "::1", socket: {} },
      { method: "GET", url: '/search?q="é\\\n\u2028', ip: "127.0.0.1" },
    ];
    for (const [i, req] of requests.entries()) {
      const reply = { log, statusCode: 200 + i, elapsedTime: 1.25 + i / 3 };
      new RequestLogController().requestCompleted(null, req as never, reply as never);
      log.info({ req, res: reply, responseTime: reply.elapsedTime }, "request completed");
    }
    const sameTime = (line: string) => line.replace(/"time":\d+/, '"time":0');
    expect(raw).toHaveLength(requests.length * 2);
    for (let i = 0; i < raw.length; i += 2) expect(sameTime(raw[i]!)).toBe(sameTime(raw[i + 1]!));
    const text = raw.join("");
    expect(text).not.toMatch(/tok_secret_7|tok_secret_8/);
    expect(JSON.parse(raw[2]!)).toMatchObject({
      reqId: 'req-"1"',
      req: { url: "/invite/[redacted]?next=/a&token=[redacted]" },
    });
  });

  it("is not written below the info level", () => {
    const { writes: raw, stream } = logSink();
    const log = createLogger("warn", stream);
    new RequestLogController().requestCompleted(
      null,
      { method: "GET", url: "/" } as never,
      {
        log,
        statusCode: 200,
        elapsedTime: 1,
      } as never,
    );
    log.warn("a warning");
    expect(raw.map((l) => JSON.parse(l).msg)).toEqual(["a warning"]);
  });
});
