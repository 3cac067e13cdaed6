import * as RadixCheckbox from "@radix-ui/react-checkbox";
import {
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
  useId,
  useState,
} from "react";
import { useTranslation } from "react-i18next";
import { cx } from "./ui.js";

const controlClass =
  "block w-full rounded-lg border px-3 py-2 text-sm focus:outline-2 focus:outline-offset-0 focus:outline-emerald-600 disabled:bg-slate-50 disabled:text-slate-500";
const editableClass = "bg-white text-slate-900 shadow-sm placeholder:text-slate-400";
const readOnlyClass = "cursor-default bg-slate-100 pr-9 text-slate-600";

export interface FieldProps {
  label: ReactNode;
  /** The client-side check's message or the one the server gave for this field. */
  error?: string | undefined;
  help?: ReactNode;
}

/** The id and ARIA wiring every labelled control shares: its error or help text describes it. */
function useControl(id: string | undefined, error: string | undefined, help: ReactNode) {
  const auto = useId();
  const fid = id ?? auto;
  return {
    fid,
    aria: {
      id: fid,
      "aria-invalid": error ? true : undefined,
      "aria-describedby": error ? `${fid}-error` : help ? `${fid}-help` : undefined,
    },
    border: error ? "border-red-500" : "border-slate-300",
  };
}

/** A field's error line, also for groups of controls (a fieldset of checkboxes). */
export function FieldError({ id, error }: { id?: string; error: string | undefined }) {
  if (!error) return null;
  return (
    <p id={id} className="mt-1 text-sm text-red-700" role="alert" data-field-error>
      {error}
    </p>
  );
}

/** Label above, the control, then its error or else its help text. */
function FieldFrame({
  fid,
  label,
  error,
  help,
  className,
  children,
}: FieldProps & { fid: string; className?: string | undefined; children: ReactNode }) {
  return (
    <div className={className}>
      <label htmlFor={fid} className="mb-1 block text-sm font-medium text-slate-700">
        {label}
      </label>
      {children}
      {error ? (
        <FieldError id={`${fid}-error`} error={error} />
      ) : help ? (
        <p id={`${fid}-help`} className="mt-1 text-xs text-slate-500">
          {help}
        </p>
      ) : null}
    </div>
  );
}

export type TextFieldProps = FieldProps &
  InputHTMLAttributes<HTMLInputElement> & {
    ref?: Ref<HTMLInputElement>;
    /** A control inside the input's right end (the password's Show button). */
    trailing?: ReactNode;
  };

/** A labelled input. Read-only ones look it: grey, no shadow, a lock, and `aria-readonly`. */
export function TextField({ label, error, help, className, id, ref, readOnly, trailing, ...props }: TextFieldProps) {
  const c = useControl(id, error, help);
  const input = (
    <input
      ref={ref}
      {...c.aria}
      readOnly={readOnly}
      aria-readonly={readOnly || undefined}
      className={cx(controlClass, readOnly ? readOnlyClass : editableClass, c.border, trailing ? "pr-16" : undefined)}
      {...props}
    />
  );
  if (trailing && !readOnly)
    return (
      <FieldFrame fid={c.fid} label={label} error={error} help={help} className={className}>
        <div className="relative">
          {input}
          <div className="absolute inset-y-0 right-1 flex items-center">{trailing}</div>
        </div>
      </FieldFrame>
    );
  return (
    <FieldFrame fid={c.fid} label={label} error={error} help={help} className={className}>
      {readOnly ? (
        <div className="relative">
          {input}
          <svg
            viewBox="0 0 20 20"
            className="pointer-events-none absolute right-3 top-1/2 size-4 -translate-y-1/2 text-slate-400"
            aria-hidden="true"
          >
            <rect x="4" y="9" width="12" height="8" rx="1.5" fill="currentColor" />
            <path d="M7 9V6.5a3 3 0 0 1 6 0V9" fill="none" stroke="currentColor" strokeWidth="1.8" />
          </svg>
        </div>
      ) : (
        input
      )}
    </FieldFrame>
  );
}

export function TextArea({
  label,
  error,
  help,
  className,
  id,
  ...props
}: FieldProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const c = useControl(id, error, help);
  return (
    <FieldFrame fid={c.fid} label={label} error={error} help={help} className={className}>
      <textarea {...c.aria} className={cx(controlClass, editableClass, c.border)} {...props} />
    </FieldFrame>
  );
}

export function SelectField({
  label,
  error,
  help,
  className,
  id,
  children,
  ...props
}: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  const c = useControl(id, error, help);
  return (
    <FieldFrame fid={c.fid} label={label} error={error} help={help} className={className}>
      <select {...c.aria} className={cx(controlClass, editableClass, "pr-8", c.border)} {...props}>
        {children}
      </select>
    </FieldFrame>
  );
}

type PasswordKind = "current" | "new" | "confirm";
const PASSWORD_AUTOCOMPLETE: Record<PasswordKind, string> = {
  current: "current-password",
  new: "new-password",
  confirm: "new-password",
};

/** A password input: the browser's autocomplete hint per kind, and the strength rule under a new one. */
export function PasswordField({ kind, ...props }: Omit<TextFieldProps, "type"> & { kind: PasswordKind }) {
  const { t } = useTranslation();
  const [shown, setShown] = useState(false);
  return (
    <TextField
      type={shown ? "text" : "password"}
      autoComplete={PASSWORD_AUTOCOMPLETE[kind]}
      help={kind === "new" ? t("auth.passwordHint") : undefined}
      trailing={
        // Visible text, no aria-label: the field's label stays the only "password" label on the page.
        <button
          type="button"
          aria-pressed={shown}
          onClick={() => setShown((s) => !s)}
          className="rounded-md px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600"
        >
          {shown ? t("auth.hidePassword") : t("auth.showPassword")}
        </button>
      }
      {...props}
    />
  );
}

/** The 6-digit code of an authenticator app (or, with `recovery`, a recovery code). */
export function CodeField({
  label,
  recovery = false,
  ...props
}: Omit<TextFieldProps, "label"> & { label?: ReactNode; recovery?: boolean }) {
  const { t } = useTranslation();
  return (
    <TextField
      label={label ?? (recovery ? t("auth.recoveryCode") : t("auth.code"))}
      inputMode={recovery ? "text" : "numeric"}
      autoComplete="one-time-code"
      {...props}
    />
  );
}

/** First and last name side by side (stacked on a phone, or always with `stacked`). */
export function NameFields({
  first,
  last,
  personal = false,
  stacked = false,
}: {
  first: Omit<TextFieldProps, "label">;
  last: Omit<TextFieldProps, "label">;
  /** The person filling the form in is the one named: let the browser offer their name. */
  personal?: boolean;
  stacked?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <div className={cx("grid gap-4", !stacked && "sm:grid-cols-2")}>
      <TextField
        label={t("auth.firstName")}
        name="firstName"
        autoComplete={personal ? "given-name" : undefined}
        {...first}
      />
      <TextField
        label={t("auth.lastName")}
        name="lastName"
        autoComplete={personal ? "family-name" : undefined}
        {...last}
      />
    </div>
  );
}

export function Checkbox({
  checked,
  onCheckedChange,
  label,
  description,
  disabled,
  id,
}: {
  checked: boolean;
  onCheckedChange: (v: boolean) => void;
  label: ReactNode;
  description?: ReactNode;
  disabled?: boolean;
  id?: string;
}) {
  const auto = useId();
  const fid = id ?? auto;
  return (
    <div className="flex items-start gap-3">
      <RadixCheckbox.Root
        id={fid}
        checked={checked}
        disabled={disabled}
        onCheckedChange={(v) => onCheckedChange(v === true)}
        aria-describedby={description ? `${fid}-desc` : undefined}
        className="mt-0.5 flex size-4 shrink-0 items-center justify-center rounded border border-slate-400 bg-white focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-emerald-600 disabled:opacity-50 data-[state=checked]:border-emerald-600 data-[state=checked]:bg-emerald-600"
      >
        <RadixCheckbox.Indicator className="text-white">
          <svg viewBox="0 0 12 12" className="size-3" aria-hidden="true">
            <path d="M2.5 6.5l2.5 2.5 4.5-5" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
        </RadixCheckbox.Indicator>
      </RadixCheckbox.Root>
      <div className="min-w-0">
        <label htmlFor={fid} className={cx("text-sm font-medium text-slate-800", disabled ? "" : "cursor-pointer")}>
          {label}
        </label>
        {description ? (
          <p id={`${fid}-desc`} className="text-xs text-slate-500">
            {description}
          </p>
        ) : null}
      </div>
    </div>
  );
}
