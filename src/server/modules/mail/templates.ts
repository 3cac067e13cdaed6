/**
 * Email templates: plain text and HTML from one definition, in the recipient's
 * language (English and Spanish; anything else falls back to English).
 */

export type Locale = "en" | "es";
export const LOCALES: readonly Locale[] = ["en", "es"];
export function toLocale(value: string | null | undefined): Locale {
  return LOCALES.includes(value as Locale) ? (value as Locale) : "en";
}

/**
 * Text a user wrote (names of people, organizations and roles) must never become a link in an
 * email (audit finding 7: an organization named "Free gift card, claim at https://…" made every
 * invitation an advert). Mail clients auto-link whatever looks like a URL, a domain or an address,
 * whatever the HTML says, so escaping is not enough: lookalike punctuation keeps the text readable
 * and unlinkable. A dot followed by a character becomes U+2024 (one dot leader), a colon before a
 * slash U+A789 (modifier letter colon), "@" U+FF20 (fullwidth commercial at). Used in every part:
 * subject, text and HTML (which escapes it as well).
 */
export function unlinkable(text: string): string {
  return text
    .replace(/\.(?=\S)/g, "\u2024")
    .replace(/:(?=\/)/g, "\uA789")
    .replaceAll("@", "\uFF20");
}
const u = unlinkable;

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
        paragraphs: [`Hola ${u(d.firstName)}:`, "Confirma tu dirección de correo para terminar de crear tu cuenta."],
        action: { label: "Confirmar correo", url: d.url },
        footer: "Si no creaste una cuenta en Chorus, ignora este mensaje.",
      }
    : {
        subject: "Confirm your email for Chorus",
        paragraphs: [`Hi ${u(d.firstName)},`, "Confirm your email address to finish setting up your account."],
        action: { label: "Confirm email", url: d.url },
        footer: "If you did not create a Chorus account, you can ignore this message.",
      };

const passwordReset: TemplateFn<{ firstName: string; url: string }> = (d, l) =>
  l === "es"
    ? {
        subject: "Restablece tu contraseña de Chorus",
        paragraphs: [
          `Hola ${u(d.firstName)}:`,
          "Recibimos una solicitud para restablecer tu contraseña. El enlace caduca en 1 hora y solo funciona una vez.",
        ],
        action: { label: "Restablecer contraseña", url: d.url },
        footer: "Si no lo solicitaste, ignora este mensaje: tu contraseña no cambiará.",
      }
    : {
        subject: "Reset your Chorus password",
        paragraphs: [
          `Hi ${u(d.firstName)},`,
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
        subject: `${u(d.inviterName)} te invitó a ${u(d.orgName)} en Chorus`,
        paragraphs: [
          `Hola ${u(d.firstName)}:`,
          `${u(d.inviterName)} te invitó a unirte a ${u(d.orgName)} en Chorus.`,
          d.roleNames.length ? `Roles: ${d.roleNames.map(u).join(", ")}.` : "Sin roles asignados por ahora.",
          `La invitación caduca el ${expires} (UTC).`,
        ],
        action: { label: "Ver la invitación", url: d.url },
      }
    : {
        subject: `${u(d.inviterName)} invited you to ${u(d.orgName)} on Chorus`,
        paragraphs: [
          `Hi ${u(d.firstName)},`,
          `${u(d.inviterName)} invited you to join ${u(d.orgName)} on Chorus.`,
          d.roleNames.length ? `Roles: ${d.roleNames.map(u).join(", ")}.` : "No roles assigned yet.",
          `The invitation expires on ${expires} (UTC).`,
        ],
        action: { label: "View the invitation", url: d.url },
      };
};

const signupAttempt: TemplateFn<{ firstName: string; signInUrl: string; resetUrl: string }> = (d, l) =>
  l === "es"
    ? {
        subject: "Alguien intentó crear una cuenta de Chorus con tu correo",
        paragraphs: [
          `Hola ${u(d.firstName)}:`,
          "Alguien intentó crear una cuenta de Chorus con tu dirección de correo, pero ya tienes una. No hemos cambiado nada.",
          `Si fuiste tú, inicia sesión. Si olvidaste tu contraseña, restablécela aquí: ${d.resetUrl}`,
        ],
        action: { label: "Iniciar sesión", url: d.signInUrl },
        footer: "Si no fuiste tú, ignora este mensaje: tu cuenta sigue igual.",
      }
    : {
        subject: "Someone tried to sign up to Chorus with your email",
        paragraphs: [
          `Hi ${u(d.firstName)},`,
          "Someone tried to create a Chorus account with your email address, but you already have one. Nothing was changed.",
          `If it was you, sign in. If you forgot your password, reset it here: ${d.resetUrl}`,
        ],
        action: { label: "Sign in", url: d.signInUrl },
        footer: "If it was not you, ignore this message: your account is unchanged.",
      };

const ownershipTransferred: TemplateFn<{
  firstName: string;
  orgName: string;
  newOwnerName: string;
  youAreNewOwner: boolean;
}> = (d, l) =>
  l === "es"
    ? {
        subject: `Cambio de propietario en ${u(d.orgName)}`,
        paragraphs: [
          `Hola ${u(d.firstName)}:`,
          d.youAreNewOwner
            ? `Ahora eres el propietario de ${u(d.orgName)}.`
            : `${u(d.newOwnerName)} es ahora el propietario de ${u(d.orgName)}. Tu rol pasa a ser Administrador.`,
        ],
      }
    : {
        subject: `Ownership of ${u(d.orgName)} changed`,
        paragraphs: [
          `Hi ${u(d.firstName)},`,
          d.youAreNewOwner
            ? `You are now the owner of ${u(d.orgName)}.`
            : `${u(d.newOwnerName)} is now the owner of ${u(d.orgName)}. Your role is now Administrator.`,
        ],
      };

export type SecurityEvent =
  | "new_sign_in"
  | "password_changed"
  | "password_reset"
  | "two_factor_enabled"
  | "two_factor_disabled"
  | "recovery_code_used";

const SECURITY_SUBJECTS: Record<Locale, Record<SecurityEvent, string>> = {
  en: {
    new_sign_in: "New sign-in to your Chorus account",
    password_changed: "Your Chorus password was changed",
    password_reset: "Your Chorus password was reset",
    two_factor_enabled: "Two-factor authentication was turned on for your Chorus account",
    two_factor_disabled: "Two-factor authentication was turned off for your Chorus account",
    recovery_code_used: "A recovery code was used on your Chorus account",
  },
  es: {
    new_sign_in: "Nuevo inicio de sesión en tu cuenta de Chorus",
    password_changed: "Se cambió la contraseña de tu cuenta de Chorus",
    password_reset: "Se restableció la contraseña de tu cuenta de Chorus",
    two_factor_enabled: "Se activó la verificación en dos pasos en tu cuenta de Chorus",
    two_factor_disabled: "Se desactivó la verificación en dos pasos en tu cuenta de Chorus",
    recovery_code_used: "Se usó un código de recuperación en tu cuenta de Chorus",
  },
};

/**
 * One template for every security alert. `browser` and `os` come from a fixed list
 * (auth/device.ts), never from the raw user agent, which any client may fill with markup or links.
 */
const securityAlert: TemplateFn<{
  firstName: string;
  event: SecurityEvent;
  at: string;
  browser: string | null;
  os: string | null;
  ip: string | null;
  recoveryCodesLeft: number | null;
  url: string;
}> = (d, l) => {
  const es = l === "es";
  const when = new Date(d.at).toLocaleString(es ? "es-ES" : "en-GB", {
    dateStyle: "long",
    timeStyle: "short",
    timeZone: "UTC",
  });
  const device =
    d.browser || d.os
      ? `${d.browser ?? (es ? "Navegador desconocido" : "Unknown browser")} ${es ? "en" : "on"} ${d.os ?? (es ? "un sistema desconocido" : "an unknown system")}`
      : es
        ? "Navegador desconocido"
        : "Unknown browser";
  const details = [
    `${es ? "Cuándo" : "When"}: ${when} (UTC)`,
    ...(d.event === "new_sign_in" ? [`${es ? "Dispositivo" : "Device"}: ${device}`] : []),
    ...(d.ip ? [`${es ? "Dirección IP" : "IP address"}: ${d.ip}`] : []),
  ];
  const what: Record<SecurityEvent, string> = es
    ? {
        new_sign_in: "Se inició sesión en tu cuenta desde un dispositivo que no habíamos visto.",
        password_changed: "Se cambió la contraseña de tu cuenta. Se cerraron las demás sesiones.",
        password_reset:
          "Se restableció la contraseña de tu cuenta con un enlace enviado por correo. Se cerraron todas las sesiones.",
        two_factor_enabled: "Se activó la verificación en dos pasos. Se cerraron las demás sesiones.",
        two_factor_disabled: "Se desactivó la verificación en dos pasos: ahora basta la contraseña para entrar.",
        recovery_code_used: `Se usó uno de tus códigos de recuperación. Te quedan ${d.recoveryCodesLeft ?? 0}.`,
      }
    : {
        new_sign_in: "Your account was signed in to from a device we had not seen before.",
        password_changed: "Your account's password was changed. Your other sessions were signed out.",
        password_reset: "Your account's password was reset with an emailed link. Every session was signed out.",
        two_factor_enabled: "Two-factor authentication was turned on. Your other sessions were signed out.",
        two_factor_disabled: "Two-factor authentication was turned off: the password alone now signs in.",
        recovery_code_used: `One of your recovery codes was used. You have ${d.recoveryCodesLeft ?? 0} left.`,
      };
  return {
    subject: SECURITY_SUBJECTS[l][d.event],
    paragraphs: [es ? `Hola ${u(d.firstName)}:` : `Hi ${u(d.firstName)},`, what[d.event], ...details],
    action: { label: es ? "Revisar la seguridad de tu cuenta" : "Review your account security", url: d.url },
    footer: es
      ? "Si fuiste tú, no tienes que hacer nada. Si no, cambia tu contraseña y cierra las sesiones que no reconozcas."
      : "If this was you, there is nothing to do. If not, change your password and sign out the sessions you do not recognise.",
  };
};

/**
 * A workspace notification by email (src/server/modules/notifications): a conversation assigned,
 * a mention in a note, a broadcast finished. Every name and the note's excerpt are user input:
 * unlinkable here, HTML-escaped by renderMail.
 */
const workspaceNotification: TemplateFn<{
  firstName: string;
  kind: "conversation_assigned" | "mentioned" | "customer_replied" | "broadcast_finished";
  orgName: string;
  byName: string | null;
  subjectName: string | null;
  excerpt: string | null;
  url: string;
}> = (d, l) => {
  const by = d.byName ? u(d.byName) : null;
  const what = d.subjectName ? u(d.subjectName) : null;
  const org = u(d.orgName);
  const quote = d.excerpt ? [`“${u(d.excerpt)}”`] : [];
  if (l === "es") {
    const hi = `Hola ${u(d.firstName)}:`;
    const footer = "Puedes elegir qué avisos recibes por correo en tu perfil de Chorus.";
    if (d.kind === "conversation_assigned")
      return {
        subject: `Se te asignó una conversación en ${org}`,
        paragraphs: [
          hi,
          `${by ?? "Las reglas de asignación"} te asignaron la conversación${what ? ` con ${what}` : ""} en ${org}.`,
        ],
        action: { label: "Abrir la conversación", url: d.url },
        footer,
      };
    if (d.kind === "mentioned")
      return {
        subject: `${by ?? "Alguien"} te mencionó en ${org}`,
        paragraphs: [
          hi,
          `${by ?? "Alguien"} te mencionó en una nota${what ? ` de la conversación con ${what}` : ""}:`,
          ...quote,
        ],
        action: { label: "Abrir la conversación", url: d.url },
        footer,
      };
    if (d.kind === "customer_replied")
      return {
        subject: `${what ?? "Un cliente"} te escribió en ${org}`,
        paragraphs: [
          hi,
          `${what ?? "Un cliente"} escribió en tu conversación mientras no estabas disponible:`,
          ...quote,
        ],
        action: { label: "Abrir la conversación", url: d.url },
        footer,
      };
    return {
      subject: `La difusión ${what ?? ""} terminó`.replace("  ", " "),
      paragraphs: [hi, `La difusión ${what ?? ""} de ${org} terminó de enviarse.`.replace("  ", " ")],
      action: { label: "Ver la difusión", url: d.url },
      footer,
    };
  }
  const hi = `Hi ${u(d.firstName)},`;
  const footer = "You can choose which notifications you get by email in your Chorus profile.";
  if (d.kind === "conversation_assigned")
    return {
      subject: `A conversation was assigned to you in ${org}`,
      paragraphs: [
        hi,
        `${by ?? "The assignment rules"} assigned you the conversation${what ? ` with ${what}` : ""} in ${org}.`,
      ],
      action: { label: "Open the conversation", url: d.url },
      footer,
    };
  if (d.kind === "mentioned")
    return {
      subject: `${by ?? "Someone"} mentioned you in ${org}`,
      paragraphs: [
        hi,
        `${by ?? "Someone"} mentioned you in a note${what ? ` on the conversation with ${what}` : ""}:`,
        ...quote,
      ],
      action: { label: "Open the conversation", url: d.url },
      footer,
    };
  if (d.kind === "customer_replied")
    return {
      subject: `${what ?? "A customer"} wrote to you in ${org}`,
      paragraphs: [hi, `${what ?? "A customer"} wrote in your conversation while you were away:`, ...quote],
      action: { label: "Open the conversation", url: d.url },
      footer,
    };
  return {
    subject: `Broadcast ${what ?? ""} finished`.replace("  ", " "),
    paragraphs: [hi, `The broadcast ${what ?? ""} of ${org} finished sending.`.replace("  ", " ")],
    action: { label: "View the broadcast", url: d.url },
    footer,
  };
};

export const TEMPLATES = {
  verifyEmail,
  passwordReset,
  signupAttempt,
  invitation,
  ownershipTransferred,
  securityAlert,
  workspaceNotification,
};
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
