import { z } from "zod";

/** Shared by server routes and web forms, so the browser checks what the server checks. */
export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: "Enter a valid email address." }));

/** PostgreSQL text cannot hold NUL: a value with one must be refused before it reaches a query. */
export const hasNul = (s: string) => s.includes("\u0000");

/** NUL cannot be stored in PostgreSQL text; the other control characters break lists and email subjects. */
export const hasControlChar = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * Bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069): in a
 * name shown to others they reorder what follows ("Eve\u202Egnp.exe" reads "Eveexe.png"), so a
 * label can pass for another. Right-to-left scripts need none of them; the marks U+200E/U+200F stay.
 */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/;
export const hasBidiControl = (s: string) => BIDI_CONTROL.test(s);

/**
 * A one-line label shown to others (an organization's, a person's or a role's name): trimmed,
 * no control characters, no bidirectional overrides.
 */
export const singleLineSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "Required.")
    .max(max)
    // `params.i18n` names the web app's translation of the message (src/web/lib/forms.ts).
    .refine((s) => !hasControlChar(s), {
      message: "Remove the control characters.",
      params: { i18n: "validation.controlChars" },
    })
    .refine((s) => !hasBidiControl(s), {
      message: "Remove the text-direction control characters.",
      params: { i18n: "validation.bidiChars" },
    });

/** Free text that may span lines (a description): trimmed, no NUL. */
export const multiLineSchema = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((s) => !hasNul(s), "Remove the NUL characters.");

export const nameSchema = singleLineSchema(100);

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

/** Length rules only; the common-password list is checked on the server (see auth/passwords.ts). */
export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `Use at least ${PASSWORD_MIN} characters.`)
  .max(PASSWORD_MAX, `Use at most ${PASSWORD_MAX} characters.`);

export const languageSchema = z.enum(["en", "es"]);

export const uuidSchema = z.uuid({ message: "Expected a UUID." });

export const paginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
