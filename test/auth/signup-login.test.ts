import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginAttempts, sessions, users } from "../../src/server/db/schema/index.js";
import { createTestApp, STRONG_PASSWORD, signUp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { latestToken } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const signupBody = (email: string, password = STRONG_PASSWORD) => ({
  email,
  password,
  firstName: "Ada",
  lastName: "Lovelace",
});

describe("sign up", () => {
  it("normalizes the email to lower case, stores an argon2id hash; the emailed link signs in", async () => {
    const c = t.client();
    const email = uniqueEmail();
    const res = await c.post("/api/v1/auth/signup", signupBody(`  ${email.toUpperCase()} `));
    expect(res.statusCode).toBe(202);
    const [row] = await t.database.db.select().from(users).where(eq(users.email, email));
    expect(row?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row?.passwordHash).not.toContain(STRONG_PASSWORD);
    expect(row?.emailVerifiedAt).toBeNull();
    const verified = await c.post("/api/v1/auth/verify-email", { token: await latestToken(t, email, "verify-email") });
    expect(verified.json()).toMatchObject({ email, emailVerified: true });
    const me = await c.get("/api/v1/me");
    expect(me.statusCode).toBe(200);
    expect(me.json().email).toBe(email);
  });

  it("creates no second account for a taken email, whatever its case", async () => {
    const email = uniqueEmail();
    expect((await t.client().post("/api/v1/auth/signup", signupBody(email))).statusCode).toBe(202);
    const again = await t.client().post("/api/v1/auth/signup", signupBody(email.toUpperCase()));
    expect(again.statusCode).toBe(202);
    expect(await t.database.db.select().from(users).where(eq(users.email, email))).toHaveLength(1);
  });

  it("refuses passwords shorter than 10 characters and common ones, naming the field", async () => {
    const short = await t.client().post("/api/v1/auth/signup", signupBody(uniqueEmail(), "Short1!"));
    expect(short.statusCode).toBe(400);
    expect(short.json().errors.map((e: { path: string }) => e.path)).toContain("password");
    const common = await t.client().post("/api/v1/auth/signup", signupBody(uniqueEmail(), "password123"));
    expect(common.statusCode).toBe(400);
    expect(common.json().code).toBe("password_too_common");
    expect(common.json().errors[0].path).toBe("password");
  });
});

describe("sign in and sign out", () => {
  it("signs in with the email in any case and records the attempt", async () => {
    const user = await signUp(t.client());
    const c = t.client();
    c.headers["user-agent"] = "Mozilla/5.0 (signup-login test)";
    const res = await c.post("/api/v1/auth/login", { email: user.email.toUpperCase(), password: STRONG_PASSWORD });
    expect(res.statusCode).toBe(200);
    expect(res.json().email).toBe(user.email);
    expect(c.cookies.chorus_session).toBeTruthy();
    expect(String(res.headers["set-cookie"])).toMatch(/HttpOnly/i);
    expect(String(res.headers["set-cookie"])).toMatch(/SameSite=Lax/i);
    const attempts = await t.database.db.select().from(loginAttempts).where(eq(loginAttempts.userId, user.id));
    expect(attempts.some((a) => a.success && a.userAgent === "Mozilla/5.0 (signup-login test)")).toBe(true);
  });

  it("answers the same 401 for a wrong password and an unknown email", async () => {
    const user = await signUp(t.client());
    const wrong = await t.client().post("/api/v1/auth/login", { email: user.email, password: "not the password" });
    const unknown = await t.client().post("/api/v1/auth/login", { email: uniqueEmail(), password: STRONG_PASSWORD });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().code).toBe("invalid_credentials");
    expect(unknown.json().code).toBe(wrong.json().code);
    expect(unknown.json().detail).toBe(wrong.json().detail);
  });

  it("stores only the SHA-256 of the session token and accepts it as a Bearer token", async () => {
    const user = await signUp(t.client());
    const c = t.client();
    await c.post("/api/v1/auth/login", { email: user.email, password: STRONG_PASSWORD });
    const token = c.cookies.chorus_session!;
    const rows = await t.database.db.select().from(sessions).where(eq(sessions.userId, user.id));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(JSON.stringify(row)).not.toContain(token);
    const bearer = t.client();
    bearer.bearer = token;
    expect((await bearer.get("/api/v1/me")).json().id).toBe(user.id);
  });

  it("signs out: the session stops working at once", async () => {
    const user = await signUp(t.client());
    const c = t.client();
    await c.post("/api/v1/auth/login", { email: user.email, password: STRONG_PASSWORD });
    const token = c.cookies.chorus_session!;
    expect((await c.post("/api/v1/auth/logout")).statusCode).toBe(204);
    const stale = t.client();
    stale.bearer = token;
    const res = await stale.get("/api/v1/me");
    expect(res.statusCode).toBe(401);
    expect(res.headers["content-type"]).toContain("application/problem+json");
  });
});
