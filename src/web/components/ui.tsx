import * as AlertDialog from "@radix-ui/react-alert-dialog";
import * as Dialog from "@radix-ui/react-dialog";
import { type ButtonHTMLAttributes, type ReactNode, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useTranslation } from "react-i18next";
import { Link, type LinkProps } from "react-router";
import { describeError } from "../lib/problems.js";

export function cx(...parts: (string | false | null | undefined)[]): string {
  return parts.filter(Boolean).join(" ");
}

type Variant = "primary" | "secondary" | "danger" | "ghost";
const VARIANTS: Record<Variant, string> = {
  // emerald-700 under white text: 5.5:1 (emerald-600 was 3.8:1, under WCAG's 4.5:1).
  primary: "bg-emerald-700 text-white hover:bg-emerald-800 disabled:bg-emerald-700/60 shadow-sm",
  secondary: "bg-white text-slate-800 border border-slate-300 hover:bg-slate-50 disabled:opacity-60 shadow-sm",
  danger: "bg-red-700 text-white hover:bg-red-800 disabled:bg-red-700/60 shadow-sm",
  ghost: "text-slate-700 hover:bg-slate-100 disabled:opacity-60",
};

type Size = "sm" | "md";

/** A button's look, for the elements that act as one without being one (links, downloads). */
export function buttonClass(variant: Variant = "primary", size: Size = "md", className?: string): string {
  return cx(
    "inline-flex items-center justify-center gap-2 rounded-lg font-medium transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-emerald-600 disabled:cursor-not-allowed",
    size === "sm" ? "px-2.5 py-1.5 text-sm" : "px-4 py-2 text-sm",
    VARIANTS[variant],
    className,
  );
}

export function Button({
  variant = "primary",
  size = "md",
  className,
  type = "button",
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; size?: Size }) {
  return <button type={type} className={buttonClass(variant, size, className)} {...props} />;
}

/** An in-app link that looks like a button. */
export function ButtonLink({
  variant = "primary",
  size = "md",
  className,
  ...props
}: LinkProps & { variant?: Variant; size?: Size }) {
  return <Link className={buttonClass(variant, size, className)} {...props} />;
}

/** An in-app link in running text. */
export function TextLink({ className, ...props }: LinkProps) {
  return <Link className={cx("font-medium text-emerald-700 hover:underline", className)} {...props} />;
}

export function Chip({
  children,
  tone = "slate",
}: {
  children: ReactNode;
  tone?: "slate" | "emerald" | "amber" | "red" | "violet";
}) {
  const tones = {
    slate: "bg-slate-100 text-slate-700 ring-slate-200",
    emerald: "bg-emerald-50 text-emerald-800 ring-emerald-200",
    amber: "bg-amber-50 text-amber-800 ring-amber-200",
    red: "bg-red-50 text-red-700 ring-red-200",
    violet: "bg-violet-50 text-violet-800 ring-violet-200",
  };
  return (
    <span
      className={cx(
        "inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset whitespace-nowrap",
        tones[tone],
      )}
    >
      {children}
    </span>
  );
}

export function Avatar({ name, url, size = 8 }: { name: string; url?: string | null; size?: 8 | 10 | 16 }) {
  const initials =
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((s) => s[0]?.toUpperCase())
      .join("") || "?";
  const sz = { 8: "size-8 text-xs", 10: "size-10 text-sm", 16: "size-16 text-lg" }[size];
  const [broken, setBroken] = useState(false);
  if (url && !broken)
    return (
      <img src={url} alt="" className={cx(sz, "shrink-0 rounded-full object-cover")} onError={() => setBroken(true)} />
    );
  return (
    <span
      aria-hidden="true"
      className={cx(
        sz,
        "inline-flex shrink-0 items-center justify-center rounded-full bg-emerald-100 font-semibold text-emerald-800",
      )}
    >
      {initials}
    </span>
  );
}

export function Spinner({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <div role="status" className="flex items-center gap-2 py-6 text-sm text-slate-500">
      <span
        className="size-4 animate-spin rounded-full border-2 border-slate-300 border-t-emerald-600"
        aria-hidden="true"
      />
      {label ?? t("common.loading")}
    </div>
  );
}

/** An error in the reader's language: by the problem's `code` (lib/problems.ts), never the raw code. */
export function errorMessage(err: unknown, _t?: (k: string) => string): string {
  return describeError(err);
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  return (
    <div role="alert" className="rounded-xl border border-red-200 bg-red-50 p-4 text-sm text-red-800">
      <p className="font-semibold">{t("common.errorTitle")}</p>
      <p className="mt-1">{errorMessage(error, t)}</p>
      {onRetry ? (
        <Button variant="secondary" size="sm" className="mt-3" onClick={onRetry}>
          {t("common.retry")}
        </Button>
      ) : null}
    </div>
  );
}

/**
 * The failure of a whole form. With `fieldErrors`, it stays quiet while the fields show their own
 * messages (the server's field errors land there, not here).
 */
export function FormError({ error, fieldErrors }: { error: unknown; fieldErrors?: Record<string, string> }) {
  const { t } = useTranslation();
  if (!error || (fieldErrors && Object.keys(fieldErrors).length)) return null;
  return (
    <div role="alert" className="rounded-lg border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {errorMessage(error, t)}
    </div>
  );
}

export function Notice({ children, tone = "info" }: { children: ReactNode; tone?: "info" | "success" | "warning" }) {
  const tones = {
    info: "border-sky-200 bg-sky-50 text-sky-900",
    success: "border-emerald-200 bg-emerald-50 text-emerald-900",
    warning: "border-amber-200 bg-amber-50 text-amber-900",
  };
  return (
    <div role="status" className={cx("rounded-lg border px-3 py-2 text-sm", tones[tone])}>
      {children}
    </div>
  );
}

export function Card({
  title,
  description,
  children,
  actions,
  className,
  titleLevel = 2,
}: {
  /** 1 when the card is the page (its title is the page's heading). */
  titleLevel?: 1 | 2;
  title?: ReactNode;
  description?: ReactNode;
  children: ReactNode;
  actions?: ReactNode;
  className?: string;
}) {
  return (
    <section className={cx("rounded-xl border border-slate-200 bg-white shadow-sm", className)}>
      {title ? (
        <header className="flex flex-wrap items-start justify-between gap-3 border-b border-slate-100 px-4 py-3 sm:px-5">
          <div>
            {titleLevel === 1 ? (
              <h1 className="text-lg font-semibold text-slate-900">{title}</h1>
            ) : (
              <h2 className="text-base font-semibold text-slate-900">{title}</h2>
            )}
            {description ? <p className="mt-0.5 text-sm text-slate-500">{description}</p> : null}
          </div>
          {actions}
        </header>
      ) : null}
      <div className="px-4 py-4 sm:px-5">{children}</div>
    </section>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: string; actions?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
        {subtitle ? <p className="mt-1 max-w-2xl text-sm text-slate-600">{subtitle}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </div>
  );
}

/**
 * A form's end: the form-level error (quiet while fields show their own), then the submit button,
 * "Save changes" on the right unless told otherwise.
 */
export function SaveRow({
  error,
  fieldErrors,
  pending,
  label,
  danger = false,
  align = "end",
}: {
  error: unknown;
  fieldErrors: Record<string, string>;
  pending: boolean;
  label?: string;
  danger?: boolean;
  align?: "start" | "end";
}) {
  const { t } = useTranslation();
  return (
    <>
      <FormError error={error} fieldErrors={fieldErrors} />
      <div className={cx(align === "end" && "flex justify-end")}>
        <Button type="submit" variant={danger ? "danger" : "primary"} disabled={pending}>
          {label ?? (pending ? t("common.saving") : t("common.save"))}
        </Button>
      </div>
    </>
  );
}

/** A form's closing row: cancel (or close) on the left of the submit button. */
export function DialogActions({
  onCancel,
  cancelLabel,
  submitLabel,
  pending = false,
  disabled = false,
  onSubmit,
  danger = false,
}: {
  onCancel: () => void;
  cancelLabel?: string;
  submitLabel: string;
  pending?: boolean;
  disabled?: boolean;
  /** Without it the button submits the surrounding form. */
  onSubmit?: () => void;
  danger?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <div className="flex justify-end gap-2">
      <Button variant="secondary" onClick={onCancel}>
        {cancelLabel ?? t("common.cancel")}
      </Button>
      <Button
        type={onSubmit ? "button" : "submit"}
        variant={danger ? "danger" : "primary"}
        disabled={pending || disabled}
        onClick={onSubmit}
      >
        {submitLabel}
      </Button>
    </div>
  );
}

/** A page-sized message in the middle: no access, not found, forbidden. */
export function CenteredMessage({
  title,
  body,
  icon,
  action,
  testId,
}: {
  title: string;
  body: ReactNode;
  icon?: ReactNode;
  action?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="mx-auto max-w-lg py-12 text-center" data-testid={testId}>
      {icon ? (
        <div
          aria-hidden="true"
          className="mx-auto mb-4 flex size-12 items-center justify-center rounded-full bg-amber-100 text-2xl"
        >
          {icon}
        </div>
      ) : null}
      <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
      <p className="mt-2 text-sm text-slate-600">{body}</p>
      {action ? <div className="mt-6">{action}</div> : null}
    </div>
  );
}

// ---- dialog focus: in to the first field on open, back to what opened it on close ----
/** The last control focused outside dialogs and menus: what a dialog opened now was opened from. */
let lastOpener: HTMLElement | null = null;
if (typeof document !== "undefined") {
  document.addEventListener(
    "focusin",
    (e) => {
      const el = e.target as HTMLElement;
      if (!el.closest?.('[role="dialog"], [role="alertdialog"], [role="menu"]')) lastOpener = el;
    },
    true,
  );
}
/** Focus handlers for a Radix dialog's content (Modal, Confirm; reuse them for any new dialog). */
export function useDialogFocus() {
  const opener = useRef<HTMLElement | null>(null);
  return {
    /** For dialogs that keep Radix's own first focus (a confirmation's Cancel). */
    record: () => {
      opener.current = lastOpener;
    },
    onOpenAutoFocus: (e: Event) => {
      opener.current = lastOpener;
      const content = e.currentTarget as HTMLElement;
      const field = content.querySelector<HTMLElement>(
        "input:not([disabled]):not([readonly]):not([type=hidden]), select:not([disabled]), textarea:not([disabled])",
      );
      if (field) {
        e.preventDefault();
        field.focus();
      }
    },
    onCloseAutoFocus: (e: Event) => {
      const target = opener.current;
      // A menu item that opened it is gone: its menu's trigger was focused last outside the menu.
      if (target?.isConnected) {
        e.preventDefault();
        target.focus();
      }
    },
  };
}

/** A modal dialog: focus moves to its first field, is trapped, Escape closes, focus returns to the opener. */
export function Modal({
  open,
  onOpenChange,
  title,
  description,
  children,
  side = false,
  wide = false,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  side?: boolean;
  wide?: boolean;
}) {
  const { t } = useTranslation();
  const focus = useDialogFocus();
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-slate-900/40" />
        <Dialog.Content
          className={cx(
            "fixed z-50 flex flex-col bg-white shadow-xl focus:outline-none",
            side
              ? "inset-y-0 right-0 w-full max-w-md"
              : cx(
                  "left-1/2 top-1/2 max-h-[92vh] w-[calc(100vw-1.5rem)] -translate-x-1/2 -translate-y-1/2 rounded-2xl",
                  wide ? "max-w-3xl" : "max-w-lg",
                ),
          )}
          {...(description ? {} : { "aria-describedby": undefined })}
          onOpenAutoFocus={focus.onOpenAutoFocus}
          onCloseAutoFocus={focus.onCloseAutoFocus}
        >
          <div className="flex items-start justify-between gap-4 border-b border-slate-100 px-5 py-4">
            <div>
              <Dialog.Title className="text-lg font-semibold text-slate-900">{title}</Dialog.Title>
              {description ? (
                <Dialog.Description className="mt-1 text-sm text-slate-500">{description}</Dialog.Description>
              ) : null}
            </div>
            <Dialog.Close
              className="rounded-md p-1 text-slate-500 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600"
              aria-label={t("common.close")}
            >
              <svg viewBox="0 0 20 20" className="size-5" aria-hidden="true">
                <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" />
              </svg>
            </Dialog.Close>
          </div>
          <div className="min-h-0 flex-1 overflow-y-auto px-5 py-4">{children}</div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

export function Confirm({
  open,
  onOpenChange,
  title,
  body,
  confirmLabel,
  onConfirm,
  pending,
  error,
  children,
  danger = true,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  pending?: boolean;
  error?: unknown;
  children?: ReactNode;
  danger?: boolean;
}) {
  const { t } = useTranslation();
  const focus = useDialogFocus();
  return (
    <AlertDialog.Root open={open} onOpenChange={onOpenChange}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-slate-900/40" />
        <AlertDialog.Content
          onOpenAutoFocus={focus.record}
          onCloseAutoFocus={focus.onCloseAutoFocus}
          className="fixed left-1/2 top-1/2 z-50 w-[calc(100vw-1.5rem)] max-w-md -translate-x-1/2 -translate-y-1/2 rounded-2xl bg-white p-5 shadow-xl focus:outline-none"
        >
          <AlertDialog.Title className="text-lg font-semibold text-slate-900">{title}</AlertDialog.Title>
          <AlertDialog.Description className="mt-2 text-sm text-slate-600">{body}</AlertDialog.Description>
          {children ? <div className="mt-4">{children}</div> : null}
          {error ? (
            <div className="mt-3">
              <FormError error={error} />
            </div>
          ) : null}
          <div className="mt-5 flex justify-end gap-2">
            <AlertDialog.Cancel asChild>
              <Button variant="secondary">{t("common.cancel")}</Button>
            </AlertDialog.Cancel>
            <Button
              variant={danger ? "danger" : "primary"}
              disabled={pending}
              onClick={(e) => {
                e.preventDefault();
                onConfirm();
              }}
            >
              {confirmLabel}
            </Button>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

// ---- toasts: a small store and a polite live region ----
interface Toast {
  id: number;
  text: string;
  tone: "success" | "error";
}
let toasts: Toast[] = [];
let nextToast = 1;
const toastListeners = new Set<() => void>();
function emitToasts() {
  for (const l of toastListeners) l();
}
function dismissToast(id: number): void {
  toasts = toasts.filter((x) => x.id !== id);
  emitToasts();
}

/** A short message at the top of the screen (never over a dialog's buttons); errors stay longer. */
export function toast(text: string, tone: Toast["tone"] = "success"): void {
  const id = nextToast++;
  toasts = [...toasts, { id, text, tone }].slice(-3); // at most three: the oldest goes
  emitToasts();
  setTimeout(() => dismissToast(id), tone === "error" ? 8000 : 5000);
}

export function Toaster() {
  const { t } = useTranslation();
  const list = useSyncExternalStore(
    (cb) => {
      toastListeners.add(cb);
      return () => toastListeners.delete(cb);
    },
    () => toasts,
  );
  return (
    <div
      aria-live="polite"
      data-toaster=""
      className="pointer-events-none fixed top-3 left-1/2 z-[60] flex w-[calc(100vw-2rem)] max-w-sm -translate-x-1/2 flex-col gap-2 sm:top-16 sm:right-4 sm:left-auto sm:translate-x-0"
    >
      {list.map((x) => (
        <div
          key={x.id}
          role={x.tone === "error" ? "alert" : "status"}
          className={cx(
            "pointer-events-auto flex items-start gap-3 rounded-lg py-3 pr-2 pl-4 text-sm shadow-lg",
            x.tone === "success" ? "bg-slate-900 text-white" : "bg-red-700 text-white",
          )}
        >
          <span className="min-w-0 flex-1">{x.text}</span>
          <button
            type="button"
            onClick={() => dismissToast(x.id)}
            aria-label={t("common.dismiss")}
            className="-my-1 shrink-0 rounded p-1 text-white/80 hover:bg-white/10 hover:text-white focus-visible:outline-2 focus-visible:outline-white"
          >
            <svg viewBox="0 0 20 20" className="size-4" aria-hidden="true">
              <path d="M5 5l10 10M15 5L5 15" stroke="currentColor" strokeWidth="2" />
            </svg>
          </button>
        </div>
      ))}
    </div>
  );
}

export function useDebounced<T>(value: T, ms = 250): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}
