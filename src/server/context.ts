import type { Logger } from "pino";
import type { Authz } from "./authz/start.js";
import type { Config } from "./config.js";
import type { Database, Db } from "./db/client.js";
import type { JobQueue } from "./jobs/queue.js";
import type { Outbox } from "./modules/mail/outbox.js";

/** Everything a route or service needs from the process, passed explicitly (no globals). */
export interface AppContext {
  config: Config;
  database: Database;
  db: Db;
  log: Logger;
  outbox: Outbox;
  /** The one durable job queue: every background task is a job type registered on it. */
  jobs: JobQueue;
  /** The guard's session and membership cache and its invalidation stream. */
  authz: Authz;
}

declare module "fastify" {
  interface FastifyInstance {
    ctx: AppContext;
  }
}
