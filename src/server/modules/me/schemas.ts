import { z } from "zod";
import { NOTIFICATION_KEYS } from "../../../shared/notifications.js";
import { pageOf, paginationQuery } from "../../../shared/schemas/common.js";
import { problemSchema } from "../../http/problem.js";
import { userSchema } from "../auth/schemas.js";

const channels = z.object({ email: z.boolean(), inApp: z.boolean() });

export const membershipSummarySchema = z.object({
  orgId: z.uuid(),
  orgName: z.string(),
  memberId: z.uuid(),
  isOwner: z.boolean(),
  roleIds: z.array(z.string()),
});

export const meSchema = userSchema
  .extend({
    notificationPreferences: z.record(z.enum(NOTIFICATION_KEYS), channels),
    /** Unused recovery codes; null when 2FA is off. */
    recoveryCodesRemaining: z.number().int().nullable(),
    memberships: z.array(membershipSummarySchema),
  })
  .meta({ id: "Me" });
export type MeDto = z.output<typeof meSchema>;

export const sessionSchema = z
  .object({
    id: z.uuid(),
    /** The browser or program that signed in, as its user agent named itself. */
    device: z.string().nullable(),
    ip: z.string().nullable(),
    createdAt: z.date(),
    lastUsedAt: z.date(),
    expiresAt: z.date(),
    current: z.boolean(),
  })
  .meta({ id: "Session" });

export const loginActivityItemSchema = z
  .object({
    id: z.uuid(),
    at: z.date(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    success: z.boolean(),
    failureReason: z.string().nullable(),
    /** password | signup | totp | recovery_code: which step this attempt was. */
    method: z.string(),
    twoFactorUsed: z.boolean(),
  })
  .meta({ id: "OwnLoginAttempt" });

export const sessionsPage = pageOf(sessionSchema);
export const loginActivityPage = pageOf(loginActivityItemSchema);
export { paginationQuery };

export const totpSetupSchema = z.object({ secret: z.string(), otpauthUrl: z.string(), qrSvg: z.string() });
export const recoveryCodesSchema = z.object({ recoveryCodes: z.array(z.string()) });

export const meErrors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
  429: problemSchema,
};
