import * as Menu from "@radix-ui/react-dropdown-menu";
import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Button, cx } from "./ui.js";

const itemClass = "block rounded-md px-2 py-1.5 text-sm outline-none";

/** The button that opens a dropdown menu; `label` names it for screen readers. */
/**
 * A menu's trigger. `label` is read after the visible content (sr-only), not instead of it: the
 * accessible name starts with what is seen ("Acme Support, Switch organization"), as WCAG 2.5.3 asks.
 */
export function MenuButton({ label, className, children }: { label: string; className: string; children: ReactNode }) {
  return (
    <Menu.Trigger asChild>
      <button
        type="button"
        className={cx("flex items-center gap-2 focus-visible:outline-2 focus-visible:outline-emerald-600", className)}
      >
        {children}
        <span className="sr-only">{label}</span>
      </button>
    </Menu.Trigger>
  );
}

/** A dropdown menu's panel, portalled, under its trigger. */
export function MenuPanel({
  align,
  narrow = false,
  children,
}: {
  align: "start" | "end";
  narrow?: boolean;
  children: ReactNode;
}) {
  return (
    <Menu.Portal>
      <Menu.Content
        align={align}
        sideOffset={narrow ? 4 : 6}
        className={cx(
          "z-50 rounded-xl border border-slate-200 bg-white p-1 shadow-lg",
          narrow ? "min-w-40" : "min-w-56",
        )}
      >
        {children}
      </Menu.Content>
    </Menu.Portal>
  );
}

/** A menu entry that navigates. */
export function MenuLink({ to, className, children }: { to: string; className?: string; children: ReactNode }) {
  return (
    <Menu.Item asChild>
      <Link to={to} className={cx(itemClass, "data-[highlighted]:bg-slate-100", className ?? "text-slate-800")}>
        {children}
      </Link>
    </Menu.Item>
  );
}

/** A menu entry that does something; `danger` for the destructive ones. */
export function MenuAction({
  onSelect,
  danger = false,
  children,
}: {
  onSelect: () => void;
  danger?: boolean;
  children: ReactNode;
}) {
  return (
    <Menu.Item
      onSelect={onSelect}
      className={cx(
        itemClass,
        "cursor-pointer",
        danger ? "text-red-700 data-[highlighted]:bg-red-50" : "text-slate-800 data-[highlighted]:bg-slate-100",
      )}
    >
      {children}
    </Menu.Item>
  );
}

export function MenuSeparator() {
  return <Menu.Separator className="my-1 h-px bg-slate-100" />;
}

/** The "more actions" icon of a row menu (the button is named by its aria-label). */
const Dots = () => (
  <svg viewBox="0 0 20 20" className="size-5" aria-hidden="true">
    <circle cx="4" cy="10" r="1.6" fill="currentColor" />
    <circle cx="10" cy="10" r="1.6" fill="currentColor" />
    <circle cx="16" cy="10" r="1.6" fill="currentColor" />
  </svg>
);

/** The "…" menu of a row: a button named `label`, opening its entries (`MenuAction`s) under it. */
export function RowMenu({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <Button variant="ghost" size="sm" aria-label={label}>
          <Dots />
        </Button>
      </Menu.Trigger>
      <MenuPanel align="end" narrow>
        {children}
      </MenuPanel>
    </Menu.Root>
  );
}

/** The "…" menu of a row that can be edited and deleted (contacts, tags, lists, teams, automations). */
export function EditDeleteMenu({
  label,
  onEdit,
  onDelete,
}: {
  label: string;
  onEdit: () => void;
  onDelete: () => void;
}) {
  const { t } = useTranslation();
  return (
    <RowMenu label={label}>
      <MenuAction onSelect={onEdit}>{t("common.edit")}</MenuAction>
      <MenuAction danger onSelect={onDelete}>
        {t("common.delete")}
      </MenuAction>
    </RowMenu>
  );
}
