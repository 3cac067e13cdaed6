import type { FastifyReply } from "fastify";
import type { Config } from "../../config.js";
import { isHttps, sessionCookieName } from "./sessions.js";

/**
 * Over https the cookie is `__Host-` prefixed (Secure, Path=/, no Domain: see sessionCookieName).
 * It may live as long as a session can (the absolute lifetime); the server ends it sooner when idle.
 */
export function setSessionCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(sessionCookieName(config.appUrl), token, {
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(config.appUrl),
    path: "/",
    maxAge: Math.floor(config.sessionAbsoluteTtlMs / 1000),
  });
}

export function clearSessionCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(sessionCookieName(config.appUrl), {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(config.appUrl),
  });
}
