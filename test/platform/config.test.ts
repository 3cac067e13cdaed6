import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/server/config.js";
import { baseEnv, runToExit } from "./process.js";

describe("configuration", () => {
  it("has working defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: "development",
      port: 3000,
      host: "localhost",
      appUrl: "http://localhost:3000",
      databaseUrl: undefined,
      dataDir: "./data",
      devMailbox: true,
      bodyLimit: 1024 * 1024,
      mailPollMs: 2000,
      mailRetryBaseMs: 5000,
      mailMaxAttempts: 12,
      authzCache: true,
      authzCacheSize: 10_000,
      databaseListenUrl: undefined,
      databaseConnectTimeoutMs: 5_000,
      databaseStatementTimeoutMs: 15_000,
      databaseIdleInTransactionTimeoutMs: 60_000,
      readyzTimeoutMs: 2_000,
    });
    expect(c.sessionIdleTtlMs).toBe(30 * 86_400_000);
  });

  it("reads every variable", () => {
    const c = loadConfig({
      PORT: "8080",
      APP_URL: "https://chorus.example.com/",
      DATABASE_URL: "postgresql://u:p@db:5432/chorus",
      SMTP_URL: "smtps://u:p@mail:465",
      INVITE_TTL: "12h",
      TRUST_PROXY: "true",
      MAIL_MAX_ATTEMPTS: "3",
      LOG_LEVEL: "warn",
      AUTHZ_CACHE: "off",
      AUTHZ_CACHE_SIZE: "50000",
      DATABASE_LISTEN_URL: "postgres://u:p@db-direct:5432/chorus",
      DATABASE_CONNECT_TIMEOUT: "3s",
      DATABASE_STATEMENT_TIMEOUT: "0",
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: "2m",
      READYZ_TIMEOUT: "500ms",
    });
    expect(c).toMatchObject({
      port: 8080,
      appUrl: "https://chorus.example.com",
      databaseUrl: "postgresql://u:p@db:5432/chorus",
      smtpUrl: "smtps://u:p@mail:465",
      devMailbox: false,
      inviteTtlMs: 12 * 3_600_000,
      trustProxy: true,
      mailMaxAttempts: 3,
      logLevel: "warn",
      authzCache: false,
      authzCacheSize: 50_000,
      databaseListenUrl: "postgres://u:p@db-direct:5432/chorus",
      databaseConnectTimeoutMs: 3_000,
      databaseStatementTimeoutMs: 0,
      databaseIdleInTransactionTimeoutMs: 120_000,
      readyzTimeoutMs: 500,
    });
  });

  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ SMTP_URL: "http://mail" }, "SMTP_URL"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ INVITE_TTL: "soon" }, "INVITE_TTL"],
    [{ NODE_ENV: "staging" }, "NODE_ENV"],
    [{ AUTHZ_CACHE: "sometimes" }, "AUTHZ_CACHE"],
    [{ AUTHZ_CACHE_SIZE: "10" }, "AUTHZ_CACHE_SIZE"],
    [{ DATABASE_LISTEN_URL: "redis://x" }, "DATABASE_LISTEN_URL"],
    [{ DATABASE_STATEMENT_TIMEOUT: "forever" }, "DATABASE_STATEMENT_TIMEOUT"],
    [{ NODE_ENV: "production", APP_URL: "https://x.example" }, "SMTP_URL"],
    [{ NODE_ENV: "production", SMTP_URL: "smtp://mail:587" }, "APP_URL"],
    [{ NODE_ENV: "production", SMTP_URL: "smtp://mail:587", APP_URL: "https://x.example" }, "SECRET_KEY"],
    [{ SECRET_KEY: "too short" }, "SECRET_KEY"],
  ])("refuses %o naming %s", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});

describe("a bad value stops the real process with one line naming the variable", () => {
  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    [{ NODE_ENV: "production", APP_URL: "https://chorus.example.com" }, "SMTP_URL"],
  ])(
    "%o → exit 1, stderr names %s",
    async (env, name) => {
      const { code, stderr } = await runToExit(baseEnv({ LOG_LEVEL: "info", ...env }));
      expect(code).toBe(1);
      const lines = stderr.split("\n").filter((l) => l.trim() !== "");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^Invalid configuration: /);
      expect(lines[0]).toContain(name);
    },
    60_000,
  );
});
