import type { PGlite } from "@electric-sql/pglite";
import type { AuthzCache } from "./cache.js";

/** The channel database triggers notify on every authorization-relevant change. */
export const AUTHZ_CHANNEL = "chorus_authz";

/**
 * The invalidation stream that keeps an `AuthzCache` honest. While `trusted()` is false the
 * guard reads the database on every request, exactly as without a cache.
 */
export interface AuthzBus {
  trusted(): boolean;
  /**
   * Resolves once every live instance has applied every change committed before the call:
   * a state-changing request awaits it before answering, so whatever its client does next,
   * on any instance, is judged on the new state.
   */
  barrier(): Promise<void>;
  stop(): Promise<void>;
}

/** AUTHZ_CACHE=off: nothing is ever cached. */
export const offBus: AuthzBus = {
  trusted: () => false,
  barrier: async () => {},
  stop: async () => {},
};

/**
 * The embedded database. PGlite runs the listeners of a commit's notifications before the
 * COMMIT returns (test/authz/invalidation.test.ts holds it to that), and one process holds the
 * database, so every cache sharing it is invalidated before the writer answers: no barrier.
 */
export async function startPgliteBus(client: PGlite, cache: AuthzCache): Promise<AuthzBus> {
  const unlisten = await client.listen(AUTHZ_CHANNEL, (payload) => cache.invalidate(payload));
  cache.flush();
  let live = true;
  return {
    trusted: () => live,
    barrier: async () => {},
    stop: async () => {
      live = false;
      cache.flush();
      // The database may be closed already (shutdown order, a failed start): nothing to undo then.
      await unlisten().catch(() => {});
    },
  };
}
