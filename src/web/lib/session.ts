import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import { type Permission, SYSTEM_ROLES } from "../../shared/permissions.js";
import { ApiError, api, itemsOf, onApiError } from "./api.js";
import i18n, { setLanguage } from "./i18n.js";
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
    queryFn: async () => {
      try {
        const me = await api<User>("/me");
        if (me?.language) setLanguage(me.language);
        return me;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 30_000,
  });
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

/** Own membership and effective permissions: re-read on every navigation (see OrgLayout). */
export function useOrgMe(orgId: string, enabled = true) {
  return useQuery({
    queryKey: qk.orgMe(orgId),
    enabled: enabled && orgId !== "",
    queryFn: () => api<OrgMe>(`/orgs/${orgId}/me`),
    staleTime: 0,
    retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
  });
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
