import { describe, expect, it } from "vitest";
import { withSmtpTestApp } from "../mail/smtp.js";
import { expectProblem, signUpUnverified, tokenFromLink } from "./support.js";

const env = withSmtpTestApp();

describe("verification email over real SMTP", () => {
  it("delivers the link, which verifies the email once", async () => {
    const c = env.t.client();
    const user = await signUpUnverified(c);
    await env.t.app.ctx.outbox.drain();
    // The sign-in also sends a new-device alert; the two may arrive in either order.
    const mail = await env.smtp.waitFor(
      (m) => JSON.stringify(m.to ?? "").includes(user.email) && m.subject === "Confirm your email for Chorus",
    );
    expect(mail.html).toContain("/verify-email?token=");
    const token = tokenFromLink(mail.text ?? "", "verify-email");

    const res = await env.t.client().post("/api/v1/auth/verify-email", { token });
    expect(res.statusCode).toBe(200);
    expect((await c.get("/api/v1/me")).json().emailVerified).toBe(true);
    expectProblem(await env.t.client().post("/api/v1/auth/verify-email", { token }), 400, "token_invalid");
  });
});
