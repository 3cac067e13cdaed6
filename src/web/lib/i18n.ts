import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "../locales/en.js";
import { es } from "../locales/es.js";

export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];
const STORAGE_KEY = "chorus.language";

function initialLanguage(): Language {
  const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
  if (stored === "en" || stored === "es") return stored;
  return globalThis.navigator?.language?.toLowerCase().startsWith("es") ? "es" : "en";
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, es: { translation: es } },
  lng: initialLanguage(),
  fallbackLng: "en",
  nsSeparator: false,
  interpolation: { escapeValue: false },
  returnNull: false,
});

function applyDocumentLanguage(lng: string) {
  document.documentElement.lang = lng;
}
applyDocumentLanguage(i18n.language);
i18n.on("languageChanged", (lng) => {
  applyDocumentLanguage(lng);
  try {
    localStorage.setItem(STORAGE_KEY, lng);
  } catch {
    /* private mode */
  }
});

export function setLanguage(lng: string): void {
  const next: Language = lng === "es" ? "es" : "en";
  if (i18n.language !== next) void i18n.changeLanguage(next);
}

export function formatDate(value: string | null | undefined, withTime = true): string {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(i18n.language === "es" ? "es-ES" : "en-GB", {
    dateStyle: "medium",
    ...(withTime ? { timeStyle: "short" } : {}),
  });
}

export function relativeTime(value: string | null | undefined): string {
  if (!value) return i18n.t("common.never");
  const diff = (new Date(value).getTime() - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(i18n.language, { numeric: "auto" });
  const abs = Math.abs(diff);
  if (abs < 60) return rtf.format(Math.round(diff), "second");
  if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), "hour");
  if (abs < 86400 * 30) return rtf.format(Math.round(diff / 86400), "day");
  return formatDate(value, false);
}

export default i18n;

const CHOSEN_KEY = "chorus.languageChosen";
/** A language picked before signing in: kept, and saved to the account once signed in (lib/session.ts). */
export function rememberLanguageChoice(lng: string): void {
  try {
    sessionStorage.setItem(CHOSEN_KEY, lng);
  } catch {
    /* private mode */
  }
}
/** The language picked before signing in, once (it is then the account's). */
export function takeLanguageChoice(): Language | null {
  try {
    const v = sessionStorage.getItem(CHOSEN_KEY);
    sessionStorage.removeItem(CHOSEN_KEY);
    return v === "en" || v === "es" ? v : null;
  } catch {
    return null;
  }
}
