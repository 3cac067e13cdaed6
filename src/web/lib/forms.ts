import { type ChangeEvent, type FormEvent, useEffect, useRef, useState } from "react";
import type { z } from "zod";
import { ApiError } from "./api.js";
import i18n from "./i18n.js";

/** Turns a Zod issue into a translated message (the shared schemas carry English text). */
function translateIssue(issue: z.core.$ZodIssue): string {
  const t = i18n.t.bind(i18n);
  switch (issue.code) {
    case "too_small":
      if (issue.origin === "string")
        return Number(issue.minimum) <= 1
          ? t("validation.required")
          : t("validation.min", { count: Number(issue.minimum) });
      return issue.message;
    case "too_big":
      if (issue.origin === "string") return t("validation.max", { count: Number(issue.maximum) });
      return issue.message;
    case "invalid_format":
      if (issue.format === "email") return t("validation.email");
      if (issue.format === "regex") return issue.message;
      if (issue.format === "url") return t("validation.url");
      return issue.message;
    case "custom": {
      const key = (issue.params as { i18n?: unknown } | undefined)?.i18n;
      return typeof key === "string" ? t(key) : issue.message;
    }
    default:
      return issue.message;
  }
}

export function validate<S extends z.ZodType>(
  schema: S,
  values: unknown,
): { data?: z.output<S>; errors: Record<string, string> } {
  const r = schema.safeParse(values);
  if (r.success) return { data: r.data, errors: {} };
  const errors: Record<string, string> = {};
  for (const issue of r.error.issues) {
    const key = issue.path.map(String).join(".");
    if (!errors[key]) errors[key] = translateIssue(issue);
  }
  return { errors };
}

/**
 * After a submit that found errors: the first invalid field (in an open dialog if there is one) is
 * scrolled to the middle of its scroll box and focused, so a failing submit never looks like nothing
 * happened. A group's error (`FieldError`, e.g. under a permission matrix) brings its group into view
 * and focuses its first control.
 */
export function focusFirstInvalid(): void {
  const scope = document.querySelector('[role="dialog"], [role="alertdialog"]') ?? document;
  const first = scope.querySelector<HTMLElement>('[aria-invalid="true"], [data-field-error]');
  if (!first) return;
  first.scrollIntoView({ block: "center" });
  if (first.hasAttribute("data-field-error")) {
    const group = first.closest("fieldset, [data-field-group]") ?? first.parentElement;
    group?.querySelector<HTMLElement>("input:not([disabled]), button:not([disabled]), select, textarea")?.focus({
      preventScroll: true,
    });
  } else first.focus({ preventScroll: true });
}

/**
 * Field errors: client-side ones first, then the ones the server named. An error goes away as soon
 * as its field changes (`clearField`, or `formProps` on the <form> for fields bound by name), and
 * setting errors moves focus to the first invalid field.
 */
export function useFieldErrors() {
  const [errors, setErrorsState] = useState<Record<string, string>>({});
  const focusNext = useRef(false);
  useEffect(() => {
    if (!focusNext.current) return;
    focusNext.current = false;
    if (Object.keys(errors).length) focusFirstInvalid();
  }, [errors]);
  const setErrors = (next: Record<string, string>) => {
    focusNext.current = Object.keys(next).length > 0;
    setErrorsState(next);
  };
  /** Clears the field's error and those of its parts (`memberIds` also clears `memberIds.3`). */
  const clearField = (name: string) =>
    setErrorsState((prev) => {
      const gone = Object.keys(prev).filter((k) => k === name || k.startsWith(`${name}.`));
      if (!gone.length) return prev;
      const rest = { ...prev };
      for (const k of gone) delete rest[k];
      return rest;
    });
  return {
    errors,
    setErrors,
    clearField,
    /** On a <form>: any change to a named control clears that control's error. */
    formProps: {
      onChange: (e: FormEvent<HTMLFormElement>) => {
        const name = (e.target as { name?: unknown }).name;
        if (typeof name === "string" && name) clearField(name);
      },
    },
    fromServer(err: unknown): boolean {
      if (err instanceof ApiError && Object.keys(err.fieldErrors).length) {
        setErrors(err.fieldErrors);
        return true;
      }
      return false;
    },
    clear: () => setErrorsState({}),
  };
}

/**
 * A form's text values and their field errors in one place. `field(name)` gives an input, text area
 * or select what it needs to be bound: its name, value, change handler and the error (the client's
 * or the server's). Values that are not text (colours, sets of ids) stay in their own state and
 * clear their error with `clearField(name)`.
 */
export function useFormFields<T extends Record<string, string | undefined>>(initial: T) {
  const [values, setValues] = useState(initial);
  const fe = useFieldErrors();
  return {
    ...fe,
    values,
    setValues,
    field: (name: keyof T & string) => ({
      name,
      value: values[name],
      onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => {
        setValues((v) => ({ ...v, [name]: e.target.value }));
        fe.clearField(name);
      },
      error: fe.errors[name],
    }),
  };
}
