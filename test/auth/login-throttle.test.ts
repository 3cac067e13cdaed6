import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
  MAX_FAILURES_PER_IP_PER_HOUR,
} from "../../src/server/modules/auth/throttle.js";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";
import { expectProblem, seedFailures } from "./support.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const login = (email: string, password: string) => t.client().post("/api/v1/auth/login", { email, password });

describe("sign-in throttling", () => {
  it("records a wrong password as a failure and still answers 401 under the limit", async () => {
    const user = await signUp(t.client());
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.1", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR - 2,
    );
    expectProblem(await login(user.email, "wrong password!!"), 401, "invalid_credentials");
    // That failure was the 99th: one more wrong try is allowed, then the account is locked for now.
    expectProblem(await login(user.email, "wrong password!!"), 401, "invalid_credentials");
    expectProblem(await login(user.email, user.password), 429, "rate_limited");
  });

  it("answers 429 with Retry-After when the oldest failure leaves the hour", async () => {
    const user = await signUp(t.client());
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.2", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
      50,
    );
    const res = await login(user.email, user.password);
    expectProblem(res, 429, "rate_limited");
    const retry = Number(res.headers["retry-after"]);
    // Seeded 50 minutes ago: they leave the one-hour window in about 10 minutes.
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(600);
  });

  it("ignores failures older than an hour", async () => {
    const user = await signUp(t.client());
    await seedFailures(
      t,
      { email: user.email, ip: "198.51.100.3", userId: user.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
      61,
    );
    expect((await login(user.email, user.password)).statusCode).toBe(200);
  });

  it("limits one account without locking out others", async () => {
    const locked = await signUp(t.client());
    const other = await signUp(t.client());
    await seedFailures(
      t,
      { email: locked.email, ip: "198.51.100.4", userId: locked.id },
      MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
    );
    expectProblem(await login(locked.email, locked.password), 429, "rate_limited");
    expect((await login(other.email, other.password)).statusCode).toBe(200);
  });

  it("limits failures per IP across accounts", async () => {
    const user = await signUp(t.client());
    await seedFailures(t, { email: "spray@example.com", ip: "127.0.0.1" }, MAX_FAILURES_PER_IP_PER_HOUR);
    expectProblem(await login(user.email, user.password), 429, "rate_limited");
  });
});
