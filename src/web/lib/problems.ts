/**
 * Server errors in the reader's language (issue 18, Medium 5): the API answers RFC 9457 problems with
 * a stable `code`; the client translates by code (`problems.<code>` in the locales) and falls back to
 * the server's English `detail` only for a code it does not know. Every page shows errors through
 * `problemText`/`errorMessage` (components/ui.tsx), never the raw code.
 */
import { ApiError } from "./api.js";
import i18n from "./i18n.js";

/** The translated message of a problem code (or a login-failure reason); `fallback` when unknown. */
export function problemText(code: string, fallback: string): string {
  const key = `problems.${code}`;
  return i18n.exists(key) ? i18n.t(key) : fallback;
}

/** What to tell a person about a failed request or any other error. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return i18n.t("common.networkError");
    return problemText(err.code, err.message);
  }
  return err instanceof Error ? err.message : String(err);
}

/** "Chrome on Linux" from a user-agent string (sessions, login activity); the raw string stays in a title. */
export function describeUserAgent(ua: string | null | undefined): string {
  if (!ua) return "—";
  const browser = /Edg\//.test(ua)
    ? "Edge"
    : /OPR\/|Opera/.test(ua)
      ? "Opera"
      : /Firefox\//.test(ua)
        ? "Firefox"
        : /Chrome\/|Chromium\/|CriOS\//.test(ua)
          ? "Chrome"
          : /Safari\//.test(ua)
            ? "Safari"
            : /curl\//i.test(ua)
              ? "curl"
              : null;
  const os = /Windows/.test(ua)
    ? "Windows"
    : /Android/.test(ua)
      ? "Android"
      : /iPhone|iPad|iPod/.test(ua)
        ? "iOS"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /CrOS/.test(ua)
            ? "ChromeOS"
            : /Linux/.test(ua)
              ? "Linux"
              : null;
  if (browser && os) return i18n.t("common.browserOn", { browser, os });
  return browser ?? os ?? ua.slice(0, 40);
}
