import { and, desc, eq } from "drizzle-orm";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import pino, { type Logger } from "pino";
import { buildApp } from "../../src/server/app.js";
import type { PgBusTiming } from "../../src/server/authz/pg-bus.js";
import { startAuthz } from "../../src/server/authz/start.js";
import { type Config, loadConfig } from "../../src/server/config.js";
import type { Database } from "../../src/server/db/client.js";
import { mailOutbox } from "../../src/server/db/schema/index.js";
import type { JobQueue } from "../../src/server/jobs/queue.js";
import type { Outbox } from "../../src/server/modules/mail/outbox.js";
import { createTestDatabase } from "./db.js";

export const APP_URL = "http://chorus.test";
export const ORIGIN = APP_URL;

export interface TestApp {
  app: FastifyInstance;
  database: Database;
  config: Config;
  close(): Promise<void>;
  /** A new client with its own cookie jar. */
  client(): TestClient;
  /**
   * After a test writes the database directly (not through the app, so no request awaited the
   * write barrier): resolves once every instance's authorization cache has applied the change.
   */
  settle(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a database (e.g. two app instances on one PostgreSQL). */
  database?: Database;
  /** A mail outbox of the test's own on the app's job queue (e.g. other SMTP settings). */
  outbox?: (database: Database, config: Config, jobs: JobQueue) => Outbox;
  /** Run job workers and schedules, as `npm start` does (default: jobs are only enqueued; tests drain). */
  workers?: boolean;
  /** Lease and reconnect timing of the authorization cache's PostgreSQL bus. */
  authzTiming?: PgBusTiming;
  /** The app's logger (default: silent, or TEST_LOG_LEVEL). */
  logger?: Logger;
  /** Serve the built web app too (dist/web, built by test/global-setup.ts). */
  serveWeb?: boolean;
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const database = opts.database ?? (await createTestDatabase());
  const config = loadConfig({ NODE_ENV: "test", APP_URL, LOG_LEVEL: "silent", ...opts.env });
  const logger = opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const authz = opts.authzTiming ? await startAuthz(database, config, logger, opts.authzTiming) : undefined;
  const app = await buildApp({
    config,
    database,
    logger,
    workers: opts.workers ?? false,
    serveWeb: opts.serveWeb ?? false,
    ...(opts.outbox ? { outbox: (jobs: JobQueue) => opts.outbox!(database, config, jobs) } : {}),
    ...(authz ? { authz } : {}),
  });
  await app.ready();
  await app.ctx.jobs.start(); // the test database is up: start before the test begins, not during it
  return {
    app,
    database,
    config,
    client: () => new TestClient(app),
    settle: () => app.ctx.authz.bus.barrier(),
    close: async () => {
      await app.close();
      if (!opts.database) await database.close();
    },
  };
}

type Body = Record<string, unknown> | unknown[] | string | undefined;

/** Talks to the app like a browser: keeps the session cookie and sends our Origin on writes. */
export class TestClient {
  cookies: Record<string, string> = {};
  bearer: string | null = null;
  headers: Record<string, string> = { "user-agent": "vitest" };

  constructor(readonly app: FastifyInstance) {}

  async request(
    method: string,
    url: string,
    body?: Body,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const h: Record<string, string> = { ...this.headers, ...headers };
    if (method !== "GET" && method !== "HEAD" && !("origin" in h)) h.origin = ORIGIN;
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    const res = await this.app.inject({
      method: method as "GET",
      url,
      headers: h,
      cookies: this.cookies,
      ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}),
    });
    for (const c of res.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      const expired = c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now()) || c.value === "";
      if (expired) delete this.cookies[c.name];
      else this.cookies[c.name] = c.value;
    }
    return res;
  }

  get(url: string, headers?: Record<string, string>) {
    return this.request("GET", url, undefined, headers);
  }
  post(url: string, body?: Body, headers?: Record<string, string>) {
    return this.request("POST", url, body ?? {}, headers);
  }
  patch(url: string, body?: Body, headers?: Record<string, string>) {
    return this.request("PATCH", url, body ?? {}, headers);
  }
  put(url: string, body?: Body, headers?: Record<string, string>) {
    return this.request("PUT", url, body ?? {}, headers);
  }
  delete(url: string, body?: Body, headers?: Record<string, string>) {
    return this.request("DELETE", url, body, headers);
  }
}

let counter = 0;
/** A unique email per call, so tests never collide. */
export function uniqueEmail(prefix = "user"): string {
  counter++;
  return `${prefix}.${Date.now().toString(36)}.${counter}@example.com`;
}

export const STRONG_PASSWORD = "correct horse battery staple";

/**
 * Signs up a new user on `client` and returns the user body, signed in with the email verified:
 * sign-up answers 202 and sends the verification link (audit finding 17), so this reads the link
 * from the development mailbox (the outbox table) and follows it, which signs in.
 */
export async function signUp(
  client: TestClient,
  over: Partial<{ email: string; password: string; firstName: string; lastName: string }> = {},
) {
  const body = {
    email: over.email ?? uniqueEmail(),
    password: over.password ?? STRONG_PASSWORD,
    firstName: over.firstName ?? "Ada",
    lastName: over.lastName ?? "Lovelace",
  };
  // Each fixture sign-up comes from its own address, so the per-IP sign-up limit (tested on its
  // own) never throttles a file that signs many users up. Sign-up sets no cookie to keep.
  const res = await client.app.inject({
    method: "POST",
    url: "/api/v1/auth/signup",
    remoteAddress: nextSignupAddress(),
    headers: { origin: ORIGIN, ...client.headers },
    payload: body,
  });
  if (res.statusCode !== 202) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  // The sign-up cookie: the verification link signs in only the browser that signed up.
  for (const c of res.cookies as { name: string; value: string }[]) client.cookies[c.name] = c.value;
  const token = await verificationToken(client.app, body.email.trim().toLowerCase());
  const verified = await client.post("/api/v1/auth/verify-email", { token });
  if (verified.statusCode !== 200) throw new Error(`verify-email failed: ${verified.statusCode} ${verified.body}`);
  return { ...verified.json(), password: body.password } as {
    id: string;
    email: string;
    password: string;
    firstName: string;
    lastName: string;
  };
}

let signupAddresses = 0;
const nextSignupAddress = () => {
  const n = ++signupAddresses;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

/** The token of the newest verification link emailed to `email`. */
export async function verificationToken(app: FastifyInstance, email: string): Promise<string> {
  const [mail] = await app.ctx.db
    .select({ text: mailOutbox.textBody })
    .from(mailOutbox)
    .where(and(eq(mailOutbox.toEmail, email), eq(mailOutbox.template, "verifyEmail")))
    .orderBy(desc(mailOutbox.createdAt), desc(mailOutbox.id))
    .limit(1);
  const match = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? "");
  if (!match) throw new Error(`no verification email to ${email}`);
  return match[1]!;
}
