import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, signUp, type TestApp, type TestClient } from "../helpers/app.js";
import { latestToken, mailsTo, signUpWithTwoFactor, totpCode } from "./support.js";

const CHROME_ON_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const HOSTILE_AGENT =
  '(Windows NT 10.0) <img src=x onerror="alert(1)"> Visit https://evil.example/login now\r\nBcc: victim@example.com';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** The security alerts queued for `email`, newest first. */
const alertsTo = async (email: string) => (await mailsTo(t, email)).filter((m) => m.template === "securityAlert");

function clientWithAgent(userAgent: string): TestClient {
  const c = t.client();
  c.headers["user-agent"] = userAgent;
  return c;
}

describe("audit finding 18: security alerts are sent", () => {
  it("on a sign-in from a new device (browser family + IP), once per device", async () => {
    const user = await signUp(t.client()); // signed up with the "vitest" agent from 127.0.0.1
    const login = (c: TestClient) => c.post("/api/v1/auth/login", { email: user.email, password: user.password });
    expect((await login(t.client())).statusCode).toBe(200);
    expect(await alertsTo(user.email)).toHaveLength(0); // the device of the sign-up

    expect((await login(clientWithAgent(CHROME_ON_WINDOWS))).statusCode).toBe(200);
    const [alert] = await alertsTo(user.email);
    expect(alert!.subject).toBe("New sign-in to your Chorus account");
    expect(alert!.textBody).toContain("Chrome on Windows");
    expect(alert!.textBody).toContain("127.0.0.1");

    // Same family and address again (another Chrome version): not new.
    expect((await login(clientWithAgent(CHROME_ON_WINDOWS.replace("126.0.0.0", "127.0.1.2")))).statusCode).toBe(200);
    expect(await alertsTo(user.email)).toHaveLength(1);
    // A failed attempt from a new device is not a sign-in.
    await clientWithAgent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0").post(
      "/api/v1/auth/login",
      { email: user.email, password: "wrong password" },
    );
    expect(await alertsTo(user.email)).toHaveLength(1);
  });

  it("never puts the attacker-controlled user agent into the message", async () => {
    const user = await signUp(t.client());
    const c = clientWithAgent(HOSTILE_AGENT);
    expect((await c.post("/api/v1/auth/login", { email: user.email, password: user.password })).statusCode).toBe(200);
    const [alert] = await alertsTo(user.email);
    expect(alert).toBeDefined();
    for (const part of [alert!.subject, alert!.textBody, alert!.htmlBody]) {
      expect(part).not.toContain("<img");
      expect(part).not.toContain("evil.example");
      expect(part).not.toContain("Bcc");
    }
    expect(alert!.textBody).toContain("Device: Unknown browser on Windows");
  });

  it("when the password is changed", async () => {
    const c = t.client();
    const user = await signUp(c);
    const res = await c.post("/api/v1/me/password", {
      currentPassword: user.password,
      newPassword: "another long passphrase 7",
    });
    expect(res.statusCode).toBe(200);
    const [alert] = await alertsTo(user.email);
    expect(alert!.subject).toBe("Your Chorus password was changed");
  });

  it("when the password is reset", async () => {
    const user = await signUp(t.client());
    await t.client().post("/api/v1/auth/password/forgot", { email: user.email });
    const token = await latestToken(t, user.email, "reset-password");
    const res = await t.client().post("/api/v1/auth/password/reset", { token, password: "a brand new passphrase 42" });
    expect(res.statusCode).toBe(204);
    const [alert] = await alertsTo(user.email);
    expect(alert!.subject).toBe("Your Chorus password was reset");
  });

  it("when two-factor authentication is turned on and off", async () => {
    const user = await signUpWithTwoFactor(t);
    expect((await alertsTo(user.email)).map((m) => m.subject)).toEqual([
      "Two-factor authentication was turned on for your Chorus account",
    ]);
    const res = await user.client.post("/api/v1/me/2fa/disable", {
      password: user.password,
      code: await totpCode(user.secret),
    });
    expect(res.statusCode).toBe(204);
    const [alert] = await alertsTo(user.email);
    expect(alert!.subject).toBe("Two-factor authentication was turned off for your Chorus account");
  });

  it("when a recovery code is used to sign in, in the recipient's language", async () => {
    const user = await signUpWithTwoFactor(t);
    expect((await user.client.patch("/api/v1/me", { language: "es" })).statusCode).toBe(200);
    const login = await t.client().post("/api/v1/auth/login", { email: user.email, password: user.password });
    const res = await t.client().post("/api/v1/auth/login/2fa", {
      challengeToken: login.json().challengeToken,
      recoveryCode: user.recoveryCodes[0],
    });
    expect(res.statusCode).toBe(200);
    const [alert] = await alertsTo(user.email);
    expect(alert!.locale).toBe("es");
    expect(alert!.subject).toBe("Se usó un código de recuperación en tu cuenta de Chorus");
    expect(alert!.textBody).toContain("9");
  });

  it("when a recovery code is used to re-authenticate (regenerating the codes)", async () => {
    const user = await signUpWithTwoFactor(t);
    const res = await user.client.post("/api/v1/me/2fa/recovery-codes", { code: user.recoveryCodes[1] });
    expect(res.statusCode).toBe(200);
    const [alert] = await alertsTo(user.email);
    expect(alert!.subject).toBe("A recovery code was used on your Chorus account");
  });
});
