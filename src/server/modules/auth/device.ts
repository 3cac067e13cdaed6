import { isIP } from "node:net";

/**
 * A user agent reduced to a browser and a system from a fixed vocabulary. The raw string is
 * attacker-controlled (any client sends what it likes), so only these names, never the string
 * itself, reach emails; and they are what "the same device" compares.
 */
export interface DeviceFamily {
  browser: string | null;
  os: string | null;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\bOPR\/|\bOpera\b/, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bFirefox\/|\bFxiOS\//, "Firefox"],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
];

const SYSTEMS: [RegExp, string][] = [
  [/\bWindows\b/, "Windows"],
  [/\biPhone\b|\biPad\b|\biPod\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

const first = (ua: string, table: [RegExp, string][]) => table.find(([re]) => re.test(ua))?.[1] ?? null;

export function deviceFamily(userAgent: string | null | undefined): DeviceFamily {
  const ua = userAgent?.slice(0, 512) ?? "";
  return { browser: first(ua, BROWSERS), os: first(ua, SYSTEMS) };
}

export const sameFamily = (a: DeviceFamily, b: DeviceFamily) => a.browser === b.browser && a.os === b.os;

/** The client address when it is one (behind a trusted proxy it comes from a header). */
export const validIp = (ip: string | null | undefined): string | null => (ip && isIP(ip) ? ip : null);
