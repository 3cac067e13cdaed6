import { and, count, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginAttempts } from "../../src/server/db/schema/index.js";
import { DEVICE_COOKIE } from "../../src/server/modules/auth/devices.js";
import {
  MAX_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR,
  MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
  MAX_FAILURES_PER_DEVICE_PER_HOUR,
} from "../../src/server/modules/auth/throttle.js";
import { createTestApp, signUp, type TestApp, type TestClient } from "../helpers/app.js";
import { expectProblem, latestToken, seedFailures } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  // Clients tell their address with X-Forwarded-For, so a stranger and the owner can differ.
  t = await createTestApp({ env: { TRUST_PROXY: "true" } });
});
afterAll(async () => {
  await t?.close();
});

const clientAt = (ip: string) => {
  const c = t.client();
  c.headers["x-forwarded-for"] = ip;
  return c;
};
const login = (c: TestClient, email: string, password: string) => c.post("/api/v1/auth/login", { email, password });

describe("audit finding 8: a stranger's failures do not lock the owner out", () => {
  it("locks the stranger out while the owner signs in on a device that signed in before", async () => {
    const user = await signUp(t.client());
    const owner = clientAt("203.0.113.10");
    const first = await login(owner, user.email, user.password);
    expect(first.statusCode).toBe(200);
    const cookie = (first.cookies as { name: string; httpOnly?: boolean }[]).find((k) => k.name === DEVICE_COOKIE);
    expect(cookie?.httpOnly).toBe(true);

    // A hundred failures from elsewhere: the account is locked for clients it does not know.
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.80", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR - 1,
    );
    const stranger = clientAt("198.51.100.81");
    expectProblem(await login(stranger, user.email, "a wrong guess!!"), 401, "invalid_credentials");
    expectProblem(await login(stranger, user.email, "a wrong guess!!"), 429, "rate_limited");
    expectProblem(await login(stranger, user.email, user.password), 429, "rate_limited");
    expectProblem(await login(clientAt("203.0.113.10"), user.email, user.password), 429, "rate_limited");

    // The owner's known device is counted on its own: a typo, then the right password.
    expectProblem(await login(owner, user.email, "a typo in it!!"), 401, "invalid_credentials");
    expect((await login(owner, user.email, user.password)).statusCode).toBe(200);
  });

  it("unlocks fresh devices with a completed password reset, keeping the failures on record", async () => {
    const user = await signUp(t.client());
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.82", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
    );
    const fresh = clientAt("203.0.113.11");
    expectProblem(await login(fresh, user.email, user.password), 429, "rate_limited");

    expect((await fresh.post("/api/v1/auth/password/forgot", { email: user.email })).statusCode).toBe(202);
    const token = await latestToken(t, user.email, "reset-password");
    const newPassword = "a brand new passphrase 7";
    expect((await fresh.post("/api/v1/auth/password/reset", { token, password: newPassword })).statusCode).toBe(204);
    expect((await login(fresh, user.email, newPassword)).statusCode).toBe(200);

    const [failures] = await t.database.db
      .select({ n: count() })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.userId, user.id), eq(loginAttempts.success, false)));
    expect(failures?.n).toBe(MAX_FAILURES_PER_ACCOUNT_PER_HOUR);
  });

  it("limits a known device on its own budget", async () => {
    const user = await signUp(t.client());
    const owner = clientAt("203.0.113.12");
    expect((await login(owner, user.email, user.password)).statusCode).toBe(200);
    for (let i = 0; i < MAX_FAILURES_PER_DEVICE_PER_HOUR; i++) {
      expectProblem(await login(owner, user.email, "a typo in it!!"), 401, "invalid_credentials");
    }
    expectProblem(await login(owner, user.email, user.password), 429, "rate_limited");
    // The device's failures are not the account's: an unknown client still gets its own tries.
    expect((await login(clientAt("203.0.113.13"), user.email, user.password)).statusCode).toBe(200);
    const [untrusted] = await t.database.db
      .select({ n: count() })
      .from(loginAttempts)
      .where(and(eq(loginAttempts.userId, user.id), eq(loginAttempts.success, false), isNull(loginAttempts.deviceId)));
    expect(untrusted?.n).toBe(0);
  });

  it("trusts a device cookie only for the account that signed in with it", async () => {
    const mine = await signUp(t.client());
    const victim = await signUp(t.client());
    const attacker = clientAt("198.51.100.83");
    expect((await login(attacker, mine.email, mine.password)).statusCode).toBe(200);
    await seedFailures(
      t,
      { email: victim.email, ip: "198.51.100.84", userId: victim.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
    );
    expectProblem(await login(attacker, victim.email, victim.password), 429, "rate_limited");
  });

  it("limits one address's failures on an account before the account's budget runs out", async () => {
    const user = await signUp(t.client());
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.85", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_AND_IP_PER_HOUR,
    );
    expectProblem(await login(clientAt("198.51.100.85"), user.email, user.password), 429, "rate_limited");
    expect((await login(clientAt("203.0.113.14"), user.email, user.password)).statusCode).toBe(200);
  });
});
