import type { FastifyInstance, FastifyRequest } from "fastify";
import { passedTwoFactor, sessionCookieName, sessionTtlOf } from "../modules/auth/sessions.js";
import {
  type LoadedMember,
  loadMember,
  memberActivityDue,
  touchMemberActivity,
} from "../modules/members/load-member.js";
import { type Access, describeAccess } from "./access.js";
import { type Caller, resolveCaller } from "./caller.js";
import { forbidden, notFound, unauthorized } from "./problem.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Guard-internal: the membership `resolveCaller` read for the path's organization. */
    callerMembership: NonNullable<Caller["membership"]> | null;
    /** Guard-internal: the route's access declaration, as onRequest read it. */
    declaredAccess: Access | null;
    /** A state-changing request that got past the guard and validation to its handler. */
    reachedHandler: boolean;
  }
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Organization routes a member blocked by the organization's 2FA policy may still reach. */
const TWO_FACTOR_EXEMPT = new Set(["GET /api/v1/orgs/:orgId/me"]);

/** Routes under /api must declare access; the rest (web app, docs) are public pages. */
export function isApiRoute(url: string): boolean {
  return url.startsWith("/api/");
}

function sessionToken(request: FastifyRequest, cookieName: string): { token: string; viaCookie: boolean } | null {
  const header = request.headers.authorization;
  if (header?.startsWith("Bearer ")) return { token: header.slice(7).trim(), viaCookie: false };
  const cookie = request.cookies[cookieName];
  return cookie ? { token: cookie, viaCookie: true } : null;
}

/**
 * The single enforcement point of authentication, CSRF and authorization.
 * onRequest: who is calling (session, and on member routes the membership of the path's
 * `:orgId` in the same query), CSRF, 401 for non-public routes.
 * preHandler (after validation, so a bad `:orgId` or body answers 400 first): 404/403.
 */
export function installGuard(app: FastifyInstance): void {
  const { config, db, authz } = app.ctx;
  const appOrigin = new URL(config.appUrl).origin;
  const cookieName = sessionCookieName(config.appUrl);
  const ttl = sessionTtlOf(config);

  app.decorateRequest("auth", null);
  app.decorateRequest("member", null);
  /** The membership read along with the session, judged in preHandler once the request is valid. */
  app.decorateRequest("callerMembership", null);
  app.decorateRequest("declaredAccess", null);

  app.addHook("onRoute", (route) => {
    if (!isApiRoute(route.url)) return;
    const declared = route.config?.access;
    if (!declared) throw new Error(`Route ${route.method} ${route.url} declares no access (config.access).`);
    if (declared.kind === "member" && !route.url.includes(":orgId")) {
      throw new Error(`Route ${route.method} ${route.url} needs a membership but has no :orgId parameter.`);
    }
  });

  // Callback-style hooks with a synchronous path: a public route, or a caller the cache holds,
  // costs no promise (issue 12); only a database read makes the hook wait.
  app.addHook("onRequest", (request, _reply, done) => {
    // `routeOptions` is a getter that builds an object: read once, kept for preHandler.
    const declared = request.routeOptions.config?.access;
    if (!declared) return done(); // not an API route (404 handler, web app, docs)
    request.declaredAccess = declared;

    let pending: Promise<void> | undefined;
    try {
      const found = sessionToken(request, cookieName);
      if (found) {
        // Route params are parsed before onRequest; validation comes later.
        const orgId = declared.kind === "member" ? (request.params as { orgId?: string }).orgId : undefined;
        // A cache hit answers synchronously: no promise to wait for on the hot path.
        const resolved = resolveCaller(db, authz.cache, found.token, orgId, ttl);
        if (resolved instanceof Promise) {
          pending = resolved.then((caller) => {
            signIn(request, caller, found.viaCookie);
            judgeRequest(request, declared, found);
          });
        } else {
          signIn(request, resolved, found.viaCookie);
          judgeRequest(request, declared, found);
        }
      } else {
        judgeRequest(request, declared, null);
      }
    } catch (err) {
      return done(err as Error);
    }
    if (pending) pending.then(() => done(), done);
    else done();
  });

  function signIn(request: FastifyRequest, caller: Caller | null, viaCookie: boolean): void {
    if (!caller) return;
    request.auth = {
      user: caller.user,
      session: { id: caller.sessionId, viaCookie, twoFactorVerified: caller.twoFactorVerified },
    };
    if (caller.membership) request.callerMembership = caller.membership;
  }

  /** CSRF and 401, once the caller is known. */
  function judgeRequest(request: FastifyRequest, declared: Access, found: unknown): void {
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
  }

  app.addHook("preHandler", (request, _reply, done) => {
    const declared = request.declaredAccess;
    if (declared?.kind !== "member" || !request.auth) return done();
    let pending: Promise<void> | undefined;
    try {
      const orgId = (request.params as { orgId?: string }).orgId;
      if (!orgId) throw notFound("organization", "org_not_found");
      const read = request.callerMembership;
      // Only a route whose :orgId is not UUID-shaped yet valid (none today) needs a second query.
      if (read?.orgId === orgId) pending = judgeMember(request, declared, orgId, read.member);
      else {
        const userId = request.auth.user.id;
        pending = loadMember(db, orgId, userId).then((member) => judgeMember(request, declared, orgId, member));
      }
    } catch (err) {
      return done(err as Error);
    }
    if (pending) pending.then(() => done(), done);
    else done();
  });

  /** 404 for a non-member, 2FA policy, owner-only and permissions; a promise only when activity is written. */
  function judgeMember(
    request: FastifyRequest,
    declared: Access & { kind: "member" },
    orgId: string,
    member: LoadedMember | null,
  ): Promise<void> | undefined {
    // Not a member answers exactly like an organization that does not exist.
    if (!member) throw notFound("organization", "org_not_found");
    request.member = member;
    if (memberActivityDue(member)) {
      return touchMemberActivity(db, member).then((at) => {
        authz.cache.memberActive(orgId, member.userId, at);
        judgeAccess(request, declared, member);
      });
    }
    judgeAccess(request, declared, member);
    return undefined;
  }

  function judgeAccess(request: FastifyRequest, declared: Access & { kind: "member" }, member: LoadedMember): void {
    // The session must have passed 2FA, not merely belong to a user who has it on somewhere.
    if (
      member.requireTwoFactor &&
      !passedTwoFactor(request.auth!) &&
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
  }
}

/**
 * A state change is answered only once every instance has applied it to its authorization
 * cache, so the client's next request, wherever it lands, is judged on the new state. Every
 * state-changing request whose handler ran waits, whatever it answers: a handler may commit
 * and then fail. Requests refused before their handler (validation, 401/403/404, CSRF, rate
 * limit) changed nothing and skip it.
 */
export function installWriteBarrier(app: FastifyInstance): void {
  const { authz, log } = app.ctx;
  app.decorateRequest("reachedHandler", false);
  // Registered after the guard's preHandler: when it runs, the guard has let the request through.
  app.addHook("preHandler", (request, _reply, done) => {
    if (STATE_CHANGING.has(request.method) && !request.routeOptions.config?.noAuthzChange)
      request.reachedHandler = true;
    done();
  });
  app.addHook("onSend", (request, _reply, payload, done) => {
    if (!request.reachedHandler) return done(null, payload);
    authz.bus.barrier().then(
      () => done(null, payload),
      (err) => {
        // The change is committed and notified; only the wait for other instances failed.
        log.warn({ err }, "authorization cache: write barrier failed");
        done(null, payload);
      },
    );
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
