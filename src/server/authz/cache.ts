import { LRUCache } from "lru-cache";
import type { AuthUser } from "../http/request-context.js";
import type { LoadedMember } from "../modules/members/load-member.js";

/** A live session as the guard needs it; times in epoch milliseconds. */
export interface CachedSession {
  sessionId: string;
  /** The session passed 2FA (organizations that require 2FA ask this, not the user). */
  twoFactorVerified: boolean;
  user: AuthUser;
  lastUsedAt: number;
  /** The sliding expiry, never past `endsAt`. */
  expiresAt: number;
  /** The absolute end: sign-in time plus SESSION_ABSOLUTE_TTL. */
  endsAt: number;
}

/** An invalidation scope's generation, shared by the entries under that scope while any exists. */
interface Cell {
  scope: string;
  gen: number;
  /** Entries holding this cell; at 0 it leaves the map (an absent scope has nothing to retire). */
  refs: number;
}

interface Entry<T> {
  value: T;
  epoch: number;
  /** The entry's invalidation scopes and their generations when it was stored. */
  cell1: Cell;
  gen1: number;
  cell2: Cell | null;
  gen2: number;
}

/** A load's permission to store what it read: see `ticket()`. */
export type Ticket = number | null;

/** Scopes (the payloads database triggers send, migrations/0002_authz_notify.sql). */
const userScope = (userId: string) => `u:${userId}`;
const orgScope = (orgId: string) => `o:${orgId}`;
const memberScope = (orgId: string, userId: string) => `m:${orgId}:${userId}`;
export const FLUSH_SCOPE = "*";

/**
 * Sessions and memberships the guard read, kept between requests while `isTrusted()` says the
 * invalidation stream is live. Every committed change notifies a scope; `invalidate(scope)` bumps
 * its generation, and an entry is used only while the generations of its scopes are those it was
 * stored with, so one notification retires every entry it concerns without an index. Entries
 * hold their scopes' cells, so a hit builds no scope key and makes one map lookup; a cell lives
 * as long as an entry holds it, so memory follows the LRU bound.
 *
 * A read that overlapped an invalidation is never stored: `ticket()` before the query,
 * `put*(ticket, …)` after it, and any invalidation in between voids the ticket.
 */
export class AuthzCache {
  #epoch = 0;
  /** Counts invalidations and flushes; a ticket is the value it had when a read began. */
  #changes = 0;
  readonly #cells = new Map<string, Cell>();
  readonly #sessions: LRUCache<string, Entry<CachedSession>>;
  readonly #members: LRUCache<string, Entry<LoadedMember | null>>;
  /** Told of every invalidated scope (and `*` for a flush): open real-time streams re-check their member. */
  readonly observers = new Set<(scope: string) => void>();
  /** Lookups answered from the cache and not (tests and the benchmark read them). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    readonly isTrusted: () => boolean,
    max = 10_000,
  ) {
    // Called for every entry that leaves: evicted, replaced, deleted or cleared.
    const dispose = (e: Entry<unknown>) => {
      this.#release(e.cell1);
      if (e.cell2) this.#release(e.cell2);
    };
    this.#sessions = new LRUCache<string, Entry<CachedSession>>({ max, dispose });
    this.#members = new LRUCache<string, Entry<LoadedMember | null>>({ max, dispose });
  }

  /** Before a read meant for the cache; null when nothing may be stored. */
  ticket(): Ticket {
    return this.isTrusted() ? this.#changes : null;
  }

  session(tokenHash: string, nowMs: number): CachedSession | undefined {
    const e = this.isTrusted() ? this.#sessions.get(tokenHash) : undefined;
    // Expired here may have been extended by another instance's touch: read it again.
    if (!e || e.epoch !== this.#epoch || e.cell1.gen !== e.gen1 || e.value.expiresAt <= nowMs) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return e.value;
  }

  /** The membership (null: none) of the user in the organization, or undefined when not cached. */
  member(orgId: string, userId: string): LoadedMember | null | undefined {
    const e = this.isTrusted() ? this.#members.get(memberScope(orgId, userId)) : undefined;
    if (!e || e.epoch !== this.#epoch || e.cell1.gen !== e.gen1 || e.cell2!.gen !== e.gen2) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return e.value;
  }

  putSession(ticket: Ticket, tokenHash: string, value: CachedSession): void {
    if (!this.#storable(ticket)) return;
    const cell1 = this.#cell(userScope(value.user.id));
    this.#sessions.set(tokenHash, { value, epoch: this.#epoch, cell1, gen1: cell1.gen, cell2: null, gen2: 0 });
  }

  putMember(ticket: Ticket, orgId: string, userId: string, value: LoadedMember | null): void {
    if (!this.#storable(ticket)) return;
    // The member's scope is also its key: one string for both.
    const key = memberScope(orgId, userId);
    const cell1 = this.#cell(orgScope(orgId));
    const cell2 = this.#cell(key);
    this.#members.set(key, {
      value,
      epoch: this.#epoch,
      cell1,
      gen1: cell1.gen,
      cell2,
      gen2: cell2.gen,
    });
  }

  /** The session's sliding expiry was refreshed by this instance. */
  sessionTouched(tokenHash: string, lastUsedAt: number, expiresAt: number): void {
    const e = this.#sessions.get(tokenHash);
    if (e) e.value = { ...e.value, lastUsedAt, expiresAt };
  }

  /** The member's activity time was written by this instance (copy on write: requests hold the old one). */
  memberActive(orgId: string, userId: string, at: Date): void {
    const e = this.#members.get(memberScope(orgId, userId));
    if (e?.value) e.value = { ...e.value, lastActiveAt: at };
  }

  /** A notification from the database: `u:<userId>`, `o:<orgId>`, `m:<orgId>:<userId>` or `*`. */
  invalidate(scope: string): void {
    if (scope === FLUSH_SCOPE) {
      this.flush();
      return;
    }
    // Reads in flight lose their ticket; stored entries under the scope, their generation.
    this.#changes++;
    const cell = this.#cells.get(scope);
    if (cell) cell.gen++;
    for (const o of this.observers) o(scope);
  }

  /** Forget everything: the invalidation stream (re)started or was lost. */
  flush(): void {
    this.#changes++;
    this.#epoch++;
    this.#sessions.clear();
    this.#members.clear();
    this.#cells.clear();
    for (const o of this.observers) o(FLUSH_SCOPE);
  }

  get size(): { sessions: number; members: number; scopes: number } {
    return { sessions: this.#sessions.size, members: this.#members.size, scopes: this.#cells.size };
  }

  #storable(ticket: Ticket): boolean {
    return ticket !== null && ticket === this.#changes && this.isTrusted();
  }

  /** The scope's cell, created on first use, held once more (before the entry replaces another). */
  #cell(scope: string): Cell {
    let cell = this.#cells.get(scope);
    if (!cell) {
      cell = { scope, gen: 0, refs: 0 };
      this.#cells.set(scope, cell);
    }
    cell.refs++;
    return cell;
  }

  #release(cell: Cell): void {
    cell.refs--;
    if (cell.refs <= 0 && this.#cells.get(cell.scope) === cell) this.#cells.delete(cell.scope);
  }
}
