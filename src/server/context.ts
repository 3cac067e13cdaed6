import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { Database, Db } from "./db/client.js";
import type { Outbox } from "./modules/mail/outbox.js";

/** Everything a route or service needs from the process, passed explicitly (no globals). */
export interface AppContext {
  config: Config;
  database: Database;
  db: Db;
  log: Logger;
  outbox: Outbox;
}

declare module "fastify" {
  interface FastifyInstance {
    ctx: AppContext;
  }
}
