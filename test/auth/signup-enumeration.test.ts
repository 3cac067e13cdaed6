import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessions, users } from "../../src/server/db/schema/index.js";
import { MAX_SIGNUPS_PER_IP_PER_HOUR } from "../../src/server/modules/auth/signup.js";
import { createTestApp, STRONG_PASSWORD, signUp, type TestApp, uniqueEmail } from "../helpers/app.js";
import { expectProblem, latestToken, mailsTo, seedRateLimitHits } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const body = (email: string, password = STRONG_PASSWORD) => ({ email, password, firstName: "Eve", lastName: "Prober" });

describe("audit finding 17: sign-up does not reveal registered emails and is rate limited", () => {
  it("answers a new and a registered email with the same status and body, and signs neither in", async () => {
    const registered = await signUp(t.client());
    const fresh = t.client();
    const probe = t.client();
    const a = await fresh.post("/api/v1/auth/signup", body(uniqueEmail()));
    const b = await probe.post("/api/v1/auth/signup", body(registered.email.toUpperCase()));
    expect({ status: a.statusCode, body: a.body }).toEqual({ status: 202, body: b.body });
    expect(b.statusCode).toBe(202);
    expect(a.json()).toEqual({ status: "verification_sent" });
    // Both set the sign-up browser cookie (a fresh random value each), neither a session.
    expect(cookieNames(a)).toEqual(["chorus_signup"]);
    expect(cookieNames(b)).toEqual(["chorus_signup"]);
  });

  it("emails the registered owner instead, creates nothing, keeps the password and issues no session", async () => {
    const owner = await signUp(t.client());
    const [before] = await t.database.db.select().from(users).where(eq(users.email, owner.email));
    const sessionsBefore = await t.database.db.select().from(sessions).where(eq(sessions.userId, owner.id));
    const mailsBefore = (await mailsTo(t, owner.email)).length;

    const res = await t.client().post("/api/v1/auth/signup", body(owner.email, "another long passphrase 42"));
    expect(res.statusCode).toBe(202);

    const [after] = await t.database.db.select().from(users).where(eq(users.email, owner.email));
    expect(after?.passwordHash).toBe(before?.passwordHash);
    expect(after?.firstName).toBe(before?.firstName);
    expect(await t.database.db.select().from(sessions).where(eq(sessions.userId, owner.id))).toHaveLength(
      sessionsBefore.length,
    );
    const login = await t.client().post("/api/v1/auth/login", {
      email: owner.email,
      password: "another long passphrase 42",
    });
    expect(login.statusCode).toBe(401);

    const mails = await mailsTo(t, owner.email);
    expect(mails).toHaveLength(mailsBefore + 1);
    expect(mails[0]!.template).toBe("signupAttempt");
    expect(mails[0]!.textBody).toContain(`${t.config.appUrl}/signin`);
    expect(mails[0]!.textBody).toContain(`${t.config.appUrl}/forgot-password`);
    expect(mails[0]!.textBody).not.toContain("verify-email");
  });

  it("a new email gets an unverified account and a verification link that signs in", async () => {
    const email = uniqueEmail();
    const c = t.client();
    expect((await c.post("/api/v1/auth/signup", body(email))).statusCode).toBe(202);
    expectProblem(await c.get("/api/v1/me"), 401, "unauthenticated");
    const [row] = await t.database.db.select().from(users).where(eq(users.email, email));
    expect(row?.emailVerifiedAt).toBeNull();

    const res = await c.post("/api/v1/auth/verify-email", { token: await latestToken(t, email, "verify-email") });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email, emailVerified: true, firstName: "Eve", signedIn: true });
    const me = await c.get("/api/v1/me");
    expect(me.statusCode).toBe(200);
    expect(me.json().email).toBe(email);
  });

  it("the link signs in only the browser that signed up: someone else's sign-up never puts the address's owner in it", async () => {
    const victim = uniqueEmail("victim");
    const attacker = t.client();
    expect((await attacker.post("/api/v1/auth/signup", body(victim, "attacker knows this one"))).statusCode).toBe(202);
    const token = await latestToken(t, victim, "verify-email");

    // The owner of the address follows the link in their own browser.
    const owner = t.client();
    const res = await owner.post("/api/v1/auth/verify-email", { token });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ email: victim, emailVerified: true, signedIn: false });
    expect(cookieNames(res)).not.toContain("chorus_session");
    expectProblem(await owner.get("/api/v1/me"), 401, "unauthenticated");

    // A forged or another sign-up's cookie does not count either.
    const other = uniqueEmail("other");
    const forger = t.client();
    expect((await forger.post("/api/v1/auth/signup", body(other))).statusCode).toBe(202);
    const wrongBrowser = await t
      .client()
      .post(
        "/api/v1/auth/verify-email",
        { token: await latestToken(t, other, "verify-email") },
        { cookie: `chorus_signup=${attacker.cookies.chorus_signup}` },
      );
    expect(wrongBrowser.json()).toMatchObject({ signedIn: false });
    expect(await t.database.db.select().from(sessions).where(eq(sessions.userId, res.json().id))).toEqual([]);
  });

  it("answers 429 with Retry-After once an address has signed up too often from one IP", async () => {
    const ip = "198.51.100.17";
    await seedRateLimitHits(t, `signup:ip:${ip}`, MAX_SIGNUPS_PER_IP_PER_HOUR);
    const email = uniqueEmail();
    const res = await t.app.inject({
      method: "POST",
      url: "/api/v1/auth/signup",
      remoteAddress: ip,
      headers: { origin: t.config.appUrl },
      payload: body(email),
    });
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect(await t.database.db.select().from(users).where(eq(users.email, email))).toHaveLength(0);
  });

  it("sends at most a few emails an hour to one address, answering alike", async () => {
    const owner = await signUp(t.client());
    const mailsBefore = (await mailsTo(t, owner.email)).length;
    const answers = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await t.client().post("/api/v1/auth/signup", body(owner.email));
      answers.add(`${res.statusCode} ${res.body}`);
    }
    expect([...answers]).toEqual(['202 {"status":"verification_sent"}']);
    // The helper's own sign-up counted as one of the address's emails.
    expect((await mailsTo(t, owner.email)).length - mailsBefore).toBe(2);
  });
});

function cookieNames(res: { headers: Record<string, unknown> }): string[] {
  return [res.headers["set-cookie"]]
    .flat()
    .filter(Boolean)
    .map((c) => String(c).split("=")[0]!);
}
