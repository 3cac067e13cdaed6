import { z } from "zod";
import { emailSchema, nameSchema, passwordSchema } from "./common.js";
import { roleIdsSchema } from "./members.js";

export const MAX_BULK_INVITATIONS = 100;

export const inviteBody = z
  .object({
    email: emailSchema,
    firstName: nameSchema,
    lastName: nameSchema,
    /** Zero or more roles: none = a member with no permissions yet. */
    roleIds: roleIdsSchema.default([]),
  })
  .strict();
export type InviteInput = z.output<typeof inviteBody>;

export const bulkInviteBody = z.object({ invitations: z.array(z.unknown()).min(1).max(MAX_BULK_INVITATIONS) }).strict();

export const INVITATION_STATES = ["pending", "accepted", "declined", "revoked", "expired"] as const;
export type InvitationState = (typeof INVITATION_STATES)[number];

export const listInvitationsQuery = z.object({
  status: z.enum(INVITATION_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});

/**
 * Accepting: a signed-in user sends nothing; someone without an account sends a password
 * (and may correct the names the inviter typed).
 */
export const acceptInvitationBody = z
  .object({
    password: passwordSchema.optional(),
    firstName: nameSchema.optional(),
    lastName: nameSchema.optional(),
  })
  .strict();
export type AcceptInvitationInput = z.output<typeof acceptInvitationBody>;

/**
 * `POST /orgs/:orgId/invitations` takes one invitation, `{invitations: [...]}` (up to 100), or
 * a CSV document (text/csv). Dispatching on the shape first (instead of a plain union) keeps
 * the field errors of the shape that was meant: `lastName: Required`, not "Invalid input".
 */
export const inviteRequestBody = z
  .unknown()
  .transform((value, ctx) => {
    const schema =
      typeof value === "string"
        ? z.string().min(1, "The CSV document is empty.").max(1_000_000)
        : value !== null && typeof value === "object" && "invitations" in value
          ? bulkInviteBody
          : inviteBody;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue } as never);
      return z.NEVER;
    }
    return parsed.data as InviteInput | z.output<typeof bulkInviteBody> | string;
  })
  .meta({
    description:
      "One invitation `{email, firstName, lastName, roleIds}`; or `{invitations: [...]}` with up to 100 of them " +
      "(per-row results); or, with `Content-Type: text/csv`, a CSV document with the header " +
      "`email,firstName,lastName,roles` where roles are role ids or names separated by `;` or `|` (per-row results).",
  });
