import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Database } from "../db/client.js";
import { type AuthzBus, offBus, startPgliteBus } from "./bus.js";
import { AuthzCache } from "./cache.js";
import { DEFAULT_PG_BUS_TIMING, PgAuthzBus, type PgBusTiming } from "./pg-bus.js";

export interface Authz {
  cache: AuthzCache;
  bus: AuthzBus;
}

/**
 * For operators (/readyz, the start-up line): `on` answers from the cache; `degraded` is
 * enabled but not listening right now, so every request reads the database (correct, slower);
 * `off` is AUTHZ_CACHE=off.
 */
export function authzState(authz: Authz): "on" | "degraded" | "off" {
  if (authz.bus === offBus) return "off";
  return authz.bus.trusted() ? "on" : "degraded";
}

/** The guard's cache with the invalidation stream of the database in use (off: no cache). */
export async function startAuthz(
  database: Database,
  config: Pick<Config, "authzCache" | "authzCacheSize" | "databaseListenUrl" | "databaseConnectTimeoutMs">,
  log: Logger,
  timing: PgBusTiming = DEFAULT_PG_BUS_TIMING,
): Promise<Authz> {
  let bus: AuthzBus = offBus;
  const cache = new AuthzCache(() => bus.trusted(), config.authzCacheSize);
  if (!config.authzCache) return { cache, bus };
  if (database.pglite) {
    bus = await startPgliteBus(database.pglite, cache);
  } else if (database.url) {
    const pgBus = new PgAuthzBus(config.databaseListenUrl ?? database.url, database.db, cache, log, {
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      ...timing,
    });
    await pgBus.start();
    bus = pgBus;
  }
  return { cache, bus };
}
