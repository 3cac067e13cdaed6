import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { sql } from "drizzle-orm";
import pg from "pg";
import type { Logger } from "pino";
import type { Db } from "../db/client.js";
import { AUTHZ_CHANNEL, type AuthzBus } from "./bus.js";
import type { AuthzCache } from "./cache.js";

export interface PgBusTiming {
  /** How long an instance's lease lasts in the database once renewed. */
  leaseMs: number;
  /** How often the lease is renewed (over the notification connection, proving it alive). */
  renewMs: number;
  /** The instance stops trusting its cache this long before its lease runs out in the database. */
  marginMs: number;
  /** Wait before reconnecting a lost notification connection. */
  reconnectMs: number;
  /** Give up a connection attempt after this long (a hung server), then retry (default: 5 s). */
  connectTimeoutMs?: number;
}

export const DEFAULT_PG_BUS_TIMING: PgBusTiming = { leaseMs: 5000, renewMs: 1000, marginMs: 1000, reconnectMs: 1000 };

/** The barrier's ping, with the instances that hold a lease and how long it lasts (ms). */
const LIVE_SQL = `(select coalesce(json_agg(json_build_object(
     'id', id, 'ms', ceil(extract(epoch from lease_until - now()) * 1000))), '[]'::json)
   from authz_instances where lease_until > now())`;
const PING_SQL = `select pg_notify($1, $2), ${LIVE_SQL} as live`;

type PingResult = { rows: { live: { id: string; ms: number }[] }[] };

interface PingBatch {
  seq: number;
  result: Promise<PingResult>;
  resolve: (r: PingResult) => void;
  reject: (err: unknown) => void;
}

interface Waiter {
  /** The ping's sequence number; an ack for a later ping of this instance covers it too. */
  seq: number;
  acked: Set<string>;
  check: () => void;
}

/**
 * The invalidation stream over a PostgreSQL server shared by several instances.
 *
 * - A dedicated connection LISTENs on `chorus_authz`; each change notification invalidates a
 *   cache scope. The cache is flushed whenever listening (re)starts, and trusted only while the
 *   connection is up and the instance's lease, renewed over that same connection, has not run out.
 * - The barrier: after its change committed, a writer notifies a ping on the same channel and reads
 *   which instances hold a lease. PostgreSQL delivers notifications in commit order, so an instance
 *   that sees the ping has applied the change; it answers with an ack. The writer waits for every
 *   leaseholder's ack, or for its lease to run out: an instance that lost its connection without
 *   knowing it stops trusting its cache before then (`marginMs`).
 */
export class PgAuthzBus implements AuthzBus {
  readonly id = randomUUID();
  #client: pg.Client | null = null;
  #trustUntil = 0;
  #stopped = false;
  #renewTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #waiters = new Set<Waiter>();
  /** Barriers completed, those that ended a wait by a lease running out rather than an ack, pings sent. */
  readonly stats = { barriers: 0, leaseWaits: 0, pings: 0 };
  #seq = 0;
  /** The ping the next barriers join (not sent yet), and whether one is in flight. */
  #pending: PingBatch | null = null;
  #pingInFlight = false;
  /** Pinging instance → the latest of its pings seen, to ack together once the batch is applied. */
  readonly #acksDue = new Map<string, number>();
  #acksScheduled = false;

  constructor(
    private readonly url: string,
    private readonly db: Db,
    private readonly cache: AuthzCache,
    private readonly log: Logger,
    private readonly timing: PgBusTiming = DEFAULT_PG_BUS_TIMING,
  ) {}

  /** Connects once; when that fails the app still serves (uncached) and the bus keeps retrying. */
  async start(): Promise<void> {
    try {
      await this.#connect();
    } catch (err) {
      this.log.warn({ err }, "authorization cache: cannot listen for changes yet; reading every request");
      this.#scheduleReconnect();
    }
  }

  trusted(): boolean {
    return this.#client !== null && performance.now() < this.#trustUntil;
  }

  async barrier(): Promise<void> {
    const batch = this.#joinPing();
    const waiter: Waiter = { seq: batch.seq, acked: new Set(), check: () => {} };
    this.#waiters.add(waiter);
    try {
      const result = await batch.result;
      const started = performance.now();
      // This instance waits for its own listener only while that listener is what it trusts.
      const expected = result.rows[0]!.live.filter((i) => i.id !== this.id || this.trusted());
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        let done = false;
        waiter.check = () => {
          // Acks may still arrive between resolve() and the waiter's removal below.
          if (done) return;
          const elapsed = performance.now() - started;
          const missing = expected.filter((i) => !waiter.acked.has(i.id) && i.ms > elapsed);
          if (missing.length === 0) {
            clearTimeout(timer);
            done = true;
            this.stats.barriers++;
            if (expected.some((i) => !waiter.acked.has(i.id))) this.stats.leaseWaits++;
            resolve();
            return;
          }
          clearTimeout(timer);
          // Wake when the first missing lease runs out, or an ack calls check() again.
          timer = setTimeout(waiter.check, Math.max(1, Math.min(...missing.map((i) => i.ms)) - elapsed + 1));
        };
        waiter.check();
      });
    } finally {
      this.#waiters.delete(waiter);
    }
  }

  /**
   * The ping a barrier waits on. Every caller's change has committed before it calls, so one ping
   * sent after several callers joined covers them all (NOTIFY is delivered in commit order). At
   * most one ping is in flight: callers arriving meanwhile share the next one, sent when it
   * returns. Under concurrent writes the pings (one round trip each on the listening connection)
   * do not multiply with them (issue 12).
   */
  #joinPing(): PingBatch {
    let batch = this.#pending;
    if (!batch) {
      let resolve!: (r: PingResult) => void;
      let reject!: (err: unknown) => void;
      const result = new Promise<PingResult>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A barrier that fails rejects; one nobody awaits yet must not be an unhandled rejection.
      result.catch(() => {});
      batch = { seq: ++this.#seq, result, resolve, reject };
      this.#pending = batch;
      if (!this.#pingInFlight) this.#sendPing();
    }
    return batch;
  }

  #sendPing(): void {
    const batch = this.#pending;
    if (!batch) return;
    this.#pending = null;
    this.#pingInFlight = true;
    this.stats.pings++;
    // Sent over the LISTEN connection when it is up: PostgreSQL hands a session its own
    // notifications (after every earlier commit's) before the statement returns, which saves
    // this instance's own ack a trip. The pool serves when it is down.
    const listener = this.#client;
    const ping = `p:${this.id}:${batch.seq}`;
    const sent: Promise<PingResult> = listener
      ? listener.query(PING_SQL, [AUTHZ_CHANNEL, ping])
      : (this.db.execute(
          sql`select pg_notify(${AUTHZ_CHANNEL}, ${ping}), ${sql.raw(LIVE_SQL)} as live`,
        ) as unknown as Promise<PingResult>);
    sent.then(batch.resolve, batch.reject).finally(() => {
      this.#pingInFlight = false;
      this.#sendPing();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#renewTimer);
    const client = this.#client;
    this.#client = null;
    this.cache.flush();
    if (!client) return;
    // Writers need not wait for a lease that is gone.
    await client.query("delete from authz_instances where id = $1", [this.id]).catch(() => {});
    await client.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `chorus-authz:${this.id}`,
      // A hung server must fail the attempt (and the next one be tried), not hold it forever;
      // a renewal unanswered for a whole lease means the connection is lost.
      connectionTimeoutMillis: this.timing.connectTimeoutMs ?? 5_000,
      query_timeout: this.timing.leaseMs,
      keepAlive: true,
    });
    client.on("notification", (msg) => this.#onMessage(client, msg.payload ?? ""));
    client.on("error", (err) => this.#lost(client, err));
    client.on("end", () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`listen ${AUTHZ_CHANNEL}`);
      await client.query("delete from authz_instances where lease_until < now() - interval '1 hour'");
      if (this.#stopped) throw new Error("stopped");
      this.#client = client;
      // Entries read before listening began may miss a change: start from nothing.
      this.cache.flush();
      await this.#renew(client);
    } catch (err) {
      if (this.#client === client) this.#client = null;
      client.removeAllListeners("end");
      client.on("error", () => {});
      await client.end().catch(() => {});
      throw err;
    }
    // stop() or a lost connection while renewing: nothing to keep alive.
    if (this.#stopped || this.#client !== client) return;
    this.#renewTimer = setInterval(() => {
      this.#renew(client).catch((err) => this.#lost(client, err));
    }, this.timing.renewMs);
    this.#renewTimer.unref();
    this.log.debug({ instance: this.id }, "authorization cache: listening for changes");
  }

  async #renew(client: pg.Client): Promise<void> {
    const sent = performance.now();
    await client.query(
      `insert into authz_instances (id, lease_until) values ($1, now() + $2 * interval '1 millisecond')
       on conflict (id) do update set lease_until = excluded.lease_until`,
      [this.id, this.timing.leaseMs],
    );
    // The database counted the lease from a moment after `sent`: ending trust earlier is safe.
    if (this.#client === client) this.#trustUntil = sent + this.timing.leaseMs - this.timing.marginMs;
  }

  /**
   * Payloads: a change scope (see cache.ts); `p:<instance>:<seq>`, a writer's ping; and
   * `a:<instance>:<seq>:<acker>`, "acker has applied everything up to that instance's ping seq".
   */
  #onMessage(client: pg.Client, payload: string): void {
    if (payload.startsWith("p:")) {
      const [, from, seq] = payload.split(":");
      if (from === this.id) {
        this.#acked(this.id, Number(seq));
      } else {
        this.#acksDue.set(from!, Math.max(this.#acksDue.get(from!) ?? 0, Number(seq)));
        this.#scheduleAcks(client);
      }
      return;
    }
    if (payload.startsWith("a:")) {
      const [, to, seq, from] = payload.split(":");
      if (to === this.id) this.#acked(from!, Number(seq));
      return;
    }
    this.cache.invalidate(payload);
  }

  /** `instance` has applied every change committed before this instance's ping `upTo`. */
  #acked(instance: string, upTo: number): void {
    for (const waiter of this.#waiters) {
      if (waiter.seq > upTo) continue;
      waiter.acked.add(instance);
      waiter.check();
    }
  }

  /**
   * One statement acks every ping of a batch (node-postgres emits a network read's notifications
   * one after another, then setImmediate runs): under many concurrent writes the acks do not
   * multiply with them, and each covers all earlier pings of its writer.
   */
  #scheduleAcks(client: pg.Client): void {
    if (this.#acksScheduled) return;
    this.#acksScheduled = true;
    setImmediate(() => {
      this.#acksScheduled = false;
      const payloads = [...this.#acksDue].map(([to, seq]) => `a:${to}:${seq}:${this.id}`);
      this.#acksDue.clear();
      if (payloads.length === 0) return;
      client.query("select pg_notify($1, p) from unnest($2::text[]) as p", [AUTHZ_CHANNEL, payloads]).catch(() => {});
    });
  }

  #lost(client: pg.Client, err?: unknown): void {
    if (this.#client !== client) return;
    this.#client = null;
    this.#trustUntil = 0;
    clearInterval(this.#renewTimer);
    this.cache.flush();
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.log.warn({ err }, "authorization cache: lost the change notifications; reading every request until back");
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#connect().catch(() => this.#scheduleReconnect());
    }, this.timing.reconnectMs);
    this.#reconnectTimer.unref();
  }
}
