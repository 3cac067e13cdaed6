import type { Permission } from "../../shared/permissions.js";

/**
 * What a route needs before its handler runs. Every route declares one in
 * `config.access`; the access plugin refuses to start with a route that does not.
 * - public: anyone.
 * - signedIn: a valid session.
 * - member: a valid session and a membership in the organization of `:orgId`,
 *   holding every listed permission (or being the owner, who holds all);
 *   `ownerOnly` for what no role can grant (delete, transfer ownership).
 */
export type Access =
  | { kind: "public" }
  | { kind: "signedIn" }
  | { kind: "member"; permissions: readonly Permission[]; ownerOnly: boolean };

export const access = {
  public: (): Access => ({ kind: "public" }),
  signedIn: (): Access => ({ kind: "signedIn" }),
  member: (...permissions: Permission[]): Access => ({ kind: "member", permissions, ownerOnly: false }),
  owner: (): Access => ({ kind: "member", permissions: [], ownerOnly: true }),
};

export function describeAccess(a: Access): string {
  if (a.kind !== "member") return a.kind;
  if (a.ownerOnly) return "owner";
  return a.permissions.length ? a.permissions.join(" + ") : "member";
}

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
    /**
     * The route never changes sessions, users, memberships or roles (e.g. Meta's webhooks), so its
     * writes need no write barrier (the wait for every instance's authorization cache).
     */
    noAuthzChange?: boolean;
  }
}
