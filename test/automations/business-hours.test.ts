import { describe, expect, it } from "vitest";
import { isWithinBusinessHours, localTime } from "../../src/shared/business-hours.js";
import {
  DEFAULT_SETTINGS,
  type WorkspaceSettings,
  workspaceSettingsSchema,
} from "../../src/shared/schemas/settings.js";

type Week = WorkspaceSettings["businessHours"]["week"];
const none: Week = { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };

function hours(timezone: string, week: Partial<Week>, holidays: string[] = []) {
  return { timezone, businessHours: { enabled: true, week: { ...none, ...week }, holidays } };
}
const at = (iso: string) => new Date(iso);

describe("business hours in the workspace's timezone (src/shared/business-hours.ts)", () => {
  it("off means always open; an empty week with hours on is always closed", () => {
    expect(isWithinBusinessHours(DEFAULT_SETTINGS, at("2026-11-29T03:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(hours("UTC", {}), at("2026-11-30T12:00:00Z"))).toBe(false);
  });

  it("a range includes its start and excludes its end; several ranges a day", () => {
    const s = hours("UTC", {
      mon: [
        { from: "09:00", to: "13:00" },
        { from: "15:00", to: "18:00" },
      ],
    });
    // 2026-11-30 is a Monday.
    expect(isWithinBusinessHours(s, at("2026-11-30T08:59:59Z"))).toBe(false);
    expect(isWithinBusinessHours(s, at("2026-11-30T09:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-11-30T12:59:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-11-30T13:00:00Z"))).toBe(false);
    expect(isWithinBusinessHours(s, at("2026-11-30T14:00:00Z"))).toBe(false);
    expect(isWithinBusinessHours(s, at("2026-11-30T15:30:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-11-30T18:00:00Z"))).toBe(false);
    // Tuesday has no ranges.
    expect(isWithinBusinessHours(s, at("2026-12-01T10:00:00Z"))).toBe(false);
  });

  it("ranges across midnight belong to the day they start, including Sunday into Monday; 24:00 ends at midnight", () => {
    const s = hours("UTC", { fri: [{ from: "22:00", to: "02:00" }], sun: [{ from: "20:00", to: "01:00" }] });
    // Friday 2026-12-04 23:00 → open; Saturday 01:59 → open (Friday's range); Saturday 02:00 → closed.
    expect(isWithinBusinessHours(s, at("2026-12-04T23:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-12-05T01:59:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-12-05T02:00:00Z"))).toBe(false);
    // Saturday 22:30: Friday's range does not repeat on Saturday.
    expect(isWithinBusinessHours(s, at("2026-12-05T22:30:00Z"))).toBe(false);
    // Sunday 2026-12-06 21:00 open; Monday 00:30 open (Sunday's range wraps the week); Monday 01:00 closed.
    expect(isWithinBusinessHours(s, at("2026-12-06T21:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-12-07T00:30:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-12-07T01:00:00Z"))).toBe(false);
    const untilMidnight = hours("UTC", { mon: [{ from: "18:00", to: "24:00" }] });
    expect(isWithinBusinessHours(untilMidnight, at("2026-11-30T23:59:00Z"))).toBe(true);
    expect(isWithinBusinessHours(untilMidnight, at("2026-12-01T00:00:00Z"))).toBe(false);
  });

  it("wall-clock times in the workspace's timezone, not the server's", () => {
    const madrid = hours("Europe/Madrid", { mon: [{ from: "09:00", to: "17:00" }] });
    // Winter: Madrid is UTC+1. 08:30Z = 09:30 local → open; 16:30Z = 17:30 local → closed.
    expect(isWithinBusinessHours(madrid, at("2026-11-30T08:30:00Z"))).toBe(true);
    expect(isWithinBusinessHours(madrid, at("2026-11-30T07:59:00Z"))).toBe(false);
    expect(isWithinBusinessHours(madrid, at("2026-11-30T16:30:00Z"))).toBe(false);
    const tokyo = hours("Asia/Tokyo", { tue: [{ from: "00:00", to: "01:00" }] });
    // Monday 2026-11-30 15:30Z is Tuesday 00:30 in Tokyo (UTC+9): another local date and weekday.
    expect(localTime("Asia/Tokyo", at("2026-11-30T15:30:00Z"))).toEqual({ day: 1, minute: 30, date: "2026-12-01" });
    expect(isWithinBusinessHours(tokyo, at("2026-11-30T15:30:00Z"))).toBe(true);
    expect(isWithinBusinessHours(tokyo, at("2026-12-01T00:30:00Z"))).toBe(false); // Tuesday 09:30 in Tokyo
  });

  it("daylight-saving changes in Europe/Madrid: 09:00 local on both sides of the change", () => {
    const s = hours("Europe/Madrid", {
      sat: [{ from: "09:00", to: "17:00" }],
      sun: [
        { from: "01:00", to: "04:00" },
        { from: "09:00", to: "17:00" },
      ],
      mon: [{ from: "09:00", to: "17:00" }],
    });
    // Spring forward 2026-03-29 02:00 CET → 03:00 CEST. Saturday: 09:00 local = 08:00Z; Monday: 07:00Z.
    expect(isWithinBusinessHours(s, at("2026-03-28T08:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-28T07:59:00Z"))).toBe(false);
    expect(isWithinBusinessHours(s, at("2026-03-30T07:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-30T06:59:00Z"))).toBe(false);
    // The night of the change: 00:59Z = 01:59 CET open; 01:00Z = 03:00 CEST open; 02:00Z = 04:00 CEST closed.
    expect(isWithinBusinessHours(s, at("2026-03-29T00:59:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-29T01:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-29T02:00:00Z"))).toBe(false);
    // Fall back 2026-10-25 03:00 CEST → 02:00 CET: 02:30 happens twice, both inside 01:00–04:00.
    expect(isWithinBusinessHours(s, at("2026-10-25T00:30:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-10-25T01:30:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-10-25T03:00:00Z"))).toBe(false); // 04:00 CET
    // Monday after: 09:00 CET = 08:00Z.
    expect(isWithinBusinessHours(s, at("2026-10-26T07:59:00Z"))).toBe(false);
    expect(isWithinBusinessHours(s, at("2026-10-26T08:00:00Z"))).toBe(true);
  });

  it("daylight-saving changes in America/New_York, with a range across midnight over the change", () => {
    const s = hours("America/New_York", {
      sat: [{ from: "22:00", to: "03:00" }],
      fri: [{ from: "09:00", to: "17:00" }],
      mon: [{ from: "09:00", to: "17:00" }],
    });
    // Spring forward 2026-03-08 02:00 EST → 03:00 EDT. Friday 09:00 EST = 14:00Z; Monday 09:00 EDT = 13:00Z.
    expect(isWithinBusinessHours(s, at("2026-03-06T14:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-06T13:59:00Z"))).toBe(false);
    expect(isWithinBusinessHours(s, at("2026-03-09T13:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-09T12:59:00Z"))).toBe(false);
    // Saturday night 22:00 EST (03:00Z) → Sunday 03:00 EDT (07:00Z): the night is an hour shorter.
    expect(isWithinBusinessHours(s, at("2026-03-08T03:00:00Z"))).toBe(true);
    expect(isWithinBusinessHours(s, at("2026-03-08T06:59:00Z"))).toBe(true); // 01:59 EST
    expect(isWithinBusinessHours(s, at("2026-03-08T07:00:00Z"))).toBe(false); // 03:00 EDT (02:00 never happens)
    // Fall back 2026-11-01 02:00 EDT → 01:00 EST: Saturday's 22:00–03:00 lasts an hour longer.
    expect(isWithinBusinessHours(s, at("2026-11-01T02:00:00Z"))).toBe(true); // 22:00 EDT Saturday
    expect(isWithinBusinessHours(s, at("2026-11-01T07:59:00Z"))).toBe(true); // 02:59 EST Sunday
    expect(isWithinBusinessHours(s, at("2026-11-01T08:00:00Z"))).toBe(false); // 03:00 EST
  });

  it("holidays close their local date, and the spill of the evening before into it", () => {
    const s = hours("Europe/Madrid", { thu: [{ from: "20:00", to: "02:00" }], fri: [{ from: "09:00", to: "17:00" }] }, [
      "2026-12-25",
    ]);
    // Friday 2026-12-25 is a holiday: closed at 10:00 local (09:00Z).
    expect(isWithinBusinessHours(s, at("2026-12-25T09:00:00Z"))).toBe(false);
    // Thursday evening 24th is open; its spill past midnight into the holiday is closed.
    expect(isWithinBusinessHours(s, at("2026-12-24T20:00:00Z"))).toBe(true); // 21:00 local
    expect(isWithinBusinessHours(s, at("2026-12-25T00:30:00Z"))).toBe(false); // 01:30 local on the 25th
    // The next Friday is open again; the holiday is a local date (Madrid), not UTC's.
    expect(isWithinBusinessHours(s, at("2027-01-01T09:00:00Z"))).toBe(true);
    const eve = hours("Europe/Madrid", { thu: [{ from: "20:00", to: "02:00" }] }, ["2026-12-24"]);
    // A holiday Thursday closes its own evening and its spill into Friday.
    expect(isWithinBusinessHours(eve, at("2026-12-24T20:00:00Z"))).toBe(false);
    expect(isWithinBusinessHours(eve, at("2026-12-25T00:30:00Z"))).toBe(false);
  });

  it("the settings schema refuses unknown timezones, bad clocks and empty ranges", () => {
    const ok = workspaceSettingsSchema.safeParse({ ...DEFAULT_SETTINGS, timezone: "America/New_York" });
    expect(ok.success).toBe(true);
    for (const bad of [
      { ...DEFAULT_SETTINGS, timezone: "Mars/Olympus" },
      { ...DEFAULT_SETTINGS, businessHours: { ...DEFAULT_SETTINGS.businessHours, holidays: ["2026-02-30"] } },
      {
        ...DEFAULT_SETTINGS,
        businessHours: { ...DEFAULT_SETTINGS.businessHours, week: { ...none, mon: [{ from: "25:00", to: "26:00" }] } },
      },
      {
        ...DEFAULT_SETTINGS,
        businessHours: { ...DEFAULT_SETTINGS.businessHours, week: { ...none, mon: [{ from: "09:00", to: "09:00" }] } },
      },
      {
        ...DEFAULT_SETTINGS,
        businessHours: { ...DEFAULT_SETTINGS.businessHours, week: { ...none, mon: [{ from: "24:00", to: "02:00" }] } },
      },
    ]) {
      expect(workspaceSettingsSchema.safeParse(bad).success).toBe(false);
    }
  });
});
