import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { ts } from "./columns.js";

export type NotificationPrefs = Record<string, { email: boolean; inApp: boolean }>;

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    /** Always stored lower-cased and trimmed; unique. */
    email: text("email").notNull(),
    emailVerifiedAt: ts("email_verified_at"),
    passwordHash: text("password_hash").notNull(),
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    pictureUrl: text("picture_url"),
    phone: text("phone"),
    language: text("language").notNull().default("en"),
    notificationPrefs: jsonb("notification_prefs").$type<NotificationPrefs>().notNull().default({}),
    totpSecret: text("totp_secret"),
    totpEnabledAt: ts("totp_enabled_at"),
    /** Last accepted TOTP time step: a code at or before it is refused (single use). */
    totpLastStep: bigint("totp_last_step", { mode: "number" }),
    createdAt: ts("created_at").notNull().defaultNow(),
    updatedAt: ts("updated_at").notNull().defaultNow(),
  },
  (t) => [uniqueIndex("users_email_key").on(t.email)],
);

export const recoveryCodes = pgTable(
  "recovery_codes",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    codeHash: text("code_hash").notNull(),
    usedAt: ts("used_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
);

export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** SHA-256 (hex) of the 256-bit token; the token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    twoFactorVerified: boolean("two_factor_verified").notNull().default(false),
    createdAt: ts("created_at").notNull().defaultNow(),
    lastUsedAt: ts("last_used_at").notNull().defaultNow(),
    expiresAt: ts("expires_at").notNull(),
    revokedAt: ts("revoked_at"),
  },
  (t) => [
    uniqueIndex("sessions_token_hash_key").on(t.tokenHash),
    // GET /me/sessions pages newest first by (created_at, id).
    index("sessions_user_idx").on(t.userId, t.createdAt, t.id),
  ],
);

/** Single-use, hashed, expiring tokens: email verification, password reset, 2FA sign-in challenge. */
export const authTokens = pgTable(
  "auth_tokens",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** login_device: the device cookie of a browser that signed in (audit finding 8). */
    kind: text("kind", {
      enum: ["verify_email", "password_reset", "login_challenge", "login_device", "signup_browser"],
    }).notNull(),
    tokenHash: text("token_hash").notNull(),
    ip: text("ip"),
    expiresAt: ts("expires_at").notNull(),
    /** Wrong codes tried against a login challenge; it dies at the limit. */
    failedAttempts: integer("failed_attempts").notNull().default(0),
    usedAt: ts("used_at"),
    createdAt: ts("created_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("auth_tokens_hash_key").on(t.tokenHash),
    index("auth_tokens_user_kind_idx").on(t.userId, t.kind, t.createdAt),
  ],
);

/**
 * Every sign-in attempt, successful or not. Also the source of sign-in throttling
 * (failures per known device, per email, email+IP and IP in the last hour; see throttle.ts),
 * so throttling holds across instances.
 */
export const loginAttempts = pgTable(
  "login_attempts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    at: ts("at").notNull().defaultNow(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    success: boolean("success").notNull(),
    /** null on success; e.g. invalid_credentials, invalid_2fa_code, throttled. */
    failureReason: text("failure_reason"),
    /** password | totp | recovery_code — which step this attempt was. */
    method: text("method").notNull().default("password"),
    twoFactorUsed: boolean("two_factor_used").notNull().default(false),
    /** The known device (auth_tokens login_device) the attempt came from; null = an unknown client. */
    deviceId: uuid("device_id"),
    /** Set on failures a completed password reset forgave: the account's limits stop counting them. */
    clearedAt: ts("cleared_at"),
  },
  (t) => [
    // GET /me/login-activity pages newest first by (at, id).
    index("login_attempts_user_idx").on(t.userId, t.at, t.id),
    index("login_attempts_email_idx").on(t.email, t.at),
    index("login_attempts_ip_idx").on(t.ip, t.at),
    index("login_attempts_device_idx").on(t.deviceId, t.at),
  ],
);

/** Counters of throttled actions other than sign-in (reset requests, verification resends, re-auth failures). */
export const rateLimitHits = pgTable(
  "rate_limit_hits",
  {
    key: text("key").notNull(),
    at: ts("at").notNull().defaultNow(),
  },
  (t) => [index("rate_limit_hits_key_idx").on(t.key, t.at)],
);
