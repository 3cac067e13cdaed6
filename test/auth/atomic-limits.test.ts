import { and, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginAttempts } from "../../src/server/db/schema/index.js";
import { MAX_REAUTH_FAILURES_PER_HOUR } from "../../src/server/modules/auth/reauth.js";
import { MAX_FAILURES_PER_ACCOUNT_PER_HOUR } from "../../src/server/modules/auth/throttle.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";
import { onPostgres } from "../helpers/db.js";
import { expectProblem, seedFailures, seedRateLimitHits, signUpWithTwoFactor } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** How many answers had each status, e.g. `{ 401: 20, 429: 40 }`. */
function tally(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

// PGlite runs one statement at a time, so requests cannot race there: these need PostgreSQL.
describe.skipIf(!onPostgres)("audit finding 4: sign-in and re-authentication limits are atomic", () => {
  it("parallel wrong passwords at a sign-in: no more are checked than the limit leaves", async () => {
    const user = await signUp(t.client());
    const room = 20;
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.40", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR - room,
    );
    const answers = await Promise.all(
      Array.from({ length: 3 * room }, () =>
        t.client().post("/api/v1/auth/login", { email: user.email, password: "a wrong guess!!" }),
      ),
    );
    // 401 = the password was checked and was wrong; 429 = refused before any check.
    expect(tally(answers.map((r) => r.statusCode))).toEqual({ 401: room, 429: 2 * room });
    const [failures] = await t.database.db
      .select({ n: count() })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.email, user.email), eq(loginAttempts.success, false)));
    expect(failures?.n).toBe(MAX_FAILURES_PER_ACCOUNT_PER_HOUR);
  });

  it("parallel wrong codes at the second sign-in step: no more are checked than the limit leaves", async () => {
    const user = await signUpWithTwoFactor(t);
    const room = 5;
    const challenges: string[] = [];
    for (let i = 0; i < 2 * room; i++) {
      const res = await t.client().post("/api/v1/auth/login", { email: user.email, password: user.password });
      challenges.push(res.json().challengeToken as string);
    }
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.41", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR - room,
    );
    // One wrong code on each of ten challenges at once: the account has room for five.
    const answers = await Promise.all(
      challenges.map((challengeToken) =>
        t.client().post("/api/v1/auth/login/2fa", { challengeToken, recoveryCode: "zzzz-zzzz-zzzz-zzzz" }),
      ),
    );
    expect(tally(answers.map((r) => r.statusCode))).toEqual({ 401: room, 429: room });
  });

  it("parallel wrong current passwords on /me/password: at most 10 an hour are checked", async () => {
    const c = t.client();
    await signUp(c);
    const answers = await Promise.all(
      Array.from({ length: 3 * MAX_REAUTH_FAILURES_PER_HOUR }, () =>
        c.post("/api/v1/me/password", { currentPassword: "a wrong guess!!", newPassword: "another long passphrase 9" }),
      ),
    );
    expect(tally(answers.map((r) => r.statusCode))).toEqual({
      400: MAX_REAUTH_FAILURES_PER_HOUR,
      429: 2 * MAX_REAUTH_FAILURES_PER_HOUR,
    });
    expect(
      answers.filter((r) => r.statusCode === 400).every((r) => r.json().code === "current_password_incorrect"),
    ).toBe(true);
  });
});

describe("audit finding 4: an attempt is counted before its check and given back when it passed", () => {
  it("right current passwords do not use up the re-authentication limit", async () => {
    const c = t.client();
    const user = await signUp(c);
    await seedRateLimitHits(t, `reauth:user:${user.id}`, MAX_REAUTH_FAILURES_PER_HOUR - 1);
    const change = (currentPassword: string, newPassword: string) =>
      c.post("/api/v1/me/password", { currentPassword, newPassword });
    expect((await change(user.password, "another long passphrase 9")).statusCode).toBe(200);
    expect((await change("another long passphrase 9", "yet another passphrase 10")).statusCode).toBe(200);
    expectProblem(await change("a wrong guess!!", "another long passphrase 9"), 400, "current_password_incorrect");
    expectProblem(await change("yet another passphrase 10", "another long passphrase 9"), 429, "rate_limited");
  });
});
