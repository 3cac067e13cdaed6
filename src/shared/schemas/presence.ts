import { z } from "zod";

/** DESIGN §7.1 `/me/presence`: a member's availability for assignment (§7.4). */
export const PRESENCE_STATUSES = ["online", "busy", "offline"] as const;
export const presenceStatusSchema = z.enum(PRESENCE_STATUSES);
export type PresenceStatusValue = z.infer<typeof presenceStatusSchema>;

export const putPresenceBody = z.object({ status: presenceStatusSchema }).strict();
export type PutPresenceBody = z.infer<typeof putPresenceBody>;

export const presenceSchema = z.object({
  memberId: z.string(),
  status: presenceStatusSchema,
  /** When the status last changed (null: never set; reads as offline). */
  statusChangedAt: z.string().nullable(),
  /** Conversations the rules may give this member at most (the override, else the workspace default). */
  capacity: z.int(),
  /** The member's own override, or null (the workspace's `assignment.defaultCapacity`). */
  capacityOverride: z.int().nullable(),
  /** Open + pending conversations assigned to the member now. */
  openAssigned: z.int(),
  /** Going offline returned this many unanswered conversations to the queue (`reassignOnOffline`). */
  returnedToQueue: z.int().optional(),
});
export type PresenceDto = z.infer<typeof presenceSchema>;

/** `PUT /members/:memberId/capacity`: null goes back to the workspace default. */
export const putCapacityBody = z.object({ capacity: z.int().min(1).max(1000).nullable() }).strict();
export type PutCapacityBody = z.infer<typeof putCapacityBody>;
