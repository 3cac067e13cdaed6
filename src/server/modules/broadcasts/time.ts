/**
 * `2026-12-01T09:00` (a wall-clock time, read in `timeZone`) or an instant with its offset
 * (`…Z`, `…+01:00`) → the instant. Null for a time that does not exist on the calendar.
 * In a daylight-saving gap the time moves forward by the gap; in an overlap the earlier
 * instant is taken.
 */
export function zonedToUtc(value: string, timeZone: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms, offset] = m;
  const parts = [y, mo, d, h, mi, s ?? "0", ms ?? "0"].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5], parts[6]);
  const check = new Date(wall);
  if (
    check.getUTCFullYear() !== parts[0] ||
    check.getUTCMonth() !== parts[1] - 1 ||
    check.getUTCDate() !== parts[2] ||
    parts[3] > 23 ||
    parts[4] > 59 ||
    parts[5] > 59
  ) {
    return null;
  }
  if (offset === "Z") return new Date(wall);
  if (offset) {
    const sign = offset.startsWith("-") ? -1 : 1;
    const [oh, om] = offset.slice(1).split(":").map(Number) as [number, number];
    return new Date(wall - sign * (oh * 60 + om) * 60_000);
  }
  // Two passes of "guess, measure the zone's offset there, correct".
  let guess = wall - offsetOf(wall, timeZone);
  guess = wall - offsetOf(guess, timeZone);
  return new Date(guess);
}

/** The zone's offset from UTC at `ms`, in milliseconds. */
export function offsetOf(ms: number, timeZone: string): number {
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
  );
  return asUtc - Math.floor(ms / 1000) * 1000;
}
