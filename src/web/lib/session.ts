import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import { type Permission, SYSTEM_ROLES } from "../../shared/permissions.js";
import { ApiError, api, itemsOf, onApiError } from "./api.js";
import i18n, { setLanguage, takeLanguageChoice } from "./i18n.js";
import type { Org, OrgMe, Role, User } from "./types.js";

export const qk = {
  me: ["me"] as const,
  orgs: ["orgs"] as const,
  org: (id: string) => ["org", id] as const,
  orgMe: (id: string) => ["org", id, "me"] as const,
  members: (id: string) => ["org", id, "members"] as const,
  invitations: (id: string) => ["org", id, "invitations"] as const,
  roles: (id: string) => ["org", id, "roles"] as const,
};

/** The signed-in user, or null when signed out. */
export function useMe() {
  return useQuery({
    queryKey: qk.me,
    // GET /auth/session answers `{user: null}` when signed out: a signed-out page makes no request
    // that fails (GET /me answered 401, which the browser logs as a console error on every such page).
    queryFn: async () => {
      const { user } = await api<{ user: User | null }>("/auth/session");
      rememberSignedIn(user !== null);
      return user ? adoptLanguage(user) : null;
    },
    staleTime: 30_000,
  });
}

const SIGNED_IN_KEY = "chorus.signedIn";

/** What the last session answer said, kept so that a signed-out start asks nothing that answers 401. */
function rememberSignedIn(yes: boolean): void {
  try {
    if (yes) localStorage.setItem(SIGNED_IN_KEY, "1");
    else localStorage.removeItem(SIGNED_IN_KEY);
  } catch {
    // storage disabled: the hint is only an optimisation
  }
}

/** Whether this browser was signed in at its last look (a hint: the session answer decides). */
export function probablySignedIn(): boolean {
  try {
    return globalThis.localStorage?.getItem(SIGNED_IN_KEY) === "1";
  } catch {
    return false;
  }
}

/**
 * The interface language once signed in: the account's, unless one was picked on the signed-out
 * pages just before (that choice wins and is saved to the account, not reverted).
 */
export function adoptLanguage<U extends { language?: string | null }>(user: U): U {
  const chosen = takeLanguageChoice();
  if (chosen && chosen !== user.language) {
    setLanguage(chosen);
    void api("/me", { method: "PATCH", body: { language: chosen } }).catch(() => undefined);
    return { ...user, language: chosen };
  }
  if (user.language) setLanguage(user.language);
  return user;
}

export function useOrgs(enabled = true) {
  return useQuery({
    queryKey: qk.orgs,
    queryFn: async () => itemsOf<Org>(await api("/orgs")),
    enabled,
  });
}

export function useOrg(orgId: string) {
  return useQuery({ queryKey: qk.org(orgId), queryFn: () => api<Org>(`/orgs/${orgId}`) });
}

/** The query of one's membership of an organization (also prefetched at start, see App.tsx). */
export function orgMeQuery(orgId: string) {
  return {
    queryKey: qk.orgMe(orgId),
    queryFn: () => api<OrgMe>(`/orgs/${orgId}/me`),
    staleTime: 0,
    retry: (n: number, e: Error) => !(e instanceof ApiError && e.status < 500) && n < 2,
  };
}

/** Own membership and effective permissions: re-read on every navigation (see OrgLayout). */
export function useOrgMe(orgId: string, enabled = true) {
  return useQuery({ ...orgMeQuery(orgId), enabled: enabled && orgId !== "" });
}

export function permissionsOf(me: OrgMe | undefined): (p: Permission) => boolean {
  const set = new Set(me?.permissions ?? []);
  return (p) => Boolean(me?.isOwner) || set.has(p);
}

export function useRoles(orgId: string, enabled = true) {
  return useQuery({
    queryKey: qk.roles(orgId),
    queryFn: async () => itemsOf<Role>(await api(`/orgs/${orgId}/roles`)),
    enabled,
  });
}

/** Display name of a role: system roles are translated, custom ones shown as named. */
export function roleName(role: { id: string; name?: string }): string {
  if (SYSTEM_ROLES.some((r) => r.id === role.id)) return i18n.t(`systemRoles.${role.id}.name`);
  return role.name ?? role.id;
}

// ---- organizations the signed-in user has lost access to (a 404 from any org request) ----
let lost = new Set<string>();
const lostListeners = new Set<() => void>();
onApiError((err, url) => {
  const m = /\/api\/v1\/orgs\/([0-9a-f-]{36})(?:[/?]|$)/i.exec(url);
  if (
    m?.[1] &&
    err.status === 404 &&
    (err.code === "org_not_found" || err.code === "not_found" || /organization/i.test(err.message))
  ) {
    lost = new Set(lost).add(m[1]);
    for (const l of lostListeners) l();
  }
});
export function useLostAccess(orgId: string): boolean {
  return useSyncExternalStore(
    (cb) => {
      lostListeners.add(cb);
      return () => lostListeners.delete(cb);
    },
    () => lost.has(orgId),
  );
}
export function forgetLost(orgId: string): void {
  if (!lost.has(orgId)) return;
  lost = new Set(lost);
  lost.delete(orgId);
  for (const l of lostListeners) l();
}

export function useSignOut() {
  const qc = useQueryClient();
  return async () => {
    try {
      await api("/auth/logout", { method: "POST" });
    } catch {
      /* already signed out */
    }
    qc.clear();
    qc.setQueryData(qk.me, null);
  };
}

export const LAST_ORG_KEY = "chorus.lastOrg";
/** The name of that organization, to tell someone removed from it which one they lost. */
export const LAST_ORG_NAME_KEY = "chorus.lastOrgName";
