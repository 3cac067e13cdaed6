import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/server/config.js";
import { createLogger, logFormatFor } from "../../src/server/logger.js";
import { logSink } from "../helpers/log-sink.js";

function sink() {
  const { stream, writes } = logSink();
  return { stream, text: () => writes.join("") };
}

describe("log format (LOG_FORMAT)", () => {
  const production = {
    NODE_ENV: "production",
    APP_URL: "https://chorus.example",
    SMTP_URL: "smtp://mail.example:587",
    SECRET_KEY: "0123456789abcdef0123456789abcdef-prod",
  };

  it("is JSON wherever a program reads the log, pretty only when chosen or at a development terminal", () => {
    expect(logFormatFor(loadConfig(production))).toBe("json");
    expect(logFormatFor(loadConfig({ NODE_ENV: "test" }))).toBe("json");
    // The test runner's stdout is not a terminal: a development process writing to a pipe logs JSON.
    expect(logFormatFor(loadConfig({ NODE_ENV: "development" }))).toBe(process.stdout.isTTY ? "pretty" : "json");
    expect(logFormatFor(loadConfig({ ...production, LOG_FORMAT: "pretty" }))).toBe("pretty");
    expect(logFormatFor(loadConfig({ LOG_FORMAT: "json" }))).toBe("json");
    expect(() => loadConfig({ LOG_FORMAT: "xml" })).toThrow(ConfigError);
  });

  it("pretty lines are readable and as redacted as JSON ones", () => {
    const out = sink();
    const log = createLogger("info", out.stream, "pretty");
    log.info(
      { req: { method: "GET", url: "/invite/tok_secret_123" }, body: { password: "hunter2-hunter2" } },
      "incoming request",
    );
    const text = out.text();
    expect(text).toContain("incoming request");
    expect(text).toContain("/invite/[redacted]");
    expect(text).not.toContain("tok_secret_123");
    expect(text).not.toContain("hunter2-hunter2");
    expect(() => JSON.parse(text)).toThrow(); // a line for a person, not an object

    const json = sink();
    createLogger("info", json.stream).info(
      { req: { method: "GET", url: "/invite/tok_secret_123" } },
      "incoming request",
    );
    expect(JSON.parse(json.text())).toMatchObject({ msg: "incoming request", req: { url: "/invite/[redacted]" } });
  });
});
