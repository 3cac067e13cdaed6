import { z } from "zod";
import { NOTIFICATION_KEYS, NOTIFICATION_KINDS } from "../notifications.js";
import { languageSchema, nameSchema, passwordSchema } from "./common.js";

/** https only: a picture shown to other members must not be fetched over plain http. */
export const pictureUrlSchema = z
  .string()
  .trim()
  .max(2048)
  .pipe(z.url({ protocol: /^https$/, message: "Enter an https:// URL." }));

/**
 * E.164-ish: a + and 7 to 15 digits; spaces, dots, dashes and parentheses people type
 * are dropped first, so "+34 600 12-34-56" is stored as "+34600123456".
 */
export const phoneSchema = z
  .string()
  .trim()
  .max(40)
  .transform((v) => v.replace(/[\s.()-]/g, ""))
  .pipe(z.string().regex(/^\+[1-9]\d{6,14}$/, "Enter the number in international form, e.g. +34 600 123 456."));

const channelsPatch = z.object({ email: z.boolean().optional(), inApp: z.boolean().optional() }).strict();

const requiredEmailKinds = new Set(NOTIFICATION_KINDS.filter((k) => k.emailRequired).map((k) => k.key));

export const notificationPreferencesPatch = z
  .partialRecord(z.enum(NOTIFICATION_KEYS), channelsPatch)
  .superRefine((prefs, ctx) => {
    for (const [key, channels] of Object.entries(prefs)) {
      if (requiredEmailKinds.has(key as never) && channels?.email === false) {
        ctx.addIssue({ code: "custom", path: [key, "email"], message: "Security alerts are always sent by email." });
      }
    }
  });

export const updateMeBody = z
  .object({
    firstName: nameSchema,
    lastName: nameSchema,
    pictureUrl: pictureUrlSchema.nullable(),
    phone: phoneSchema.nullable(),
    language: languageSchema,
    notificationPreferences: notificationPreferencesPatch,
  })
  .partial()
  .strict();

export const changePasswordBody = z.object({
  currentPassword: z.string().min(1, "Required.").max(1024),
  newPassword: passwordSchema,
});

export const totpCodeSchema = z
  .string()
  .trim()
  .max(6, "Enter the 6-digit code from your authenticator app.")
  .regex(/^\d{6}$/, "Enter the 6-digit code from your authenticator app.");

/** A 6-digit authenticator code or one of the recovery codes. */
export const secondFactorCodeSchema = z.string().trim().min(6, "Enter the code.").max(64);

export const enableTotpBody = z.object({ password: z.string().min(1, "Required.").max(1024), code: totpCodeSchema });
export const regenerateRecoveryCodesBody = z.object({ code: secondFactorCodeSchema });
export const disableTwoFactorBody = z.object({
  password: z.string().min(1, "Required.").max(1024),
  code: secondFactorCodeSchema,
});
