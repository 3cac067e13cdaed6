import { and, eq, gt, isNull, ne, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client.js";
import { sessions, users } from "../../db/schema/index.js";
import { perDatabase } from "../../http/prepared.js";
import type { AuthUser, SignedIn } from "../../http/request-context.js";
import { hashToken, newToken } from "../../lib/tokens.js";

export const SESSION_COOKIE = "chorus_session";

/**
 * The session cookie's name: `__Host-` prefixed whenever the app is served over https, so
 * browsers accept it only with Secure, Path=/ and no Domain, and no sibling host can plant or
 * shadow it. Over plain http (local development) the prefix cannot be used, since it needs Secure.
 */
export function sessionCookieName(appUrl: string): string {
  return isHttps(appUrl) ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

export const isHttps = (appUrl: string) => appUrl.startsWith("https:");

/** How long a session lives: `idleMs` after its last use, and never more than `absoluteMs` after sign-in. */
export interface SessionTtl {
  idleMs: number;
  absoluteMs: number;
}

export const sessionTtlOf = (config: { sessionIdleTtlMs: number; sessionAbsoluteTtlMs: number }): SessionTtl => ({
  idleMs: config.sessionIdleTtlMs,
  absoluteMs: config.sessionAbsoluteTtlMs,
});

/** Sliding expiry is refreshed at most this often, so a busy client does not write on every request. */
export const TOUCH_EVERY_MS = 60_000;

export interface NewSession {
  id: string;
  token: string;
  expiresAt: Date;
}

export async function createSession(
  db: DbOrTx,
  input: { userId: string; ip: string | null; userAgent: string | null; twoFactorVerified: boolean; idleTtlMs: number },
): Promise<NewSession> {
  const token = newToken(32);
  const expiresAt = new Date(Date.now() + input.idleTtlMs);
  const [row] = await db
    .insert(sessions)
    .values({
      userId: input.userId,
      tokenHash: hashToken(token),
      ip: input.ip,
      userAgent: input.userAgent?.slice(0, 512) ?? null,
      twoFactorVerified: input.twoFactorVerified,
      expiresAt,
    })
    .returning({ id: sessions.id });
  return { id: row!.id, token, expiresAt };
}

/** The users columns `toAuthUser` reads, besides the id. */
export const authUserColumns = {
  email: users.email,
  firstName: users.firstName,
  lastName: users.lastName,
  language: users.language,
  emailVerifiedAt: users.emailVerifiedAt,
  totpEnabledAt: users.totpEnabledAt,
};

/** Columns of a live session and its user, shared by the guard's one-query member lookup. */
export const sessionColumns = {
  sessionId: sessions.id,
  twoFactorVerified: sessions.twoFactorVerified,
  createdAt: sessions.createdAt,
  lastUsedAt: sessions.lastUsedAt,
  expiresAt: sessions.expiresAt,
  userId: users.id,
  ...authUserColumns,
};

/**
 * Placeholders `tokenHash`, `now` and `bornAfter` (`now` less the absolute lifetime; ISO strings:
 * both drivers take them as is). The absolute lifetime is checked here, not only folded into
 * `expires_at`, so a lower SESSION_ABSOLUTE_TTL takes effect on sessions that already exist.
 */
export const liveSessionWhere = and(
  eq(sessions.tokenHash, sql.placeholder("tokenHash")),
  isNull(sessions.revokedAt),
  gt(sessions.expiresAt, sql.placeholder("now")),
  gt(sessions.createdAt, sql.placeholder("bornAfter")),
);

/** The time placeholders of `liveSessionWhere` at `nowMs`. */
export function liveSessionParams(nowMs: number, ttl: SessionTtl): { now: string; bornAfter: string } {
  return { now: new Date(nowMs).toISOString(), bornAfter: new Date(nowMs - ttl.absoluteMs).toISOString() };
}

const sessionQuery = perDatabase((db) =>
  db
    .select(sessionColumns)
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(liveSessionWhere)
    .limit(1)
    .prepare("chorus_session"),
);

export type SessionRow = Awaited<ReturnType<ReturnType<typeof sessionQuery>["execute"]>>[number];

export interface LiveSession {
  sessionId: string;
  /** This session passed the second factor (at sign-in, or by turning 2FA on in it). */
  twoFactorVerified: boolean;
  user: AuthUser;
}

/** The live session row (at most one) of a token hash, with its user, as `sessionColumns` reads it. */
export function readSession(
  db: Db,
  tokenHash: string,
  params: { now: string; bornAfter: string },
): Promise<SessionRow[]> {
  return sessionQuery(db).execute({ tokenHash, ...params });
}

/** Refreshes the sliding expiry: the session was used at `now` and lives until `expiresAt`. */
export async function touchSession(db: Db, sessionId: string, now: Date, expiresAt: Date): Promise<void> {
  await db.update(sessions).set({ lastUsedAt: now, expiresAt }).where(eq(sessions.id, sessionId));
}

/**
 * Whether the session satisfies an organization's "require 2FA" rule: the account has 2FA on
 * AND this session proved it. A password-only session of an account that turned 2FA on
 * elsewhere does not.
 */
export const passedTwoFactor = (auth: SignedIn): boolean =>
  auth.user.twoFactorEnabled && auth.session.twoFactorVerified;

/** The signed-in user the request context carries, from a users row. */
export function toAuthUser(u: {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  language: string;
  emailVerifiedAt: Date | null;
  totpEnabledAt: Date | null;
}): AuthUser {
  return {
    id: u.id,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    language: u.language,
    emailVerified: u.emailVerifiedAt !== null,
    twoFactorEnabled: u.totpEnabledAt !== null,
  };
}

export async function revokeSession(db: DbOrTx, userId: string, sessionId: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: new Date() })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

/** Revokes every live session of the user, except `keepSessionId` when given. */
export async function revokeAllSessions(db: DbOrTx, userId: string, keepSessionId?: string): Promise<number> {
  const conditions = [eq(sessions.userId, userId), isNull(sessions.revokedAt)];
  if (keepSessionId) conditions.push(ne(sessions.id, keepSessionId));
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(...conditions))
    .returning({ id: sessions.id });
  return rows.length;
}
