import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, signUp, type TestApp } from "../helpers/app.js";
import { TestSmtp } from "../mail/smtp.js";
import { expectProblem, tokenFromLink } from "./support.js";

let smtp: TestSmtp;
let t: TestApp;
beforeAll(async () => {
  smtp = await TestSmtp.start();
  t = await createTestApp({ env: { SMTP_URL: smtp.url } });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

describe("verification email over real SMTP", () => {
  it("delivers the link, which verifies the email once", async () => {
    const c = t.client();
    const user = await signUp(c);
    await t.app.ctx.outbox.drain();
    const mail = await smtp.waitFor((m) => m.to !== undefined && JSON.stringify(m.to).includes(user.email));
    expect(mail.subject).toBe("Confirm your email for Chorus");
    expect(mail.html).toContain("/verify-email?token=");
    const token = tokenFromLink(mail.text ?? "", "verify-email");

    const res = await t.client().post("/api/v1/auth/verify-email", { token });
    expect(res.statusCode).toBe(200);
    expect((await c.get("/api/v1/me")).json().emailVerified).toBe(true);
    expectProblem(await t.client().post("/api/v1/auth/verify-email", { token }), 400, "token_invalid");
  });
});
