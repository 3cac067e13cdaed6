import { z } from "zod";

/** Longest period one request may cover (a leap year and a day of slack for time zones). */
export const MAX_PERIOD_DAYS = 366;

/** `YYYY-MM-DD` (a UTC day; `to` includes that whole day) or an ISO 8601 time with an offset. */
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const chatAnalyticsQuery = z.object({ from: instant, to: instant });
export type ChatAnalyticsQuery = z.output<typeof chatAnalyticsQuery>;

const counts = {
  /** Conversations in which the member sent at least one WhatsApp message in the period. */
  conversationsHandled: z.number(),
  /** Conversations the member marked resolved in the period. */
  conversationsResolved: z.number(),
  /** WhatsApp messages the member sent in the period (not notes, not system lines). */
  messagesSent: z.number(),
  /**
   * Median, over conversations whose first customer message is in the period and whose first
   * reply after it was this member's, of the time from that customer message to that reply.
   */
  medianFirstResponseSeconds: z.number().nullable(),
  /** How many first responses the median is over. */
  firstResponses: z.number(),
  /**
   * Median, over conversations with an inbound message in the period, of the time from their first
   * inbound message in the period to the first "resolved" line after it, when a member wrote that
   * line (credited to that member; a resolution after `to` still counts).
   */
  medianResolutionSeconds: z.number().nullable(),
  /** How many resolutions the median is over. */
  resolutions: z.number(),
};

export const chatAnalyticsSchema = z.object({
  from: z.string(),
  to: z.string(),
  items: z.array(z.object({ memberId: z.string(), name: z.string(), ...counts })),
  /**
   * The same figures per team of the conversation (its team now, `conversations.team_id`): every
   * team of the organization by name, then one row with `teamId` and `name` null for conversations
   * without a team. A conversation counts once per team, however many members worked on it.
   */
  teams: z.array(z.object({ teamId: z.string().nullable(), name: z.string().nullable(), ...counts })),
  totals: z.object(counts),
});
export type ChatAnalyticsDto = z.output<typeof chatAnalyticsSchema>;
