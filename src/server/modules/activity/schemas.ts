import { z } from "zod";
import { paginationQuery, uuidSchema } from "../../../shared/schemas/common.js";

/** Years 1–9999 in UTC: year 0 does not exist for PostgreSQL (the query would fail with a 500). */
const isoDateTime = z.iso
  .datetime({
    offset: true,
    message: "Expected an ISO 8601 date-time, e.g. 2025-01-31T00:00Z.",
  })
  .refine(
    (v) => {
      const year = new Date(v).getUTCFullYear();
      return year >= 1 && year <= 9999;
    },
    { message: "Give a date between the years 1 and 9999." },
  );

/** `from` is inclusive, `to` exclusive; `from` must come before `to`. */
const timeRange = {
  from: isoDateTime.optional(),
  to: isoDateTime.optional(),
};

function rangeIsOrdered(q: { from?: string | undefined; to?: string | undefined }): boolean {
  return !q.from || !q.to || new Date(q.from).getTime() < new Date(q.to).getTime();
}
const rangeMessage = { message: "`from` must be before `to`.", path: ["to"] };

/**
 * `action`: an exact action (`member.invited`) or a prefix ending in `.` or `*`
 * (`member.`, `member.*`, `member.roles*`).
 */
export const activityFilterFields = {
  actorId: uuidSchema.optional(),
  action: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[a-z0-9_.-]+\*?$/i, "Letters, digits, `_`, `-` and `.`, optionally ending with `*`.")
    .optional(),
  targetType: z.string().trim().min(1).max(50).optional(),
  targetId: z.string().trim().min(1).max(200).optional(),
  ...timeRange,
};

export const activityListQuery = paginationQuery.extend(activityFilterFields).refine(rangeIsOrdered, rangeMessage);

export const activityExportQuery = z
  .object({ format: z.enum(["csv", "jsonl"]).default("csv"), ...activityFilterFields })
  .refine(rangeIsOrdered, rangeMessage);

export type ActivityFilters = Omit<z.output<typeof activityExportQuery>, "format">;

export const activityItem = z
  .object({
    id: z.string(),
    at: z.string(),
    actor: z.object({ type: z.enum(["user", "system", "api_key"]), id: z.string().nullable(), name: z.string() }),
    action: z.string(),
    target: z.object({ type: z.string(), id: z.string().nullable(), label: z.string().nullable() }),
    changes: z
      .record(z.string(), z.object({ before: z.unknown().optional(), after: z.unknown().optional() }))
      .nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
  })
  .meta({ id: "ActivityRecord" });
export type ActivityItem = z.output<typeof activityItem>;

export const loginActivityQuery = paginationQuery
  .extend({
    memberId: uuidSchema.optional(),
    success: z.enum(["true", "false"]).optional(),
    ...timeRange,
  })
  .refine(rangeIsOrdered, rangeMessage);

export const loginActivityItem = z
  .object({
    id: z.string(),
    at: z.string(),
    member: z.object({ memberId: z.string(), name: z.string(), email: z.string() }),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    success: z.boolean(),
    failureReason: z.string().nullable(),
    method: z.string(),
    twoFactorUsed: z.boolean(),
  })
  .meta({ id: "LoginAttempt" });

export const accessReviewQuery = z.object({
  inactiveDays: z.coerce.number().int().min(1).max(3650).default(90),
  sort: z.enum(["risk", "name", "lastActive"]).default("risk"),
});

export const accessReviewMember = z.object({
  memberId: z.string(),
  userId: z.string(),
  name: z.string(),
  email: z.string(),
  isOwner: z.boolean(),
  roles: z.array(z.object({ id: z.string(), name: z.string() })),
  permissionCount: z.number().int(),
  joinedAt: z.string(),
  lastSignInAt: z.string().nullable(),
  lastActiveAt: z.string().nullable(),
  daysSinceActive: z.number().int(),
  inactive: z.boolean(),
  twoFactorEnabled: z.boolean(),
  blockedByTwoFactorPolicy: z.boolean(),
  riskScore: z.number().int(),
});

export const accessReviewResponse = z
  .object({
    generatedAt: z.string(),
    inactiveDays: z.number().int(),
    requireTwoFactor: z.boolean(),
    permissionCatalogueSize: z.number().int(),
    members: z.array(accessReviewMember),
    pendingInvitations: z.array(
      z.object({
        id: z.string(),
        email: z.string(),
        name: z.string(),
        roleIds: z.array(z.string()),
        invitedByName: z.string(),
        createdAt: z.string(),
        expiresAt: z.string(),
        ageDays: z.number().int(),
        expired: z.boolean(),
      }),
    ),
  })
  .meta({ id: "AccessReview" });
