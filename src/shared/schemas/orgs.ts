import { z } from "zod";
import { languageSchema, singleLineSchema, uuidSchema } from "./common.js";

/** Shown to every member and in invitation emails: one line, like people's and roles' names. */
export const orgNameSchema = singleLineSchema(100);

/** IANA time zone names (`Europe/Madrid`, `UTC`), checked against the runtime's tz database. */
export const timezoneSchema = z
  .string()
  .trim()
  .min(1, "Required.")
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "Enter an IANA time zone such as Europe/Madrid.");

/** https only: the logo is shown to every member and must not be fetched over plain http. */
export const logoUrlSchema = z
  .string()
  .trim()
  .max(2048)
  .pipe(z.url({ protocol: /^https$/, message: "Enter an https:// URL." }));

/** Seats; null = unlimited. */
export const memberLimitSchema = z.number().int().min(1).max(100_000).nullable();

export const createOrgBody = z
  .object({
    name: orgNameSchema,
    logoUrl: logoUrlSchema.nullable().optional(),
    defaultLanguage: languageSchema.optional(),
    timezone: timezoneSchema.optional(),
  })
  .strict();
export type CreateOrgInput = z.output<typeof createOrgBody>;

export const updateOrgBody = z
  .object({
    name: orgNameSchema,
    logoUrl: logoUrlSchema.nullable(),
    defaultLanguage: languageSchema,
    timezone: timezoneSchema,
    requireTwoFactor: z.boolean(),
    memberLimit: memberLimitSchema,
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "Give at least one field to change." });
export type UpdateOrgInput = z.output<typeof updateOrgBody>;

/** Re-authentication: the password, and a second-factor code when the owner has 2FA on. */
export const deleteOrgBody = z.object({
  password: z.string().min(1, "Required.").max(1024),
  code: z.string().trim().min(6).max(64).optional(),
});

export const transferOwnershipBody = z.object({
  memberId: uuidSchema,
  password: z.string().min(1, "Required.").max(1024),
  /** Required when the owner has two-factor authentication: an authenticator or recovery code. */
  code: z.string().trim().min(6).max(64).optional(),
});
export type TransferOwnershipInput = z.output<typeof transferOwnershipBody>;
