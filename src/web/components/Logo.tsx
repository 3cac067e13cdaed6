import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { cx } from "./ui.js";

/** The app's mark (a chat bubble) and name, linking home. The same on the sign-in pages and in the app. */
export function Logo({
  nameFromSm = false,
}: {
  /** Only the mark on a phone, where the header is crowded. */ nameFromSm?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Link
      to="/"
      className="flex items-center gap-2 rounded-md font-semibold text-slate-900 focus-visible:outline-2 focus-visible:outline-emerald-600"
    >
      <span
        aria-hidden="true"
        className="inline-flex size-8 items-center justify-center rounded-lg bg-emerald-600 text-white"
      >
        <svg viewBox="0 0 24 24" className="size-5" aria-hidden="true">
          <path
            d="M4 12a8 8 0 1 1 3.3 6.5L4 20l1.2-3.6A8 8 0 0 1 4 12z"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
          />
          <path d="M9 10.5h6M9 13.5h4" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
      </span>
      <span className={cx(nameFromSm && "sr-only sm:not-sr-only")}>{t("app.name")}</span>
    </Link>
  );
}
