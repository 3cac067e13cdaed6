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

/** A one-line label (a person's or a role's name): trimmed, no control characters. */
export const singleLineSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "Required.")
    .max(max)
    .refine((s) => !hasControlChar(s), "Remove the control characters.");

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
