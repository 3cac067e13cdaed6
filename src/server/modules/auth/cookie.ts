import type { FastifyReply } from "fastify";
import type { Config } from "../../config.js";
import { SESSION_COOKIE } from "./sessions.js";

export function setSessionCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "lax",
    secure: config.appUrl.startsWith("https:"),
    path: "/",
    maxAge: Math.floor(config.sessionIdleTtlMs / 1000),
  });
}

export function clearSessionCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(SESSION_COOKIE, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: config.appUrl.startsWith("https:"),
  });
}
