import type { BusinessHours, TimeRange, Weekday, WorkspaceSettings } from "./schemas/settings.js";

/**
 * Business hours as wall-clock times in the workspace's timezone. Computing the local weekday
 * and minute of an instant through Intl (the runtime's tz database) makes daylight-saving
 * changes fall out naturally: 09:00 is 09:00 local on both sides of a change.
 */

const DAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const DAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalTime {
  /** 0 = Monday … 6 = Sunday */
  day: number;
  /** Minutes since local midnight. */
  minute: number;
  /** YYYY-MM-DD */
  date: string;
}

export function localTime(timeZone: string, at: Date): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(at)) parts[p.type] = p.value;
  return {
    day: DAY_INDEX[parts.weekday ?? "Mon"] ?? 0,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
    date: `${parts.year}-${parts.month}-${parts.day}`,
  };
}

const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** The local date one day before `date` (calendar arithmetic, no timezone involved). */
function previousDate(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

function coversSameDay(r: TimeRange, minute: number): boolean {
  const from = minutes(r.from);
  const to = minutes(r.to);
  return to > from ? minute >= from && minute < to : minute >= from; // across midnight: the evening part
}

function spillsInto(r: TimeRange, minute: number): boolean {
  const from = minutes(r.from);
  const to = minutes(r.to);
  return to < from && minute < to; // the morning part of yesterday's range across midnight
}

/**
 * Open at `at`? Off business hours means always open. A holiday closes its local date, including
 * the morning part of the previous evening's range across midnight; the previous day being a
 * holiday closes its own range, spill included.
 */
export function isWithinBusinessHours(
  settings: Pick<WorkspaceSettings, "timezone" | "businessHours">,
  at: Date,
): boolean {
  const hours: BusinessHours = settings.businessHours;
  if (!hours.enabled) return true;
  const local = localTime(settings.timezone, at);
  if (hours.holidays.includes(local.date)) return false;
  const today = DAYS[local.day] as Weekday;
  if (hours.week[today].some((r) => coversSameDay(r, local.minute))) return true;
  const yesterday = DAYS[(local.day + 6) % 7] as Weekday;
  if (hours.holidays.includes(previousDate(local.date))) return false;
  return hours.week[yesterday].some((r) => spillsInto(r, local.minute));
}
