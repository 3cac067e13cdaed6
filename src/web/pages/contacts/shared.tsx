import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";
import { cx } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { ApiError } from "../../lib/api.js";
import { problemText } from "../../lib/problems.js";
import { inkOn, type Tag } from "../../lib/workspace.js";

/** Contacts, Tags, Lists: the tabs of the Contacts area (links, so each has its address). */
export function ContactsTabs() {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const tabs = [
    { to: `/orgs/${orgId}/contacts`, label: t("contacts.tabContacts"), end: true },
    { to: `/orgs/${orgId}/contacts/tags`, label: t("contacts.tabTags"), end: false },
    { to: `/orgs/${orgId}/contacts/lists`, label: t("contacts.tabLists"), end: false },
  ];
  return (
    <nav aria-label={t("contacts.tabsLabel")} className="mb-4 flex gap-1 overflow-x-auto border-b border-slate-200">
      {tabs.map((tab) => (
        <NavLink
          key={tab.to}
          to={tab.to}
          end={tab.end}
          className={({ isActive }) =>
            cx(
              "-mb-px whitespace-nowrap border-b-2 px-3 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-emerald-600",
              isActive
                ? "border-emerald-600 text-emerald-800"
                : "border-transparent text-slate-600 hover:text-slate-900",
            )
          }
        >
          {tab.label}
        </NavLink>
      ))}
    </nav>
  );
}

export function TagChip({ tag, children }: { tag: Pick<Tag, "name" | "color">; children?: ReactNode }) {
  return (
    <span
      className="inline-flex max-w-full items-center gap-1 truncate rounded-full px-2 py-0.5 text-xs font-medium"
      style={{ backgroundColor: tag.color, color: inkOn(tag.color) }}
      data-testid="tag-chip"
    >
      <span className="truncate">{tag.name}</span>
      {children}
    </span>
  );
}

/** Server field errors by field name, with 409s that name no field put on the field they are about. */
export function fieldErrorsOf(err: unknown, conflicts: Record<string, string> = {}): Record<string, string> {
  if (!(err instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(err.fieldErrors)) {
    // invalid_phone says why in English; the translation names the reason when known.
    const reason = (err.body as { reason?: string } | null)?.reason;
    out[k] = err.code === "invalid_phone" && reason ? problemText(`phone_${reason}`, v) : v;
  }
  const field = conflicts[err.code] ?? (err.body as { field?: string } | null)?.field;
  if (field && !out[field]) out[field] = problemText(err.code, err.message);
  return out;
}
