import { type ChangeEvent, useState } from "react";
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

/** Field errors: client-side ones first, then the ones the server named. */
export function useFieldErrors() {
  const [errors, setErrors] = useState<Record<string, string>>({});
  return {
    errors,
    setErrors,
    fromServer(err: unknown): boolean {
      if (err instanceof ApiError && Object.keys(err.fieldErrors).length) {
        setErrors(err.fieldErrors);
        return true;
      }
      return false;
    },
    clear: () => setErrors({}),
  };
}

/**
 * A form's text values and their field errors in one place. `field(name)` gives an input what it
 * needs to be bound: its name, value, change handler and the error (the client's or the server's).
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
      onChange: (e: ChangeEvent<HTMLInputElement>) => setValues((v) => ({ ...v, [name]: e.target.value })),
      error: fe.errors[name],
    }),
  };
}
