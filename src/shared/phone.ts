import {
  isSupportedCountry,
  ParseError,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
} from "libphonenumber-js";

/**
 * Phone numbers as WhatsApp needs them: E.164 (`+15551234567`). Shared by the server (contacts,
 * import) and the web forms, so both refuse the same input with the same reason.
 *
 * A number written without its international prefix needs a country (`country`, ISO 3166
 * alpha-2, e.g. "ES"); `00` is read as `+`. The check is "possible" (length for the country),
 * not "valid" (assigned ranges): ranges change faster than the library's metadata, and test
 * numbers such as +1 555 … are possible but not assigned.
 */
export type PhoneProblem = "not_a_number" | "invalid_country" | "too_short" | "too_long" | "not_possible" | "extension";

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: PhoneProblem; message: string };

const MESSAGES: Record<PhoneProblem, string> = {
  not_a_number: "This is not a phone number.",
  invalid_country:
    "Write the number in international form, with + and the country code (e.g. +34 600 123 456), or choose its country.",
  too_short: "The number is too short for its country.",
  too_long: "The number is too long for its country.",
  not_possible: "The number has a length no number of its country has.",
  extension: "Extensions are not supported: WhatsApp numbers have none.",
};

const fail = (reason: PhoneProblem): PhoneResult => ({ ok: false, reason, message: MESSAGES[reason] });

export function isCountryCode(c: string): boolean {
  return /^[A-Z]{2}$/.test(c) && isSupportedCountry(c as never);
}

export function normalizePhone(input: string, country?: string | null): PhoneResult {
  let text = input.trim();
  if (text.length === 0 || text.length > 40) return fail(text.length ? "too_long" : "not_a_number");
  if (text.startsWith("00")) text = `+${text.slice(2)}`;
  const defaultCountry = country && isCountryCode(country) ? (country as never) : undefined;
  try {
    const parsed = parsePhoneNumberWithError(text, defaultCountry ? { defaultCountry } : {});
    if (parsed.ext) return fail("extension");
    if (!parsed.isPossible()) {
      const why = validatePhoneNumberLength(text, defaultCountry);
      if (why === "TOO_SHORT") return fail("too_short");
      if (why === "TOO_LONG") return fail("too_long");
      return fail("not_possible");
    }
    return { ok: true, e164: parsed.number };
  } catch (err) {
    if (err instanceof ParseError) {
      switch (err.message) {
        case "INVALID_COUNTRY":
          return fail("invalid_country");
        case "TOO_SHORT":
          return fail("too_short");
        case "TOO_LONG":
          return fail("too_long");
        default:
          return fail("not_a_number");
      }
    }
    return fail("not_a_number");
  }
}
