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

/**
 * The browser that signed up: only it is signed in by the verification link (see verifyEmail).
 * Scoped to the one route that reads it, and set on every sign-up answer alike (registered email
 * or not), so it tells nothing.
 */
export const SIGNUP_BROWSER_COOKIE = "chorus_signup";
const SIGNUP_BROWSER_PATH = "/api/v1/auth/verify-email";

export function setSignupBrowserCookie(reply: FastifyReply, config: Config, nonce: string, ttlMs: number): void {
  reply.setCookie(SIGNUP_BROWSER_COOKIE, nonce, {
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(config.appUrl),
    path: SIGNUP_BROWSER_PATH,
    maxAge: Math.floor(ttlMs / 1000),
  });
}

export function clearSignupBrowserCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(SIGNUP_BROWSER_COOKIE, {
    path: SIGNUP_BROWSER_PATH,
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(config.appUrl),
  });
}
