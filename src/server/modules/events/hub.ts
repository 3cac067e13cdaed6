import { and, desc, eq, gt, inArray, sql } from "drizzle-orm";
import pg from "pg";
import type { AppContext } from "../../context.js";
import { events } from "../../db/schema/index.js";
import type { InboxRuleSettings } from "../roles/object-rules.js";
import { getWorkspaceSettings } from "../settings/service.js";
import { EVENTS_CHANNEL } from "./publish.js";

export type EventRow = typeof events.$inferSelect;

/** An open stream as the hub sees it: its organization and member, and where rows go. */
export interface Subscriber {
  readonly orgId: string;
  readonly userId: string;
  /** The membership (presence is per membership). */
  readonly memberId: string;
  /** Rows of the subscriber's organization, in the order the hub read them (ascending ids per batch). */
  deliver(rows: readonly EventRow[]): void;
  /** The events before this one may be lost (the hub's LISTEN connection was down): the client reloads. */
  resync(): void;
  /** Re-read the member's session and membership (an authorization change may concern them). */
  recheck(): void;
  /** Close the stream (member removed, server shutting down). */
  close(reason: string): void;
}

/** Control payloads on the events channel: `x:<orgId>:<userId>` closes that member's streams everywhere. */
const CLOSE_PREFIX = "x:";
/** `m:<orgId>:<notificationId>,…`: notifications whose email is pending (the first instance to claim one mails it). */
export const MAIL_PREFIX = "m:";
/** How long an organization's inbox settings are reused by its streams. */
const SETTINGS_TTL_MS = 2_000;

/** How long an app's start waits for the hub's LISTEN connection before going on without it. */
const FIRST_CONNECT_WAIT_MS = 2_000;

/**
 * The fan-out of one app instance (DESIGN §7.6): listens on `chorus_events`, reads the rows a
 * commit's NOTIFY names (one query per organization with local streams per batch of
 * notifications, whatever the number of streams), and hands them to the open streams of that
 * organization, which filter them by their member's visibility. On PostgreSQL it keeps one
 * dedicated LISTEN connection (the authorization bus's pattern: reconnect, and then a `resync`
 * to every stream, since notifications may have been missed); on PGlite it listens in process.
 */
export class EventHub {
  readonly #byOrg = new Map<string, Set<Subscriber>>();
  readonly #pending = new Map<string, Set<number>>();
  #flushScheduled = false;
  #client: pg.Client | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  #stopped = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #settings = new Map<
    string,
    { at: number; value: Promise<InboxRuleSettings>; resolved?: InboxRuleSettings }
  >();
  /** Claims and mails pending notification emails (set by the notifications module). */
  onMailPending: ((orgId: string, ids: string[]) => void) | null = null;
  /**
   * A member's first stream on this instance opened, or their last one here closed (automatic
   * offline, presence/auto-offline.ts). Not called for the streams the hub closes when it stops.
   */
  onMemberStreams: ((change: "opened" | "closed", orgId: string, memberId: string) => void) | null = null;
  /** Open streams per member on this instance (`<orgId>:<memberId>`). */
  readonly #memberStreams = new Map<string, number>();
  /** For tests and the benchmark. */
  readonly stats = { notifications: 0, rowsRead: 0, reconnects: 0 };

  constructor(private readonly ctx: AppContext) {}

  async start(): Promise<void> {
    const { database } = this.ctx;
    this.ctx.authz.cache.observers.add(this.#authzChanged);
    if (database.pglite) {
      this.#unlisten = await database.pglite.listen(EVENTS_CHANNEL, (payload) => this.#onMessage(payload));
      return;
    }
    // The first connection is waited for briefly only: with the database hung (not refusing), the
    // app must still start and /readyz answer 503 rather than wait out DATABASE_CONNECT_TIMEOUT
    // (test/platform/db-faults.test.ts). It goes on in the background; streams opened meanwhile
    // are told to resync once it is up, as after a reconnect.
    const first = this.#connect().then(
      () => true,
      (err) => {
        this.ctx.log.warn({ err }, "real-time events: cannot listen yet; retrying");
        this.#scheduleReconnect();
        return false;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), FIRST_CONNECT_WAIT_MS);
    });
    const done = await Promise.race([first, waited]);
    clearTimeout(timer);
    if (done === null) {
      void first.then((ok) => {
        if (ok) for (const subs of this.#byOrg.values()) for (const sub of subs) sub.resync();
      });
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.ctx.authz.cache.observers.delete(this.#authzChanged);
    clearTimeout(this.#reconnectTimer);
    for (const subs of this.#byOrg.values()) for (const s of [...subs]) s.close("shutdown");
    this.#byOrg.clear();
    await this.#unlisten?.().catch(() => {});
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  get streamCount(): number {
    let n = 0;
    for (const s of this.#byOrg.values()) n += s.size;
    return n;
  }

  subscribe(sub: Subscriber): () => void {
    let set = this.#byOrg.get(sub.orgId);
    if (!set) {
      set = new Set();
      this.#byOrg.set(sub.orgId, set);
    }
    set.add(sub);
    const key = `${sub.orgId}:${sub.memberId}`;
    const open = (this.#memberStreams.get(key) ?? 0) + 1;
    this.#memberStreams.set(key, open);
    if (open === 1 && !this.#stopped) this.onMemberStreams?.("opened", sub.orgId, sub.memberId);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const left = (this.#memberStreams.get(key) ?? 1) - 1;
      if (left > 0) this.#memberStreams.set(key, left);
      else {
        this.#memberStreams.delete(key);
        if (!this.#stopped) this.onMemberStreams?.("closed", sub.orgId, sub.memberId);
      }
      const s = this.#byOrg.get(sub.orgId);
      if (!s) return;
      s.delete(sub);
      if (s.size === 0) this.#byOrg.delete(sub.orgId);
    };
  }

  /** Whether the member has an open stream on this instance. */
  hasMemberStream(orgId: string, memberId: string): boolean {
    return this.#memberStreams.has(`${orgId}:${memberId}`);
  }

  /** The members with an open stream on this instance. */
  *streamingMembers(): Iterable<{ orgId: string; memberId: string }> {
    for (const key of this.#memberStreams.keys()) {
      const sep = key.indexOf(":");
      yield { orgId: key.slice(0, sep), memberId: key.slice(sep + 1) };
    }
  }

  /** Closes this instance's streams of a member (the memberRemoved hook, or another instance's word). */
  closeMember(orgId: string, userId: string, reason: string): void {
    for (const s of [...(this.#byOrg.get(orgId) ?? [])]) if (s.userId === userId) s.close(reason);
  }

  /** Tells every instance (this one included) to close the member's streams. */
  async broadcastCloseMember(orgId: string, userId: string): Promise<void> {
    await this.ctx.db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${`${CLOSE_PREFIX}${orgId}:${userId}`})`);
  }

  /** The organization's inbox settings as the rules module takes them, reused for a moment. */
  settings(orgId: string): Promise<InboxRuleSettings> {
    const now = Date.now();
    const hit = this.#settings.get(orgId);
    if (hit && now - hit.at < SETTINGS_TTL_MS) return hit.value;
    const entry: { at: number; value: Promise<InboxRuleSettings>; resolved?: InboxRuleSettings } = {
      at: now,
      value: getWorkspaceSettings(this.ctx.db, orgId).then((s) => {
        entry.resolved = { operatorsSeeUnassigned: s.operatorsSeeUnassigned };
        return entry.resolved;
      }),
    };
    entry.value.catch(() => this.#settings.delete(orgId));
    this.#settings.set(orgId, entry);
    const value = entry.value;
    if (this.#settings.size > 10_000) this.#settings.delete(this.#settings.keys().next().value!);
    return value;
  }

  /** The settings last read for the organization, if still fresh (no promise: the fan-out's fast path). */
  settingsNow(orgId: string): InboxRuleSettings | undefined {
    const hit = this.#settings.get(orgId);
    return hit && Date.now() - hit.at < SETTINGS_TTL_MS ? hit.resolved : undefined;
  }

  /** Rows after `afterId` for a reconnecting stream (ascending), at most `limit`. */
  async after(orgId: string, afterId: number, limit: number): Promise<EventRow[]> {
    return this.ctx.db
      .select()
      .from(events)
      .where(and(eq(events.orgId, orgId), gt(events.id, afterId)))
      .orderBy(events.id)
      .limit(limit);
  }

  /** The organization's newest event id (the id a `resync` carries), or null. */
  async latest(orgId: string): Promise<number | null> {
    const [row] = await this.ctx.db
      .select({ id: events.id })
      .from(events)
      .where(eq(events.orgId, orgId))
      .orderBy(desc(events.id))
      .limit(1);
    return row?.id ?? null;
  }

  /** Whether the event is still kept (a reconnect from a pruned id cannot be replayed: resync). */
  async kept(orgId: string, id: number): Promise<boolean> {
    const [row] = await this.ctx.db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.orgId, orgId), eq(events.id, id)));
    return row !== undefined;
  }

  /**
   * An authorization scope changed (the guard's cache was told by the database): the streams it may
   * concern look at their member again at once, so a removal or a lost permission closes them now.
   * Scopes: `m:<orgId>:<userId>`, `o:<orgId>`, `u:<userId>`, `*` (src/server/authz/cache.ts).
   */
  readonly #authzChanged = (scope: string): void => {
    if (this.#byOrg.size === 0) return;
    const [kind, a, b] = scope.split(":");
    if (kind === "m" && a && b) {
      for (const s of this.#byOrg.get(a) ?? []) if (s.userId === b) s.recheck();
    } else if (kind === "o" && a) {
      for (const s of this.#byOrg.get(a) ?? []) s.recheck();
    } else if (kind === "u" && a) {
      for (const subs of this.#byOrg.values()) for (const s of subs) if (s.userId === a) s.recheck();
    } else if (scope === "*") {
      for (const subs of this.#byOrg.values()) for (const s of subs) s.recheck();
    }
  };

  #onMessage(payload: string): void {
    if (payload.startsWith(CLOSE_PREFIX)) {
      const [orgId, userId] = payload.slice(CLOSE_PREFIX.length).split(":");
      if (orgId && userId) this.closeMember(orgId, userId, "member_removed");
      return;
    }
    if (payload.startsWith(MAIL_PREFIX)) {
      const [orgId, ids] = payload.slice(MAIL_PREFIX.length).split(":");
      if (orgId && ids) this.onMailPending?.(orgId, ids.split(","));
      return;
    }
    const sep = payload.indexOf(":");
    if (sep < 0) return;
    const orgId = payload.slice(0, sep);
    this.stats.notifications++;
    // Nobody here listens to that organization: nothing to read.
    if (!this.#byOrg.has(orgId)) return;
    let ids = this.#pending.get(orgId);
    if (!ids) {
      ids = new Set();
      this.#pending.set(orgId, ids);
    }
    for (const id of payload.slice(sep + 1).split(",")) {
      const n = Number(id);
      if (Number.isSafeInteger(n)) ids.add(n);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Notifications arrive in bursts (one network read): one query per organization for all of them.
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush().catch((err) => this.ctx.log.error({ err }, "real-time events: fan-out failed"));
      });
    }
  }

  async #flush(): Promise<void> {
    const batch = [...this.#pending];
    this.#pending.clear();
    await Promise.all(
      batch.map(async ([orgId, idSet]) => {
        const ids = [...idSet];
        const rows = await this.ctx.db
          .select()
          .from(events)
          .where(and(eq(events.orgId, orgId), inArray(events.id, ids)))
          .orderBy(events.id);
        this.stats.rowsRead += rows.length;
        for (const s of this.#byOrg.get(orgId) ?? []) s.deliver(rows);
      }),
    );
  }

  async #connect(): Promise<void> {
    const url = this.ctx.config.databaseListenUrl ?? this.ctx.database.url;
    if (!url) return;
    const client = new pg.Client({
      connectionString: url,
      application_name: "chorus-events",
      connectionTimeoutMillis: this.ctx.config.databaseConnectTimeoutMs || 5_000,
      keepAlive: true,
    });
    client.on("notification", (msg) => {
      if (msg.channel === EVENTS_CHANNEL) this.#onMessage(msg.payload ?? "");
    });
    client.on("error", (err) => this.#lost(client, err));
    client.on("end", () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
      if (this.#stopped) throw new Error("stopped");
    } catch (err) {
      client.removeAllListeners("end");
      client.on("error", () => {});
      await client.end().catch(() => {});
      throw err;
    }
    this.#client = client;
  }

  #lost(client: pg.Client, err?: unknown): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.ctx.log.warn({ err }, "real-time events: lost the notification connection; reconnecting");
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#connect().then(
        () => {
          this.stats.reconnects++;
          // Whatever was committed while nobody listened was not delivered: every stream reloads.
          for (const subs of this.#byOrg.values()) for (const s of subs) s.resync();
        },
        () => this.#scheduleReconnect(),
      );
    }, 1_000);
    this.#reconnectTimer.unref();
  }
}

const hubs = new WeakMap<AppContext, EventHub>();

/** The app's hub (one per app context: two apps in one process do not share streams). */
export function eventHub(ctx: AppContext): EventHub {
  let hub = hubs.get(ctx);
  if (!hub) {
    hub = new EventHub(ctx);
    hubs.set(ctx, hub);
  }
  return hub;
}
