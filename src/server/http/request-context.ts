import type { FastifyRequest } from "fastify";
import type { PermissionSet } from "../../shared/permissions.js";
import { forbidden, unauthorized } from "./problem.js";

export interface AuthUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  language: string;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
}

export interface AuthSession {
  id: string;
  /** True when the session came from the cookie (CSRF rules apply), false for Bearer. */
  viaCookie: boolean;
  /** The session passed the second factor (what an organization's "require 2FA" rule asks). */
  twoFactorVerified: boolean;
}

/** A signed-in caller: the user and the session the request came with. */
export interface SignedIn {
  user: AuthUser;
  session: AuthSession;
}

export interface OrgMember {
  orgId: string;
  memberId: string;
  userId: string;
  isOwner: boolean;
  firstName: string;
  lastName: string;
  roleIds: string[];
  permissions: PermissionSet;
}

/** Who did something, as the activity log and the audit trail record it. */
export interface Actor {
  type: "user" | "system";
  id: string | null;
  name: string;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

declare module "fastify" {
  interface FastifyRequest {
    auth: SignedIn | null;
    member: OrgMember | null;
  }
}

export function requireUser(request: FastifyRequest): SignedIn {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

export function requireMember(request: FastifyRequest): OrgMember {
  if (!request.member) throw forbidden("permission_denied", "This route needs an organization membership.");
  return request.member;
}

export function actorOf(request: FastifyRequest): Actor {
  const user = request.auth?.user;
  const member = request.member;
  return {
    type: "user",
    id: user?.id ?? null,
    name: member
      ? `${member.firstName} ${member.lastName}`.trim()
      : user
        ? `${user.firstName} ${user.lastName}`.trim()
        : "anonymous",
    ip: request.ip ?? null,
    userAgent: request.headers["user-agent"] ?? null,
    requestId: request.id,
  };
}

export const SYSTEM_ACTOR: Actor = {
  type: "system",
  id: null,
  name: "Chorus",
  ip: null,
  userAgent: null,
  requestId: null,
};
