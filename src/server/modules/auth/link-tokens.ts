import { and, eq, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { authTokens } from "../../db/schema/index.js";
import { AppError, badRequest } from "../../http/problem.js";
import { hashToken, newToken } from "../../lib/tokens.js";

export type TokenKind = (typeof authTokens.$inferSelect)["kind"];
export type TokenRow = typeof authTokens.$inferSelect;

/**
 * Issues a 256-bit single-use token of `kind` and kills the user's older ones of the
 * same kind, so only the newest emailed link works. Returns the token (only its hash is stored).
 */
export async function issueToken(
  tx: DbOrTx,
  input: { userId: string; kind: TokenKind; ttlMs: number; ip?: string | null },
): Promise<string> {
  await revokeTokens(tx, input.userId, input.kind);
  const token = newToken(32);
  await storeToken(tx, { ...input, token });
  return token;
}

/** Stores the hash of a token the caller made (and keeps), valid for `ttlMs`. */
export async function storeToken(
  tx: DbOrTx,
  input: { userId: string; kind: TokenKind; token: string; ttlMs: number; ip?: string | null },
): Promise<void> {
  await tx.insert(authTokens).values({
    userId: input.userId,
    kind: input.kind,
    tokenHash: hashToken(input.token),
    ip: input.ip ?? null,
    expiresAt: new Date(Date.now() + input.ttlMs),
  });
}

export async function revokeTokens(tx: DbOrTx, userId: string, ...kinds: TokenKind[]): Promise<void> {
  for (const kind of kinds) {
    await tx
      .update(authTokens)
      .set({ usedAt: sql`now()` })
      .where(and(eq(authTokens.userId, userId), eq(authTokens.kind, kind), isNull(authTokens.usedAt)));
  }
}

export const tokenInvalid = () =>
  badRequest("token_invalid", "This link is not valid or was already used. Ask for a new one.", [
    { path: "token", message: "Invalid or used token.", in: "body" },
  ]);
export const tokenExpired = () => new AppError(410, "token_expired", "This link has expired. Ask for a new one.");

/** The live token of `kind`, without using it (to validate input before the slow part of a request). */
export async function peekToken(db: DbOrTx, token: string, kind: TokenKind): Promise<TokenRow> {
  const [row] = await db
    .select()
    .from(authTokens)
    .where(eq(authTokens.tokenHash, hashToken(token)))
    .limit(1);
  if (!row || row.kind !== kind || row.usedAt) throw tokenInvalid();
  if (row.expiresAt.getTime() <= Date.now()) throw tokenExpired();
  return row;
}

/**
 * Marks a live token of `kind` used and returns it, inside `tx`. The conditional update makes
 * two requests racing with one token succeed at most once.
 */
export async function consumeToken(tx: DbOrTx, token: string, kind: TokenKind): Promise<TokenRow> {
  const hash = hashToken(token);
  const [used] = await tx
    .update(authTokens)
    .set({ usedAt: sql`now()` })
    .where(
      and(
        eq(authTokens.tokenHash, hash),
        eq(authTokens.kind, kind),
        isNull(authTokens.usedAt),
        sql`${authTokens.expiresAt} > now()`,
      ),
    )
    .returning();
  if (used) return used;
  const [row] = await tx.select().from(authTokens).where(eq(authTokens.tokenHash, hash)).limit(1);
  if (row && row.kind === kind && !row.usedAt) throw tokenExpired();
  throw tokenInvalid();
}
