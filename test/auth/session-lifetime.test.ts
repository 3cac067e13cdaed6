import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions } from "../../src/server/db/schema/index.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";
import { expectProblem } from "./support.js";

const HTTPS_URL = "https://chorus.test";

describe("audit finding 16: sessions have an absolute lifetime and a __Host- cookie over https", () => {
  let t: TestApp;
  let secure: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { SESSION_IDLE_TTL: "7d", SESSION_ABSOLUTE_TTL: "30d" } });
    secure = await createTestApp({ database: t.database, env: { APP_URL: HTTPS_URL } });
  });
  afterAll(async () => {
    await secure?.close();
    await t?.close();
  });

  it("reads both lifetimes from the environment", () => {
    expect(t.config.sessionIdleTtlMs).toBe(7 * 86_400_000);
    expect(t.config.sessionAbsoluteTtlMs).toBe(30 * 86_400_000);
  });

  it("refuses a session older than the absolute lifetime even though it was used a moment ago", async () => {
    const c = t.client();
    const user = await signUp(c);
    expect((await c.get("/api/v1/me")).statusCode).toBe(200); // now in the authorization cache
    // Signed in 31 days ago, used every day since: the sliding expiry alone would keep it alive.
    await t.database.db
      .update(sessions)
      .set({
        createdAt: sql`now() - interval '31 days'`,
        lastUsedAt: sql`now()`,
        expiresAt: sql`now() + interval '6 days'`,
      })
      .where(eq(sessions.userId, user.id));
    await t.settle();
    expectProblem(await c.get("/api/v1/me"), 401, "session_expired");
  });

  it("keeps a session inside both lifetimes, and never slides its expiry past the absolute one", async () => {
    const c = t.client();
    const user = await signUp(c);
    await t.database.db
      .update(sessions)
      .set({ createdAt: sql`now() - interval '29 days'`, lastUsedAt: sql`now() - interval '1 hour'` })
      .where(eq(sessions.userId, user.id));
    await t.settle();
    expect((await c.get("/api/v1/me")).statusCode).toBe(200); // touched: last use was over a minute ago
    const [row] = await t.database.db.select().from(sessions).where(eq(sessions.userId, user.id));
    const absoluteEnd = row!.createdAt.getTime() + 30 * 86_400_000;
    expect(row!.expiresAt.getTime()).toBe(absoluteEnd);
  });

  it("names the cookie __Host-chorus_session with Secure, Path=/ and no Domain when APP_URL is https", async () => {
    const c = secure.client();
    c.headers.origin = HTTPS_URL;
    const user = await signUp(c); // the verification link signs in
    expect(Object.keys(c.cookies)).toEqual(["__Host-chorus_session"]);
    const res = await secure
      .client()
      .post("/api/v1/auth/login", { email: user.email, password: user.password }, { origin: HTTPS_URL });
    expect(res.statusCode).toBe(200);
    const header = sessionCookieOf(res);
    expect(header).toMatch(/^__Host-chorus_session=[A-Za-z0-9_-]+;/);
    expect(header).toContain("Secure");
    expect(header).toContain("Path=/");
    expect(header).toContain("HttpOnly");
    expect(header).toContain("SameSite=Lax");
    expect(header).not.toMatch(/domain=/i);
    expect(header).toContain(`Max-Age=${secure.config.sessionAbsoluteTtlMs / 1000}`);

    // The plain name is not read over https: a sibling host could have planted it.
    const token = c.cookies["__Host-chorus_session"]!;
    expect((await secure.client().get("/api/v1/me", { cookie: `__Host-chorus_session=${token}` })).statusCode).toBe(
      200,
    );
    expectProblem(
      await secure.client().get("/api/v1/me", { cookie: `chorus_session=${token}` }),
      401,
      "unauthenticated",
    );
  });

  it("keeps the plain name without Secure over http (development on localhost)", async () => {
    const user = await signUp(t.client());
    const res = await t.client().post("/api/v1/auth/login", { email: user.email, password: user.password });
    expect(res.statusCode).toBe(200);
    const header = sessionCookieOf(res);
    expect(header).toMatch(/^chorus_session=/);
    expect(header).not.toContain("Secure");
  });
});

/** The session cookie among those a sign-in sets (a device cookie may come with it). */
function sessionCookieOf(res: { headers: Record<string, unknown> }): string {
  const all = [res.headers["set-cookie"]].flat().map(String);
  return all.find((c) => /^(__Host-)?chorus_session=/.test(c)) ?? "";
}
