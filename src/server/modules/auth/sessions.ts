import { and, eq, gt, isNull, ne, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client.js";
import { sessions, users } from "../../db/schema/index.js";
import { perDatabase } from "../../http/prepared.js";
import type { AuthUser } from "../../http/request-context.js";
import { hashToken, newToken } from "../../lib/tokens.js";

export const SESSION_COOKIE = "chorus_session";
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
  lastUsedAt: sessions.lastUsedAt,
  expiresAt: sessions.expiresAt,
  userId: users.id,
  ...authUserColumns,
};

/** Placeholders `tokenHash` and `now` (ISO string: both drivers take it as is). */
export const liveSessionWhere = and(
  eq(sessions.tokenHash, sql.placeholder("tokenHash")),
  isNull(sessions.revokedAt),
  gt(sessions.expiresAt, sql.placeholder("now")),
);

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
  user: AuthUser;
}

/** The live session row (at most one) of a token hash, with its user, as `sessionColumns` reads it. */
export function readSession(db: Db, tokenHash: string, nowIso: string): Promise<SessionRow[]> {
  return sessionQuery(db).execute({ tokenHash, now: nowIso });
}

/** Refreshes the sliding expiry: the session lives `idleTtlMs` from `now`. */
export async function touchSession(db: Db, sessionId: string, now: Date, idleTtlMs: number): Promise<void> {
  await db
    .update(sessions)
    .set({ lastUsedAt: now, expiresAt: new Date(now.getTime() + idleTtlMs) })
    .where(eq(sessions.id, sessionId));
}

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
