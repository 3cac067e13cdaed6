import { z } from "zod";

/**
 * Workspace settings (DESIGN §7.1 `/settings`, issue 17), shared by the server and the web app's
 * settings pages. One row per organization; an organization that never saved any reads DEFAULTS.
 */

/** "HH:MM" on a 24-hour clock; "24:00" only as the end of a range (until midnight). */
const clock = z
  .string()
  .max(5)
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { message: "Use a time such as 09:00." });

/**
 * One opening range of a weekday, in the workspace's timezone. `to` earlier than `from` runs
 * across midnight into the next day ("22:00"–"02:00"); the range belongs to the day it starts.
 */
export const timeRangeSchema = z
  .object({ from: clock, to: clock })
  .refine((r) => r.from !== "24:00", { message: "A range cannot start at 24:00.", path: ["from"] })
  .refine((r) => r.from !== r.to, { message: "A range must not start and end at the same time.", path: ["to"] });
export type TimeRange = z.infer<typeof timeRangeSchema>;

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const dayRanges = z.array(timeRangeSchema).max(6, { message: "At most 6 ranges a day." });

export const businessHoursSchema = z.object({
  /** Off: always open (the `outsideBusinessHours` condition never holds). */
  enabled: z.boolean(),
  week: z.object({
    mon: dayRanges,
    tue: dayRanges,
    wed: dayRanges,
    thu: dayRanges,
    fri: dayRanges,
    sat: dayRanges,
    sun: dayRanges,
  }),
  /** Dates (YYYY-MM-DD, in the workspace's timezone) closed all day. */
  holidays: z
    .array(z.iso.date({ message: "Use a date such as 2026-12-25." }))
    .max(366, { message: "At most 366 holidays." }),
});
export type BusinessHours = z.infer<typeof businessHoursSchema>;

/** An IANA timezone name the runtime knows ("Europe/Madrid", "America/New_York", "UTC"). */
export const timezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: "Unknown timezone: use an IANA name such as Europe/Madrid." },
  );

export const ASSIGNMENT_MODES = ["manual", "round_robin", "balanced"] as const;
export const assignmentSettingsSchema = z.object({
  mode: z.enum(ASSIGNMENT_MODES),
  /** Open conversations a member may hold before automatic assignment skips them. */
  defaultCapacity: z.int().min(1).max(1000),
  /** A member going offline hands their unanswered conversations back to the queue. */
  reassignOnOffline: z.boolean(),
});
export type AssignmentSettings = z.infer<typeof assignmentSettingsSchema>;

/** Meta's template language codes: "en", "es", "pt_BR", "en_US". */
export const languageCodeSchema = z
  .string()
  .max(6)
  .regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, { message: "Use a language code such as en, es or pt_BR." });

export const workspaceSettingsSchema = z.object({
  timezone: timezoneSchema,
  businessHours: businessHoursSchema,
  operatorsSeeUnassigned: z.boolean(),
  assignment: assignmentSettingsSchema,
  /** The language of customer-facing automatic replies (templates are picked in it). */
  defaultLanguage: languageCodeSchema,
});
export type WorkspaceSettings = z.infer<typeof workspaceSettingsSchema>;

/** PATCH body: any subset; nested objects are replaced whole (businessHours, assignment). */
export const updateSettingsBody = workspaceSettingsSchema.partial().strict();
export type UpdateSettingsBody = z.infer<typeof updateSettingsBody>;

const nineToFive = [{ from: "09:00", to: "17:00" }];
export const DEFAULT_SETTINGS: WorkspaceSettings = {
  timezone: "UTC",
  businessHours: {
    enabled: false,
    week: { mon: nineToFive, tue: nineToFive, wed: nineToFive, thu: nineToFive, fri: nineToFive, sat: [], sun: [] },
    holidays: [],
  },
  operatorsSeeUnassigned: false,
  assignment: { mode: "manual", defaultCapacity: 10, reassignOnOffline: false },
  defaultLanguage: "en",
};
