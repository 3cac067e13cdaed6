import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/server/db/client.js";
import type { Outbox } from "../../src/server/modules/mail/outbox.js";
import { renderMail, toLocale } from "../../src/server/modules/mail/templates.js";
import { createTestDatabase } from "../helpers/db.js";
import { openOutbox } from "../helpers/outbox.js";
import { TestSmtp } from "./smtp.js";

const EVIL = `<script>alert("x")</script> & 'Co'`;

describe("mail templates", () => {
  it("renders the verification email in English and Spanish, as text and HTML", () => {
    const url = "http://chorus.test/verify-email?token=abc";
    const en = renderMail("verifyEmail", { firstName: "Ada", url }, "en");
    const es = renderMail("verifyEmail", { firstName: "Ada", url }, "es");
    expect(en.subject).toBe("Confirm your email for Chorus");
    expect(es.subject).toBe("Confirma tu correo electrónico en Chorus");
    expect(en.text).toContain("Hi Ada,");
    expect(es.text).toContain("Hola Ada:");
    expect(en.text).toContain(`Confirm email: ${url}`);
    expect(es.text).toContain(`Confirmar correo: ${url}`);
    expect(en.html).toContain('<html lang="en">');
    expect(es.html).toContain('<html lang="es">');
    expect(es.html).toContain(`<a href="${url}"`);
    expect(es.html).toContain(">Confirmar correo</a>");
  });

  it("renders password reset and invitation emails in both languages", () => {
    const reset = renderMail("passwordReset", { firstName: "Lu", url: "http://x/r" }, "es");
    expect(reset.subject).toBe("Restablece tu contraseña de Chorus");
    expect(reset.text).toContain("caduca en 1 hora");
    const data = {
      inviterName: "Grace Hopper",
      orgName: "Acme",
      roleNames: ["Operator", "Chat Manager"],
      expiresAt: "2030-01-02T03:04:00.000Z",
      url: "http://chorus.test/invitations/t0k",
      firstName: "Alan",
    };
    const en = renderMail("invitation", data, "en");
    const es = renderMail("invitation", data, "es");
    expect(en.subject).toBe("Grace Hopper invited you to Acme on Chorus");
    expect(es.subject).toBe("Grace Hopper te invitó a Acme en Chorus");
    expect(en.text).toContain("Roles: Operator, Chat Manager.");
    expect(en.text).toContain("2 January 2030");
    expect(es.text).toContain("2 de enero de 2030");
    expect(renderMail("invitation", { ...data, roleNames: [] }, "es").text).toContain("Sin roles asignados");
  });

  it("escapes user-provided names in HTML and keeps them readable in text", () => {
    const m = renderMail(
      "invitation",
      {
        inviterName: EVIL,
        orgName: "<b>Acme</b>",
        roleNames: ["<i>r</i>"],
        expiresAt: new Date().toISOString(),
        url: "http://chorus.test/invitations/a?x=1&y=2",
        firstName: `"><img src=x onerror=alert(1)>`,
      },
      "en",
    );
    expect(m.html).not.toContain("<script>");
    expect(m.html).not.toContain("<b>Acme</b>");
    expect(m.html).not.toContain("<img");
    expect(m.html).not.toContain("<i>r</i>");
    expect(m.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;");
    expect(m.html).toContain("&lt;b&gt;Acme&lt;/b&gt;");
    expect(m.html).toContain('href="http://chorus.test/invitations/a?x=1&amp;y=2"');
    expect(m.text).toContain(`${EVIL} invited you to join <b>Acme</b>`);
  });

  it("never lets a line break from a name into the subject", () => {
    const m = renderMail(
      "invitation",
      {
        inviterName: "Eve\r\nBcc: victim@example.com",
        orgName: "Acme",
        roleNames: [],
        expiresAt: new Date().toISOString(),
        url: "http://x",
        firstName: "A",
      },
      "en",
    );
    expect(m.subject).not.toMatch(/[\r\n]/);
  });

  it("falls back to English for other languages", () => {
    expect(toLocale("es")).toBe("es");
    expect(toLocale("fr")).toBe("en");
    expect(toLocale(null)).toBe("en");
  });
});

describe("mail over a real SMTP server", () => {
  let smtp: TestSmtp;
  let database: Database;
  let outbox: Outbox;
  let closeOutbox: () => Promise<void>;
  beforeAll(async () => {
    smtp = await TestSmtp.start();
    database = await createTestDatabase();
    ({ outbox, close: closeOutbox } = await openOutbox(database, { smtpUrl: smtp.url }));
  });
  afterAll(async () => {
    await closeOutbox?.();
    await database?.close();
    await smtp?.close();
  });

  it("sends a Spanish invitation as multipart text + HTML with escaped names and a working link", async () => {
    const url = "http://chorus.test/invitations/tok_123?lang=es&x=1";
    const id = await database.db.transaction((tx) =>
      outbox.enqueue(tx, {
        to: "ana@example.com",
        template: "invitation",
        locale: "es",
        data: {
          inviterName: "José <Admin>",
          orgName: "Núñez & Hijos",
          roleNames: ["Operador"],
          expiresAt: "2030-05-06T07:08:00.000Z",
          url,
          firstName: "Ana",
        },
      }),
    );
    expect(await outbox.drain()).toBe(1);
    const mail = await smtp.waitFor((m) => m.headers.get("x-chorus-message-id") === id);
    expect(mail.subject).toBe("José <Admin> te invitó a Núñez & Hijos en Chorus");
    expect(mail.from?.text).toContain("no-reply@chorus.test");
    expect(mail.text).toContain("Hola Ana:");
    expect(mail.text).toContain(`Ver la invitación: ${url}`);
    const html = String(mail.html);
    expect(html).toContain("José &lt;Admin&gt; te invitó a unirte a Núñez &amp; Hijos en Chorus.");
    expect(html).not.toContain("<Admin>");
    const href = /<a href="([^"]+)"/.exec(html)?.[1]?.replaceAll("&amp;", "&");
    expect(href).toBe(url);
  });
});
