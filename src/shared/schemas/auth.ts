import { z } from "zod";
import { emailSchema, languageSchema, nameSchema, passwordSchema } from "./common.js";

export const signupBody = z.object({
  email: emailSchema,
  password: passwordSchema,
  firstName: nameSchema,
  lastName: nameSchema,
  language: languageSchema.optional(),
});

export const loginBody = z.object({
  email: emailSchema,
  password: z.string().min(1, "Required.").max(1024),
});

export const login2faBody = z
  .object({
    challengeToken: z.string().min(1).max(200),
    code: z
      .string()
      .max(6, "Enter the 6-digit code.")
      .regex(/^\d{6}$/, "Enter the 6-digit code.")
      .optional(),
    recoveryCode: z.string().min(6).max(64).optional(),
  })
  .refine((b) => (b.code ? 1 : 0) + (b.recoveryCode ? 1 : 0) === 1, {
    message: "Send either a code or a recovery code.",
    path: ["code"],
  });

/** Single-use tokens from emailed links are 256-bit base64url strings (43 characters). */
export const linkTokenSchema = z
  .string()
  .trim()
  .min(20, "The link is incomplete.")
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, "The link is not valid.");

export const verifyEmailBody = z.object({ token: linkTokenSchema });

export const forgotPasswordBody = z.object({ email: emailSchema });

export const resetPasswordBody = z.object({ token: linkTokenSchema, password: passwordSchema });
