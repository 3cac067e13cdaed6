import { eq, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { users } from "../../db/schema/index.js";
import { badRequest, notFound } from "../../http/problem.js";
import { revokeTokens } from "../auth/link-tokens.js";
import { hashPassword, verifyPassword } from "../auth/passwords.js";
import { beginReauth } from "../auth/reauth.js";
import { assertPasswordAllowed } from "../auth/service.js";
import { revokeAllSessions } from "../auth/sessions.js";

export const passwordIncorrect = (field: string) =>
  badRequest("current_password_incorrect", "The password is incorrect.", [
    { path: field, message: "Incorrect password.", in: "body" },
  ]);

/** Checks the signed-in user's password, counting failures against the re-authentication limit. */
export async function assertPassword(ctx: AppContext, userId: string, password: string, field: string) {
  const attempt = await beginReauth(ctx.db, userId);
  const [user] = await ctx.db.select().from(users).where(eq(users.id, userId)).limit(1);
  if (!user) throw notFound("user", "user_not_found");
  if (!(await verifyPassword(user.passwordHash, password))) throw passwordIncorrect(field);
  await attempt.passed();
  return user;
}

/** Changes the password; every other session is signed out, this one stays. */
export async function changePassword(
  ctx: AppContext,
  auth: { userId: string; sessionId: string },
  body: { currentPassword: string; newPassword: string },
): Promise<{ otherSessionsRevoked: number }> {
  const user = await assertPassword(ctx, auth.userId, body.currentPassword, "currentPassword");
  assertPasswordAllowed(
    body.newPassword,
    [user.email.split("@")[0] ?? "", user.firstName, user.lastName],
    "newPassword",
  );
  const passwordHash = await hashPassword(body.newPassword);
  return ctx.db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, user.id));
    const otherSessionsRevoked = await revokeAllSessions(tx, user.id, auth.sessionId);
    // Links and challenges issued under the old password die with it.
    await revokeTokens(tx, user.id, "password_reset", "login_challenge");
    return { otherSessionsRevoked };
  });
}
