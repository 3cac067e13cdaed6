// The guard's cache on its own: what it keeps, what each invalidation scope retires, and that a
// read overlapping an invalidation is never kept.
import { describe, expect, it } from "vitest";
import { AuthzCache, type CachedSession } from "../../src/server/authz/cache.js";
import type { LoadedMember } from "../../src/server/modules/members/load-member.js";
import { PermissionSet } from "../../src/shared/permissions.js";

const ORG = "00000000-0000-4000-8000-00000000000a";
const OTHER_ORG = "00000000-0000-4000-8000-00000000000b";
const U1 = "00000000-0000-4000-8000-000000000001";
const U2 = "00000000-0000-4000-8000-000000000002";
const NOW = 1_800_000_000_000;

function session(userId: string, expiresAt = NOW + 60_000): CachedSession {
  return {
    sessionId: `s-${userId}`,
    user: {
      id: userId,
      email: `${userId}@example.com`,
      firstName: "A",
      lastName: "B",
      language: "en",
      emailVerified: true,
      twoFactorEnabled: false,
    },
    twoFactorVerified: false,
    lastUsedAt: NOW,
    expiresAt,
    endsAt: expiresAt,
  };
}

function member(orgId: string, userId: string): LoadedMember {
  return {
    orgId,
    memberId: `m-${userId}`,
    userId,
    isOwner: false,
    firstName: "A",
    lastName: "B",
    roleIds: ["operator"],
    permissions: PermissionSet.of(["chats:reply"]),
    requireTwoFactor: false,
    lastActiveAt: null,
  };
}

function trustedCache() {
  const state = { trusted: true };
  return { cache: new AuthzCache(() => state.trusted), state };
}

describe("AuthzCache", () => {
  it("answers what was stored, and counts hits and misses", () => {
    const { cache } = trustedCache();
    expect(cache.session("h1", NOW)).toBeUndefined();
    cache.putSession(cache.ticket(), "h1", session(U1));
    cache.putMember(cache.ticket(), ORG, U1, member(ORG, U1));
    cache.putMember(cache.ticket(), ORG, U2, null);
    expect(cache.session("h1", NOW)?.user.id).toBe(U1);
    expect(cache.member(ORG, U1)?.memberId).toBe(`m-${U1}`);
    // A non-member is remembered too (null), unlike an unknown pair (undefined).
    expect(cache.member(ORG, U2)).toBeNull();
    expect(cache.member(OTHER_ORG, U1)).toBeUndefined();
    expect(cache.stats).toEqual({ hits: 3, misses: 2 });
  });

  it("keeps nothing and answers nothing while the invalidation stream is not trusted", () => {
    const { cache, state } = trustedCache();
    cache.putSession(cache.ticket(), "h1", session(U1));
    state.trusted = false;
    expect(cache.ticket()).toBeNull();
    expect(cache.session("h1", NOW)).toBeUndefined();
    cache.putSession(cache.ticket(), "h2", session(U2));
    state.trusted = true;
    expect(cache.session("h2", NOW)).toBeUndefined();
    expect(cache.session("h1", NOW)?.user.id).toBe(U1);
  });

  it("does not answer for a session past its expiry (another instance may have extended it)", () => {
    const { cache } = trustedCache();
    cache.putSession(cache.ticket(), "h1", session(U1, NOW + 10));
    expect(cache.session("h1", NOW)).toBeDefined();
    expect(cache.session("h1", NOW + 10)).toBeUndefined();
    cache.sessionTouched("h1", NOW + 5, NOW + 1000);
    expect(cache.session("h1", NOW + 10)?.expiresAt).toBe(NOW + 1000);
  });

  it("retires by scope: a user's sessions, one membership, or a whole organization", () => {
    const { cache } = trustedCache();
    const fill = () => {
      for (const [h, u] of [
        ["h1", U1],
        ["h1b", U1],
        ["h2", U2],
      ] as const) {
        cache.putSession(cache.ticket(), h, session(u));
      }
      for (const o of [ORG, OTHER_ORG]) for (const u of [U1, U2]) cache.putMember(cache.ticket(), o, u, member(o, u));
    };
    fill();
    cache.invalidate(`u:${U1}`);
    expect(cache.session("h1", NOW)).toBeUndefined();
    expect(cache.session("h1b", NOW)).toBeUndefined();
    expect(cache.session("h2", NOW)).toBeDefined();
    // Memberships do not depend on the user's sessions.
    expect(cache.member(ORG, U1)).toBeDefined();

    fill();
    cache.invalidate(`m:${ORG}:${U1}`);
    expect(cache.member(ORG, U1)).toBeUndefined();
    expect(cache.member(ORG, U2)).toBeDefined();
    expect(cache.member(OTHER_ORG, U1)).toBeDefined();

    fill();
    cache.invalidate(`o:${ORG}`);
    expect(cache.member(ORG, U1)).toBeUndefined();
    expect(cache.member(ORG, U2)).toBeUndefined();
    expect(cache.member(OTHER_ORG, U1)).toBeDefined();
    expect(cache.session("h1", NOW)).toBeDefined();

    fill();
    cache.invalidate("*");
    expect(cache.session("h2", NOW)).toBeUndefined();
    expect(cache.member(OTHER_ORG, U2)).toBeUndefined();
    expect(cache.size).toEqual({ sessions: 0, members: 0, scopes: 0 });
  });

  it("never keeps a read that overlapped an invalidation, of any scope", () => {
    const { cache } = trustedCache();
    const ticket = cache.ticket();
    // …the query runs; meanwhile a change to anything is notified…
    cache.invalidate(`o:${OTHER_ORG}`);
    cache.putSession(ticket, "h1", session(U1));
    cache.putMember(ticket, ORG, U1, member(ORG, U1));
    expect(cache.session("h1", NOW)).toBeUndefined();
    expect(cache.member(ORG, U1)).toBeUndefined();
    // A read that began after it is kept.
    const later = cache.ticket();
    cache.putMember(later, ORG, U1, member(ORG, U1));
    expect(cache.member(ORG, U1)).toBeDefined();
    // A flush voids a ticket too.
    const beforeFlush = cache.ticket();
    cache.flush();
    cache.putMember(beforeFlush, ORG, U2, member(ORG, U2));
    expect(cache.member(ORG, U2)).toBeUndefined();
  });

  it("marks activity copy-on-write: a request holding the member keeps what it read", () => {
    const { cache } = trustedCache();
    cache.putMember(cache.ticket(), ORG, U1, member(ORG, U1));
    const held = cache.member(ORG, U1)!;
    const at = new Date(NOW);
    cache.memberActive(ORG, U1, at);
    expect(held.lastActiveAt).toBeNull();
    expect(cache.member(ORG, U1)?.lastActiveAt).toBe(at);
  });

  it("tracks generations only for scopes it holds: its memory follows the LRU bound", () => {
    const state = { trusted: true };
    const cache = new AuthzCache(() => state.trusted, 10);
    cache.putMember(cache.ticket(), ORG, U1, member(ORG, U1));
    expect(cache.size).toEqual({ sessions: 0, members: 1, scopes: 2 });
    // Changes to scopes it holds nothing of cost nothing and retire nothing.
    for (let i = 0; i < 10_000; i++) cache.invalidate(`u:${i}`);
    expect(cache.size.scopes).toBe(2);
    expect(cache.member(ORG, U1)).toBeDefined();
    // Sessions of 50 users in a 10-entry cache: the evicted ones take their scopes with them.
    for (let i = 0; i < 50; i++) cache.putSession(cache.ticket(), `h${i}`, session(`user-${i}`));
    expect(cache.size).toEqual({ sessions: 10, members: 1, scopes: 12 });
    // A scope shared by entries stays while one holds it; replacing an entry does not drop it.
    cache.putMember(cache.ticket(), ORG, U2, member(ORG, U2));
    cache.putMember(cache.ticket(), ORG, U2, member(ORG, U2));
    expect(cache.size.scopes).toBe(12 + 1);
    cache.invalidate(`o:${ORG}`);
    expect(cache.member(ORG, U1)).toBeUndefined();
    expect(cache.member(ORG, U2)).toBeUndefined();
    // A scope that came back after its cell was dropped still retires what it now holds.
    cache.putSession(cache.ticket(), "h-again", session("user-0"));
    cache.invalidate("u:user-0");
    expect(cache.session("h-again", NOW)).toBeUndefined();
    cache.flush();
    expect(cache.size).toEqual({ sessions: 0, members: 0, scopes: 0 });
  });
});
