import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";
import { z } from "zod";
import { loginBody, signupBody } from "../../../shared/schemas/auth.js";
import { emailSchema, passwordSchema } from "../../../shared/schemas/common.js";
import { CodeField, NameFields, PasswordField, TextField } from "../../components/fields.js";
import { Logo } from "../../components/Logo.js";
import { Button, cx, FormError, Notice, Spinner, TextLink } from "../../components/ui.js";
import { ApiError, api } from "../../lib/api.js";
import { useFieldErrors, useFormFields, validate } from "../../lib/forms.js";
import { LANGUAGES, rememberLanguageChoice, setLanguage } from "../../lib/i18n.js";
import { adoptLanguage, qk, useMe } from "../../lib/session.js";
import type { User } from "../../lib/types.js";

export function LanguagePicker({ className }: { className?: string }) {
  const { t, i18n } = useTranslation();
  return (
    <fieldset className={cx("flex gap-1 text-xs", className)}>
      <legend className="sr-only">{t("profile.language")}</legend>
      {LANGUAGES.map((l) => (
        <button
          key={l}
          type="button"
          lang={l}
          aria-pressed={i18n.language === l}
          onClick={() => {
            setLanguage(l);
            rememberLanguageChoice(l);
          }}
          className={cx(
            "rounded px-2 py-1 focus-visible:outline-2 focus-visible:outline-emerald-600",
            i18n.language === l ? "bg-slate-200 font-semibold text-slate-900" : "text-slate-600 hover:bg-slate-100",
          )}
        >
          {t(`languages.${l}`)}
        </button>
      ))}
    </fieldset>
  );
}

/** The card every signed-out page sits in: logo and language above, a title, the content, a footer line. */
export function AuthFrame({
  title,
  subtitle,
  children,
  footer,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
}) {
  return (
    <div className="flex min-h-dvh flex-col bg-gradient-to-b from-emerald-50 to-slate-50">
      <header className="flex items-center justify-between px-4 py-4 sm:px-8">
        <Logo />
        <LanguagePicker />
      </header>
      <main id="main" className="flex flex-1 items-start justify-center px-4 pb-16 pt-4 sm:pt-12">
        <div className="w-full max-w-md">
          <div className="rounded-2xl border border-slate-200 bg-white p-6 shadow-sm sm:p-8">
            <h1 className="text-xl font-semibold text-slate-900">{title}</h1>
            {subtitle ? <div className="mt-1 text-sm text-slate-600">{subtitle}</div> : null}
            <div className="mt-6">{children}</div>
          </div>
          {footer ? <div className="mt-4 text-center text-sm text-slate-600">{footer}</div> : null}
        </div>
      </main>
    </div>
  );
}

/** The end of an auth card's form: the form-level error (unless fields show theirs) and a full-width submit. */
export function AuthSubmit({
  error,
  fieldErrors,
  pending,
  label,
  pendingLabel,
}: {
  error: unknown;
  fieldErrors: Record<string, string>;
  pending: boolean;
  label: string;
  pendingLabel?: string;
}) {
  return (
    <>
      <FormError error={error} fieldErrors={fieldErrors} />
      <Button type="submit" className="w-full" disabled={pending}>
        {pending && pendingLabel ? pendingLabel : label}
      </Button>
    </>
  );
}

/** A step that is over (done, failed, closed): what happened, and a link onwards. */
export function AuthOutcome({
  children,
  to,
  linkLabel,
  testId,
}: {
  children: ReactNode;
  to: string;
  linkLabel: string;
  testId?: string;
}) {
  return (
    <div className="space-y-4" data-testid={testId}>
      {children}
      <TextLink to={to} className="inline-block">
        {linkLabel}
      </TextLink>
    </div>
  );
}

function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}

type LoginResult = User | { twoFactorRequired: true; challengeToken: string };

/** The second sign-in step: a code from the authenticator app, or a recovery code. */
function TwoFactorStep({
  challenge,
  onSignedIn,
  onExpired,
}: {
  challenge: string;
  onSignedIn: (u: User) => void;
  onExpired: () => void;
}) {
  const { t } = useTranslation();
  const [code, setCode] = useState("");
  const [useRecovery, setUseRecovery] = useState(false);
  const fe = useFieldErrors();
  const codeRef = useRef<HTMLInputElement>(null);
  const second = useMutation({
    mutationFn: (body: { challengeToken: string; code?: string; recoveryCode?: string }) =>
      api<User>("/auth/login/2fa", { method: "POST", body }),
    onSuccess: (u) => onSignedIn(u),
    onError: (e) => {
      if (!fe.fromServer(e) && e instanceof ApiError && e.code.includes("challenge")) onExpired();
    },
  });
  useEffect(() => {
    codeRef.current?.focus();
  }, []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = code.replace(/\s+/g, "");
    if (!useRecovery && !/^\d{6}$/.test(trimmed)) {
      fe.setErrors({ code: t("validation.code") });
      return;
    }
    if (useRecovery && trimmed.length < 6) {
      fe.setErrors({ recoveryCode: t("validation.required") });
      return;
    }
    fe.clear();
    second.mutate(
      useRecovery ? { challengeToken: challenge, recoveryCode: trimmed } : { challengeToken: challenge, code: trimmed },
    );
  };
  const name = useRecovery ? "recoveryCode" : "code";
  return (
    <form {...fe.formProps} onSubmit={submit} noValidate className="space-y-4" aria-labelledby="twofa-title">
      <div>
        <h2 id="twofa-title" className="text-base font-semibold text-slate-900">
          {t("auth.twoFactorTitle")}
        </h2>
        <p className="text-sm text-slate-600">{t("auth.twoFactorSubtitle")}</p>
      </div>
      <CodeField
        ref={codeRef}
        recovery={useRecovery}
        name={name}
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={fe.errors[name]}
      />
      <AuthSubmit
        error={second.error}
        fieldErrors={fe.errors}
        pending={second.isPending}
        label={t("auth.verify")}
        pendingLabel={t("auth.signingIn")}
      />
      <button
        type="button"
        className="text-sm font-medium text-emerald-700 hover:underline"
        onClick={() => {
          setUseRecovery(!useRecovery);
          setCode("");
          fe.clear();
        }}
      >
        {useRecovery ? t("auth.useCode") : t("auth.useRecovery")}
      </button>
    </form>
  );
}

/** Email + password, then the 2FA step when the account has it. Used by the sign-in and invitation pages. */
export function SignInForm({ onSignedIn, fixedEmail }: { onSignedIn: (u: User) => void; fixedEmail?: string }) {
  const { t } = useTranslation();
  const form = useFormFields({ email: fixedEmail ?? "", password: "" });
  const [challenge, setChallenge] = useState<string | null>(null);
  const login = useMutation({
    mutationFn: (body: z.output<typeof loginBody>) => api<LoginResult>("/auth/login", { method: "POST", body }),
    onSuccess: (r) => {
      if ("twoFactorRequired" in r) {
        setChallenge(r.challengeToken);
        form.clear();
      } else onSignedIn(r);
    },
    onError: (e) => form.fromServer(e),
  });

  if (challenge)
    return <TwoFactorStep challenge={challenge} onSignedIn={onSignedIn} onExpired={() => setChallenge(null)} />;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(loginBody, form.values);
    form.setErrors(v.errors);
    if (v.data) login.mutate(v.data);
  };
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <TextField
        label={t("auth.email")}
        type="email"
        autoComplete="email"
        readOnly={Boolean(fixedEmail)}
        {...form.field("email")}
      />
      <PasswordField kind="current" label={t("auth.password")} {...form.field("password")} />
      <AuthSubmit
        error={login.error}
        fieldErrors={form.errors}
        pending={login.isPending}
        label={t("auth.signIn")}
        pendingLabel={t("auth.signingIn")}
      />
    </form>
  );
}

export function SignInPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const next = params.get("next");
  return (
    <AuthFrame
      title={t("auth.signInTitle")}
      subtitle={t("auth.signInSubtitle")}
      footer={
        <>
          {t("auth.noAccount")}{" "}
          <TextLink to={`/signup${next ? `?next=${encodeURIComponent(next)}` : ""}`}>{t("auth.signUp")}</TextLink>
        </>
      }
    >
      <SignInForm
        onSignedIn={(u) => {
          qc.clear();
          qc.setQueryData(qk.me, adoptLanguage(u));
          navigate(safeNext(next), { replace: true });
        }}
      />
      <p className="mt-4 text-center text-sm">
        <TextLink to="/forgot-password">{t("auth.forgot")}</TextLink>
      </p>
    </AuthFrame>
  );
}

/** Where a new account goes once its emailed link signs it in (the link may open in a new tab). */
const AFTER_VERIFY_KEY = "chorus.afterVerify";

export function SignUpPage() {
  const { t, i18n } = useTranslation();
  const [params] = useSearchParams();
  const form = useFormFields({ firstName: "", lastName: "", email: "", password: "" });
  // Sign-up answers alike whether the email is new or registered, and does not sign in:
  // the emailed link does (audit finding 17).
  const signup = useMutation({
    mutationFn: (body: z.output<typeof signupBody>) => api("/auth/signup", { method: "POST", body }),
    onSuccess: () => {
      try {
        localStorage.setItem(AFTER_VERIFY_KEY, safeNext(params.get("next") ?? "/orgs/new"));
      } catch {
        // Storage off: the link still signs in and lands on the home page.
      }
    },
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(signupBody, { ...form.values, language: i18n.language === "es" ? "es" : "en" });
    form.setErrors(v.errors);
    if (v.data) signup.mutate(v.data);
  };
  if (signup.isSuccess) {
    return (
      <AuthFrame
        title={t("auth.checkEmailTitle")}
        footer={
          <>
            {t("auth.haveAccount")} <TextLink to="/signin">{t("auth.signIn")}</TextLink>
          </>
        }
      >
        <div className="space-y-3">
          <Notice tone="success">{t("auth.checkEmail", { email: form.values.email.trim().toLowerCase() })}</Notice>
          <p className="text-sm text-slate-600">{t("auth.checkEmailHint")}</p>
        </div>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame
      title={t("auth.signUpTitle")}
      subtitle={t("auth.signUpSubtitle")}
      footer={
        <>
          {t("auth.haveAccount")} <TextLink to="/signin">{t("auth.signIn")}</TextLink>
        </>
      }
    >
      <form onSubmit={submit} noValidate className="space-y-4">
        <NameFields first={form.field("firstName")} last={form.field("lastName")} personal />
        <TextField label={t("auth.email")} type="email" autoComplete="email" {...form.field("email")} />
        <PasswordField kind="new" label={t("auth.password")} {...form.field("password")} />
        <AuthSubmit
          error={signup.error}
          fieldErrors={form.errors}
          pending={signup.isPending}
          label={t("auth.signUp")}
          pendingLabel={t("auth.signingUp")}
        />
      </form>
    </AuthFrame>
  );
}

export function ForgotPasswordPage() {
  const { t } = useTranslation();
  const form = useFormFields({ email: "" });
  const m = useMutation({
    mutationFn: (body: { email: string }) => api("/auth/password/forgot", { method: "POST", body }),
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(z.object({ email: emailSchema }), form.values);
    form.setErrors(v.errors);
    if (v.data) m.mutate(v.data);
  };
  return (
    <AuthFrame
      title={t("auth.forgotTitle")}
      subtitle={t("auth.forgotSubtitle")}
      footer={<TextLink to="/signin">{t("auth.backToSignIn")}</TextLink>}
    >
      {m.isSuccess ? (
        <Notice tone="success">{t("auth.forgotSent", { email: form.values.email })}</Notice>
      ) : (
        <form onSubmit={submit} noValidate className="space-y-4">
          <TextField label={t("auth.email")} type="email" autoComplete="email" {...form.field("email")} />
          <AuthSubmit error={m.error} fieldErrors={form.errors} pending={m.isPending} label={t("auth.sendLink")} />
        </form>
      )}
    </AuthFrame>
  );
}

export function ResetPasswordPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const form = useFormFields({ password: "", confirm: "" });
  const m = useMutation({
    mutationFn: (body: { token: string; password: string }) => api("/auth/password/reset", { method: "POST", body }),
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { password, confirm } = form.values;
    const v = validate(z.object({ password: passwordSchema }), { password });
    const errors = { ...v.errors };
    if (!errors.password && password !== confirm) errors.confirm = t("validation.mismatch");
    form.setErrors(errors);
    if (v.data && !errors.confirm) m.mutate({ token, password });
  };
  return (
    <AuthFrame title={t("auth.resetTitle")}>
      {!token ? (
        <Notice tone="warning">{t("auth.missingToken")}</Notice>
      ) : m.isSuccess ? (
        <AuthOutcome to="/signin" linkLabel={t("auth.backToSignIn")}>
          <Notice tone="success">{t("auth.resetDone")}</Notice>
        </AuthOutcome>
      ) : (
        <form onSubmit={submit} noValidate className="space-y-4">
          <PasswordField kind="new" label={t("auth.newPassword")} {...form.field("password")} />
          <PasswordField kind="confirm" label={t("auth.confirmPassword")} {...form.field("confirm")} />
          <AuthSubmit error={m.error} fieldErrors={form.errors} pending={m.isPending} label={t("auth.resetSubmit")} />
        </form>
      )}
    </AuthFrame>
  );
}

export function VerifyEmailPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = params.get("token") ?? "";
  const qc = useQueryClient();
  // The link signs in the browser that signed up (not an account with 2FA, which signs in with its
  // code, nor another browser, which signs in with the password) and continues where a new
  // account goes: what the sign-up page remembered, else home.
  const m = useMutation({
    mutationFn: () => api<User & { signedIn: boolean }>("/auth/verify-email", { method: "POST", body: { token } }),
    onSuccess: (u) => {
      if (!u.signedIn) return void qc.invalidateQueries({ queryKey: qk.me });
      qc.clear();
      qc.setQueryData(qk.me, adoptLanguage(u));
      let next: string | null = null;
      try {
        next = localStorage.getItem(AFTER_VERIFY_KEY);
        localStorage.removeItem(AFTER_VERIFY_KEY);
      } catch {
        // Storage off: home.
      }
      navigate(safeNext(next), { replace: true });
    },
  });
  // A used link: when this browser is signed in to an account already verified, that is what to say.
  const me = useMe();
  const alreadyVerified =
    m.isError &&
    ((m.error instanceof ApiError && m.error.code === "email_already_verified") || Boolean(me.data?.emailVerified));
  const started = useRef(false);
  useEffect(() => {
    if (token && !started.current) {
      started.current = true;
      m.mutate();
    }
  }, [token, m]);
  return (
    <AuthFrame title={t("auth.verifyTitle")}>
      {!token ? (
        <Notice tone="warning">{t("auth.missingToken")}</Notice>
      ) : m.isPending || m.isIdle || (m.isSuccess && m.data.signedIn) ? (
        <Spinner label={t("auth.verifying")} />
      ) : m.isSuccess ? (
        <AuthOutcome to="/signin" linkLabel={t("auth.signIn")}>
          <Notice tone="success">{t("auth.verifiedSignIn")}</Notice>
        </AuthOutcome>
      ) : alreadyVerified ? (
        <AuthOutcome to="/" linkLabel={t("auth.continueToApp")}>
          <Notice tone="success">{t("auth.alreadyVerified")}</Notice>
        </AuthOutcome>
      ) : (
        <AuthOutcome to="/" linkLabel={t("auth.continueToApp")}>
          <Notice tone="warning">
            {m.error instanceof ApiError && m.error.status === 0 ? t("common.networkError") : t("auth.verifyFailed")}
          </Notice>
        </AuthOutcome>
      )}
    </AuthFrame>
  );
}
