import { z } from "zod";

const bool = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off", ""])
  .transform((v) => v === "1" || v === "true" || v === "yes" || v === "on");

/** "7d", "12h", "30m", "45s" or plain seconds → milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, "expected a duration such as 7d, 12h, 30m or 3600")
  .transform((v) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(v)!;
    const n = Number(match[1]);
    const unit = match[2] ?? "s";
    const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
    return n * factor;
  });

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    `expected a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`,
  );

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Loopback unless told otherwise: a plain start is reachable from this machine only.
  HOST: z.string().min(1).default("localhost"),
  APP_URL: url(["http:", "https:"]).optional(),
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  SMTP_URL: url(["smtp:", "smtps:"]).optional(),
  MAIL_FROM: z.string().min(3).default("Chorus <no-reply@chorus.localhost>"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
  SESSION_IDLE_TTL: duration.default(30 * 86_400_000),
  SESSION_ABSOLUTE_TTL: duration.default(30 * 86_400_000),
  INVITE_TTL: duration.default(7 * 86_400_000),
  TRUST_PROXY: bool.default(false),
  SEED_DEMO: bool.default(false),
  BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  MAIL_POLL_MS: z.coerce.number().int().min(10).default(2000),
  MAIL_RETRY_BASE_MS: z.coerce.number().int().min(1).default(5000),
  MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(12),
  AUTHZ_CACHE: bool.default(true),
  AUTHZ_CACHE_SIZE: z.coerce.number().int().min(100).max(10_000_000).default(10_000),
  DATABASE_LISTEN_URL: url(["postgres:", "postgresql:"]).optional(),
  DEV_TOOLS: z.enum(["local", "public"]).default("local"),

  DATABASE_CONNECT_TIMEOUT: duration.default(5_000),
  DATABASE_STATEMENT_TIMEOUT: duration.default(15_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: duration.default(60_000),
  READYZ_TIMEOUT: duration.default(2_000),

  SECRET_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  SECRET_KEY_PREVIOUS: z.string().optional(),
  WA_GRAPH_URL: url(["http:", "https:"]).default("https://graph.facebook.com/v23.0"),
  WA_SIMULATOR_URL: url(["http:", "https:"]).optional(),
  WA_HTTP_TIMEOUT: duration.default(10_000),
  PRESENCE_OFFLINE_GRACE: duration.default(180_000),
});

/**
 * The development default of SECRET_KEY (never accepted in production): secrets a development
 * database holds are encrypted with a key anyone can read here.
 */
export const DEVELOPMENT_SECRET_KEY = "chorus-development-secret-key-not-for-production";

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  host: string;
  appUrl: string;
  databaseUrl: string | undefined;
  dataDir: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  logLevel: string;
  /** `pretty`: one readable line per entry (development); `json`: one JSON object per line. */
  logFormat: "json" | "pretty" | undefined;
  /** A session unused this long ends (sliding expiry). */
  sessionIdleTtlMs: number;
  /** A session ends this long after sign-in, however much it is used. */
  sessionAbsoluteTtlMs: number;
  inviteTtlMs: number;
  trustProxy: boolean;
  seedDemo: boolean;
  bodyLimit: number;
  /** Mail outbox: how often a worker looks for due mail, the first retry delay (doubled each time), the attempts before `failed`. */
  mailPollMs: number;
  mailRetryBaseMs: number;
  mailMaxAttempts: number;
  /** Keep sessions and memberships between requests, invalidated by the database's notifications. */
  authzCache: boolean;
  /** Sessions, and separately memberships, the cache keeps (least recently used go first). */
  authzCacheSize: number;
  /** A direct connection for LISTEN when DATABASE_URL goes through a transaction-pooling proxy. */
  databaseListenUrl: string | undefined;
  /**
   * PostgreSQL only: how long to wait for a connection, for one statement (0 = no limit), and
   * for a transaction that sits idle, before giving up (the request answers 503).
   */
  databaseConnectTimeoutMs: number;
  databaseStatementTimeoutMs: number;
  databaseIdleInTransactionTimeoutMs: number;
  /** /readyz answers 503 when the database has not answered within this. */
  readyzTimeoutMs: number;
  /** Development mailbox on (no SMTP server configured; never in production). */
  devMailbox: boolean;
  /** DEV_TOOLS=public: development tools answer other machines too (never in production). */
  devToolsPublic: boolean;
  /** Encrypts secrets at rest (channel tokens): HKDF-derived AES-256-GCM keys. */
  secretKey: string;
  /** Earlier SECRET_KEYs (comma-separated), still accepted for decryption while rotating. */
  secretKeyPrevious: string[];
  /** Meta's Graph API base (with its version) for `cloud` channels. */
  waGraphUrl: string;
  /** The fake Graph API `simulator` channels talk to (default: the one inside this server). */
  waSimulatorUrl: string;
  /** How long one Graph API request may take. */
  waHttpTimeoutMs: number;
  /** A member whose last event stream closed and stayed closed this long goes offline (online/busy only). */
  presenceOfflineGraceMs: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset", as they do in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid configuration: ${name}=${JSON.stringify(env[name] ?? "")}: ${issue.message}`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === "production" && !e.SMTP_URL) {
    throw new ConfigError("Invalid configuration: SMTP_URL is required when NODE_ENV=production");
  }
  if (e.NODE_ENV === "production" && !e.APP_URL) {
    throw new ConfigError("Invalid configuration: APP_URL is required when NODE_ENV=production");
  }
  if (e.NODE_ENV === "production" && !e.SECRET_KEY) {
    throw new ConfigError("Invalid configuration: SECRET_KEY is required when NODE_ENV=production");
  }
  if (e.NODE_ENV === "production" && e.SECRET_KEY === DEVELOPMENT_SECRET_KEY) {
    throw new ConfigError("Invalid configuration: SECRET_KEY must not be the development default in production");
  }
  if (e.NODE_ENV === "production" && e.DEV_TOOLS === "public") {
    throw new ConfigError("Invalid configuration: DEV_TOOLS=public is not allowed when NODE_ENV=production");
  }
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    appUrl: (e.APP_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    sessionIdleTtlMs: e.SESSION_IDLE_TTL,
    sessionAbsoluteTtlMs: e.SESSION_ABSOLUTE_TTL,
    inviteTtlMs: e.INVITE_TTL,
    trustProxy: e.TRUST_PROXY,
    seedDemo: e.SEED_DEMO,
    bodyLimit: e.BODY_LIMIT,
    mailPollMs: e.MAIL_POLL_MS,
    mailRetryBaseMs: e.MAIL_RETRY_BASE_MS,
    mailMaxAttempts: e.MAIL_MAX_ATTEMPTS,
    authzCache: e.AUTHZ_CACHE,
    authzCacheSize: e.AUTHZ_CACHE_SIZE,
    databaseListenUrl: e.DATABASE_LISTEN_URL,
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT,
    databaseIdleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT,
    readyzTimeoutMs: e.READYZ_TIMEOUT,
    devMailbox: !e.SMTP_URL && e.NODE_ENV !== "production",
    devToolsPublic: e.DEV_TOOLS === "public",
    secretKey: e.SECRET_KEY ?? DEVELOPMENT_SECRET_KEY,
    secretKeyPrevious: (e.SECRET_KEY_PREVIOUS ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter((k) => k.length > 0),
    waGraphUrl: e.WA_GRAPH_URL.replace(/\/+$/, ""),
    waSimulatorUrl: (e.WA_SIMULATOR_URL ?? `http://127.0.0.1:${e.PORT}/dev/wa-sim`).replace(/\/+$/, ""),
    waHttpTimeoutMs: e.WA_HTTP_TIMEOUT,
    presenceOfflineGraceMs: e.PRESENCE_OFFLINE_GRACE,
  };
}

/** For entry points: a bad value stops the process with one clear line naming the variable. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
