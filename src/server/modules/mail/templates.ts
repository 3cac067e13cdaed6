/**
 * Email templates: plain text and HTML from one definition, in the recipient's
 * language (English and Spanish; anything else falls back to English).
 */

export type Locale = "en" | "es";
export const LOCALES: readonly Locale[] = ["en", "es"];
export function toLocale(value: string | null | undefined): Locale {
  return LOCALES.includes(value as Locale) ? (value as Locale) : "en";
}

interface Rendered {
  subject: string;
  /** Paragraphs of the body; the action link gets its own button in HTML. */
  paragraphs: string[];
  action?: { label: string; url: string };
  footer?: string;
}

type TemplateFn<D> = (data: D, locale: Locale) => Rendered;

const verifyEmail: TemplateFn<{ firstName: string; url: string }> = (d, l) =>
  l === "es"
    ? {
        subject: "Confirma tu correo electrónico en Chorus",
        paragraphs: [`Hola ${d.firstName}:`, "Confirma tu dirección de correo para terminar de crear tu cuenta."],
        action: { label: "Confirmar correo", url: d.url },
        footer: "Si no creaste una cuenta en Chorus, ignora este mensaje.",
      }
    : {
        subject: "Confirm your email for Chorus",
        paragraphs: [`Hi ${d.firstName},`, "Confirm your email address to finish setting up your account."],
        action: { label: "Confirm email", url: d.url },
        footer: "If you did not create a Chorus account, you can ignore this message.",
      };

const passwordReset: TemplateFn<{ firstName: string; url: string }> = (d, l) =>
  l === "es"
    ? {
        subject: "Restablece tu contraseña de Chorus",
        paragraphs: [
          `Hola ${d.firstName}:`,
          "Recibimos una solicitud para restablecer tu contraseña. El enlace caduca en 1 hora y solo funciona una vez.",
        ],
        action: { label: "Restablecer contraseña", url: d.url },
        footer: "Si no lo solicitaste, ignora este mensaje: tu contraseña no cambiará.",
      }
    : {
        subject: "Reset your Chorus password",
        paragraphs: [
          `Hi ${d.firstName},`,
          "We received a request to reset your password. The link expires in 1 hour and works once.",
        ],
        action: { label: "Reset password", url: d.url },
        footer: "If you did not ask for this, ignore this message: your password will not change.",
      };

const invitation: TemplateFn<{
  inviterName: string;
  orgName: string;
  roleNames: string[];
  expiresAt: string;
  url: string;
  firstName: string;
}> = (d, l) => {
  const expires = new Date(d.expiresAt).toLocaleString(l === "es" ? "es-ES" : "en-GB", {
    dateStyle: "long",
    timeStyle: "short",
    timeZone: "UTC",
  });
  return l === "es"
    ? {
        subject: `${d.inviterName} te invitó a ${d.orgName} en Chorus`,
        paragraphs: [
          `Hola ${d.firstName}:`,
          `${d.inviterName} te invitó a unirte a ${d.orgName} en Chorus.`,
          d.roleNames.length ? `Roles: ${d.roleNames.join(", ")}.` : "Sin roles asignados por ahora.",
          `La invitación caduca el ${expires} (UTC).`,
        ],
        action: { label: "Ver la invitación", url: d.url },
      }
    : {
        subject: `${d.inviterName} invited you to ${d.orgName} on Chorus`,
        paragraphs: [
          `Hi ${d.firstName},`,
          `${d.inviterName} invited you to join ${d.orgName} on Chorus.`,
          d.roleNames.length ? `Roles: ${d.roleNames.join(", ")}.` : "No roles assigned yet.",
          `The invitation expires on ${expires} (UTC).`,
        ],
        action: { label: "View the invitation", url: d.url },
      };
};

const ownershipTransferred: TemplateFn<{
  firstName: string;
  orgName: string;
  newOwnerName: string;
  youAreNewOwner: boolean;
}> = (d, l) =>
  l === "es"
    ? {
        subject: `Cambio de propietario en ${d.orgName}`,
        paragraphs: [
          `Hola ${d.firstName}:`,
          d.youAreNewOwner
            ? `Ahora eres el propietario de ${d.orgName}.`
            : `${d.newOwnerName} es ahora el propietario de ${d.orgName}. Tu rol pasa a ser Administrador.`,
        ],
      }
    : {
        subject: `Ownership of ${d.orgName} changed`,
        paragraphs: [
          `Hi ${d.firstName},`,
          d.youAreNewOwner
            ? `You are now the owner of ${d.orgName}.`
            : `${d.newOwnerName} is now the owner of ${d.orgName}. Your role is now Administrator.`,
        ],
      };

export const TEMPLATES = { verifyEmail, passwordReset, invitation, ownershipTransferred };
export type TemplateName = keyof typeof TEMPLATES;
export type TemplateData<N extends TemplateName> = Parameters<(typeof TEMPLATES)[N]>[0];

export const escapeHtml = (s: string): string =>
  s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");

export function renderMail<N extends TemplateName>(
  name: N,
  data: TemplateData<N>,
  locale: Locale,
): { subject: string; text: string; html: string } {
  const r = (TEMPLATES[name] as TemplateFn<TemplateData<N>>)(data, locale);
  const textParts = [...r.paragraphs];
  if (r.action) textParts.push(`${r.action.label}: ${r.action.url}`);
  if (r.footer) textParts.push(r.footer);
  const htmlParts = r.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`);
  if (r.action) {
    const href = escapeHtml(r.action.url);
    htmlParts.push(
      `<p><a href="${href}" style="display:inline-block;padding:10px 16px;background:#047857;color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(r.action.label)}</a></p>`,
      `<p style="font-size:12px;color:#555">${escapeHtml(r.action.url)}</p>`,
    );
  }
  if (r.footer) htmlParts.push(`<p style="font-size:12px;color:#555">${escapeHtml(r.footer)}</p>`);
  return {
    // Names are user input: a line break must never reach the Subject header.
    subject: r.subject.replace(/[\r\n]+/g, " "),
    text: `${textParts.join("\n\n")}\n`,
    html: `<!doctype html><html lang="${locale}"><body style="font-family:system-ui,sans-serif;line-height:1.5">${htmlParts.join("")}</body></html>`,
  };
}
