import { describe, expect, it } from "vitest";
import { STRONG_PASSWORD, uniqueEmail } from "../helpers/app.js";
import { inviteTokenFrom, orgWithOwner } from "../helpers/orgs.js";
import { withSmtpTestApp } from "../mail/smtp.js";
import { invite } from "./support.js";

const env = withSmtpTestApp();

describe("invitation over real SMTP", () => {
  it("the invitee gets the email, signs up through its link and sees the organization", async () => {
    const { orgId, owner } = await orgWithOwner(env.t, "Wire Co");
    const email = uniqueEmail("wire");
    const res = await invite(owner.client, orgId, {
      email,
      firstName: "Wren",
      lastName: "Wire",
      roleIds: ["chat_manager"],
    });
    expect(res.statusCode).toBe(201);
    await env.t.app.ctx.outbox.drain();
    const mail = await env.smtp.waitFor((m) => JSON.stringify(m.to).includes(email));
    expect(mail.subject).toBe("Olive Owner invited you to Wire Co on Chorus");
    expect(mail.text).toContain("Roles: Chat Manager.");
    const token = inviteTokenFrom(mail.text ?? "", env.t.config.appUrl);
    expect(mail.html).toContain(`/invite/${token}`);

    const browser = env.t.client();
    const seen = await browser.post("/api/v1/invitations/preview", { token });
    expect(seen.json()).toMatchObject({ email, organization: { name: "Wire Co" }, accountExists: false });
    const joined = await browser.post("/api/v1/invitations/accept", { token, password: STRONG_PASSWORD });
    expect(joined.statusCode, joined.body).toBe(200);
    expect(joined.json()).toMatchObject({ orgId, accountCreated: true });

    const orgs = await browser.get("/api/v1/orgs");
    expect(orgs.statusCode).toBe(200);
    expect(orgs.json().items).toMatchObject([{ id: orgId, name: "Wire Co", membership: { isOwner: false } }]);
    const me = (await browser.get("/api/v1/me")).json();
    expect(me).toMatchObject({ email, firstName: "Wren", lastName: "Wire", emailVerified: true });
    const members = await browser.get(`/api/v1/orgs/${orgId}/members`);
    expect(
      members
        .json()
        .items.map((m: { email: string }) => m.email)
        .sort(),
    ).toEqual([email, owner.email].sort());
  });
});
