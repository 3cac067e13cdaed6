import type { FastifyInstance, FastifyRequest } from "fastify";
import { resolveSession, SESSION_COOKIE } from "../modules/auth/sessions.js";
import { loadMember, touchMemberActivity } from "../modules/members/load-member.js";
import { describeAccess } from "./access.js";
import { forbidden, notFound, unauthorized } from "./problem.js";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Organization routes a member blocked by the organization's 2FA policy may still reach. */
const TWO_FACTOR_EXEMPT = new Set(["GET /api/v1/orgs/:orgId/me"]);

/** Routes under /api must declare access; the rest (web app, docs) are public pages. */
export function isApiRoute(url: string): boolean {
  return url.startsWith("/api/");
}

function sessionToken(request: FastifyRequest): { token: string; viaCookie: boolean } | null {
  const header = request.headers.authorization;
  if (header?.startsWith("Bearer ")) return { token: header.slice(7).trim(), viaCookie: false };
  const cookie = request.cookies[SESSION_COOKIE];
  return cookie ? { token: cookie, viaCookie: true } : null;
}

/**
 * The single enforcement point of authentication, CSRF and authorization.
 * onRequest: who is calling (session), CSRF, 401 for non-public routes.
 * preHandler (after validation, so `:orgId` is a UUID): membership and permissions.
 */
export function installGuard(app: FastifyInstance): void {
  const { config, db } = app.ctx;
  const appOrigin = new URL(config.appUrl).origin;

  app.decorateRequest("auth", null);
  app.decorateRequest("member", null);

  app.addHook("onRoute", (route) => {
    if (!isApiRoute(route.url)) return;
    const declared = route.config?.access;
    if (!declared) throw new Error(`Route ${route.method} ${route.url} declares no access (config.access).`);
    if (declared.kind === "member" && !route.url.includes(":orgId")) {
      throw new Error(`Route ${route.method} ${route.url} needs a membership but has no :orgId parameter.`);
    }
  });

  app.addHook("onRequest", async (request) => {
    const declared = request.routeOptions.config?.access;
    if (!declared) return; // not an API route (404 handler, web app, docs)

    const found = sessionToken(request);
    if (found) {
      const resolved = await resolveSession(db, found.token, config.sessionIdleTtlMs);
      if (resolved)
        request.auth = { user: resolved.user, session: { id: resolved.sessionId, viaCookie: found.viaCookie } };
    }

    if (STATE_CHANGING.has(request.method)) {
      const origin = request.headers.origin ?? refererOrigin(request.headers.referer);
      // A browser request from another site is refused whatever it carries; a cookie-authenticated
      // state change must prove it comes from our own pages.
      if (origin && origin !== appOrigin) throw forbidden("csrf_origin_mismatch", "The request origin is not allowed.");
      if (!origin && request.auth?.session.viaCookie) {
        throw forbidden(
          "csrf_origin_missing",
          "State-changing requests made with the session cookie need an Origin header.",
        );
      }
    }

    if (declared.kind !== "public" && !request.auth) {
      throw unauthorized(
        found ? "Your session has ended. Sign in again." : "Sign in to continue.",
        found ? "session_expired" : "unauthenticated",
      );
    }
  });

  app.addHook("preHandler", async (request) => {
    const declared = request.routeOptions.config?.access;
    if (declared?.kind !== "member" || !request.auth) return;
    const orgId = (request.params as { orgId?: string }).orgId;
    if (!orgId) throw notFound("organization", "org_not_found");
    const member = await loadMember(db, orgId, request.auth.user.id);
    // Not a member answers exactly like an organization that does not exist.
    if (!member) throw notFound("organization", "org_not_found");
    request.member = member;
    await touchMemberActivity(db, member);
    if (
      member.requireTwoFactor &&
      !request.auth.user.twoFactorEnabled &&
      !TWO_FACTOR_EXEMPT.has(`${request.method} ${request.routeOptions.url}`)
    ) {
      throw forbidden(
        "two_factor_required",
        "This organization requires two-factor authentication. Turn it on in your account settings to continue.",
      );
    }
    if (declared.ownerOnly && !member.isOwner) {
      throw forbidden("owner_only", "Only the organization owner can do this.", {
        requiredPermission: describeAccess(declared),
      });
    }
    for (const p of declared.permissions) {
      if (!member.permissions.has(p)) {
        throw forbidden("permission_denied", `You need the ${p} permission for this.`, { missingPermission: p });
      }
    }
  });
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return "invalid";
  }
}
