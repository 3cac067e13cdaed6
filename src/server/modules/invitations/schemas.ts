import { z } from "zod";
import { linkTokenSchema } from "../../../shared/schemas/auth.js";
import { uuidSchema } from "../../../shared/schemas/common.js";
import { INVITATION_STATES } from "../../../shared/schemas/invitations.js";

export const invitationParams = z.object({ orgId: uuidSchema, id: uuidSchema });
/** The invitation link's token travels in the body, never in the URL (logs, history, Referer). */
export const tokenBody = z.object({ token: linkTokenSchema });

export const invitationSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    roleIds: z.array(z.string()),
    state: z.enum(INVITATION_STATES),
    expiresAt: z.string(),
    invitedBy: z.object({ userId: z.uuid().nullable(), name: z.string() }),
    sendCount: z.number().int(),
    lastSentAt: z.string(),
    createdAt: z.string(),
    respondedAt: z.string().nullable(),
  })
  .meta({ id: "Invitation" });
export type InvitationDto = z.output<typeof invitationSchema>;

export const invitationListSchema = z.object({ items: z.array(invitationSchema), nextCursor: z.string().nullable() });

const rowError = z.object({
  status: z.number().int(),
  code: z.string(),
  detail: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const bulkResultSchema = z
  .object({
    results: z.array(
      z.object({
        /** 0-based position in `invitations`, or in the CSV data rows. */
        index: z.number().int(),
        /** CSV only: the line of the document (the header is line 1). */
        line: z.number().int().optional(),
        email: z.string().nullable(),
        status: z.enum(["invited", "failed"]),
        invitation: invitationSchema.optional(),
        error: rowError.optional(),
      }),
    ),
    invited: z.number().int(),
    failed: z.number().int(),
  })
  .meta({ id: "BulkInvitationResult" });
export type BulkResult = z.output<typeof bulkResultSchema>;

export const previewSchema = z
  .object({
    organization: z.object({ id: z.uuid(), name: z.string(), logoUrl: z.string().nullable() }),
    inviter: z.object({ name: z.string() }),
    email: z.string(),
    firstName: z.string(),
    lastName: z.string(),
    roles: z.array(z.object({ id: z.string(), name: z.string() })),
    expiresAt: z.string(),
    state: z.enum(INVITATION_STATES),
    /** Whether an account with the invited email exists: sign in to accept, or create one on the spot. */
    accountExists: z.boolean(),
  })
  .meta({ id: "InvitationPreview" });

export const acceptResultSchema = z.object({
  orgId: z.uuid(),
  memberId: z.uuid(),
  userId: z.uuid(),
  /** True when the account was created by this acceptance (and signed in with a session cookie). */
  accountCreated: z.boolean(),
});
