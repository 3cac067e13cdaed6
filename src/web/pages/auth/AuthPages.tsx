import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { z } from "zod";
import { loginBody, signupBody } from "../../../shared/schemas/auth.js";
import { emailSchema, passwordSchema } from "../../../shared/schemas/common.js";
import { Button, cx, FormError, Notice, Spinner, TextField } from "../../components/ui.js";
import { ApiError, api } from "../../lib/api.js";
import { useFieldErrors, validate } from "../../lib/forms.js";
import { LANGUAGES, setLanguage } from "../../lib/i18n.js";
import { qk } from "../../lib/session.js";
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
          onClick={() => setLanguage(l)}
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
  const { t } = useTranslation();
  return (
    <div className="flex min-h-dvh flex-col bg-gradient-to-b from-emerald-50 to-slate-50">
      <div className="flex items-center justify-between px-4 py-4 sm:px-8">
        <Link to="/" className="flex items-center gap-2 font-semibold text-slate-900">
          <span
            aria-hidden="true"
            className="inline-flex size-8 items-center justify-center rounded-lg bg-emerald-600 text-white"
          >
            ✦
          </span>
          {t("app.name")}
        </Link>
        <LanguagePicker />
      </div>
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

function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}

type LoginResult = User | { twoFactorRequired: true; challengeToken: string };

/** Email + password, then the 2FA step when the account has it. Used by the sign-in and invitation pages. */
export function SignInForm({ onSignedIn, fixedEmail }: { onSignedIn: (u: User) => void; fixedEmail?: string }) {
  const { t } = useTranslation();
  const [email, setEmail] = useState(fixedEmail ?? "");
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [useRecovery, setUseRecovery] = useState(false);
  const fe = useFieldErrors();
  const codeRef = useRef<HTMLInputElement>(null);

  const login = useMutation({
    mutationFn: (body: z.output<typeof loginBody>) => api<LoginResult>("/auth/login", { method: "POST", body }),
    onSuccess: (r) => {
      if ("twoFactorRequired" in r) {
        setChallenge(r.challengeToken);
        fe.clear();
      } else onSignedIn(r);
    },
    onError: (e) => fe.fromServer(e),
  });
  const second = useMutation({
    mutationFn: (body: { challengeToken: string; code?: string; recoveryCode?: string }) =>
      api<User>("/auth/login/2fa", { method: "POST", body }),
    onSuccess: (u) => onSignedIn(u),
    onError: (e) => {
      if (!fe.fromServer(e) && e instanceof ApiError && e.code.includes("challenge")) setChallenge(null);
    },
  });

  useEffect(() => {
    if (challenge) codeRef.current?.focus();
  }, [challenge]);

  if (challenge) {
    const submit2fa = (e: FormEvent) => {
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
        useRecovery
          ? { challengeToken: challenge, recoveryCode: trimmed }
          : { challengeToken: challenge, code: trimmed },
      );
    };
    return (
      <form onSubmit={submit2fa} noValidate className="space-y-4" aria-labelledby="twofa-title">
        <div>
          <h2 id="twofa-title" className="text-base font-semibold text-slate-900">
            {t("auth.twoFactorTitle")}
          </h2>
          <p className="text-sm text-slate-600">{t("auth.twoFactorSubtitle")}</p>
        </div>
        <TextField
          ref={codeRef}
          label={useRecovery ? t("auth.recoveryCode") : t("auth.code")}
          name={useRecovery ? "recoveryCode" : "code"}
          inputMode={useRecovery ? "text" : "numeric"}
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          error={fe.errors[useRecovery ? "recoveryCode" : "code"]}
        />
        <FormError error={second.error && !Object.keys(fe.errors).length ? second.error : null} />
        <Button type="submit" className="w-full" disabled={second.isPending}>
          {second.isPending ? t("auth.signingIn") : t("auth.verify")}
        </Button>
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

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(loginBody, { email, password });
    fe.setErrors(v.errors);
    if (v.data) login.mutate(v.data);
  };
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <TextField
        label={t("auth.email")}
        name="email"
        type="email"
        autoComplete="email"
        value={email}
        readOnly={Boolean(fixedEmail)}
        onChange={(e) => setEmail(e.target.value)}
        error={fe.errors.email}
      />
      <TextField
        label={t("auth.password")}
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={fe.errors.password}
      />
      <FormError error={login.error && !Object.keys(fe.errors).length ? login.error : null} />
      <Button type="submit" className="w-full" disabled={login.isPending}>
        {login.isPending ? t("auth.signingIn") : t("auth.signIn")}
      </Button>
    </form>
  );
}

export function SignInPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  return (
    <AuthFrame
      title={t("auth.signInTitle")}
      subtitle={t("auth.signInSubtitle")}
      footer={
        <>
          {t("auth.noAccount")}{" "}
          <Link
            className="font-medium text-emerald-700 hover:underline"
            to={`/signup${params.get("next") ? `?next=${encodeURIComponent(params.get("next")!)}` : ""}`}
          >
            {t("auth.signUp")}
          </Link>
        </>
      }
    >
      <SignInForm
        onSignedIn={(u) => {
          qc.clear();
          qc.setQueryData(qk.me, u);
          if (u.language) setLanguage(u.language);
          navigate(safeNext(params.get("next")), { replace: true });
        }}
      />
      <p className="mt-4 text-center text-sm">
        <Link to="/forgot-password" className="font-medium text-emerald-700 hover:underline">
          {t("auth.forgot")}
        </Link>
      </p>
    </AuthFrame>
  );
}

export function SignUpPage() {
  const { t, i18n } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [form, setForm] = useState({ firstName: "", lastName: "", email: "", password: "" });
  const fe = useFieldErrors();
  const signup = useMutation({
    mutationFn: (body: z.output<typeof signupBody>) => api<User>("/auth/signup", { method: "POST", body }),
    onSuccess: (u) => {
      qc.clear();
      qc.setQueryData(qk.me, u);
      navigate(safeNext(params.get("next") ?? "/orgs/new"), { replace: true });
    },
    onError: (e) => fe.fromServer(e),
  });
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(signupBody, { ...form, language: i18n.language === "es" ? "es" : "en" });
    fe.setErrors(v.errors);
    if (v.data) signup.mutate(v.data);
  };
  return (
    <AuthFrame
      title={t("auth.signUpTitle")}
      subtitle={t("auth.signUpSubtitle")}
      footer={
        <>
          {t("auth.haveAccount")}{" "}
          <Link className="font-medium text-emerald-700 hover:underline" to="/signin">
            {t("auth.signIn")}
          </Link>
        </>
      }
    >
      <form onSubmit={submit} noValidate className="space-y-4">
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField
            label={t("auth.firstName")}
            name="firstName"
            autoComplete="given-name"
            value={form.firstName}
            onChange={set("firstName")}
            error={fe.errors.firstName}
          />
          <TextField
            label={t("auth.lastName")}
            name="lastName"
            autoComplete="family-name"
            value={form.lastName}
            onChange={set("lastName")}
            error={fe.errors.lastName}
          />
        </div>
        <TextField
          label={t("auth.email")}
          name="email"
          type="email"
          autoComplete="email"
          value={form.email}
          onChange={set("email")}
          error={fe.errors.email}
        />
        <TextField
          label={t("auth.password")}
          name="password"
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={set("password")}
          error={fe.errors.password}
          help={t("auth.passwordHint")}
        />
        <FormError error={signup.error && !Object.keys(fe.errors).length ? signup.error : null} />
        <Button type="submit" className="w-full" disabled={signup.isPending}>
          {signup.isPending ? t("auth.signingUp") : t("auth.signUp")}
        </Button>
      </form>
    </AuthFrame>
  );
}

export function ForgotPasswordPage() {
  const { t } = useTranslation();
  const [email, setEmail] = useState("");
  const fe = useFieldErrors();
  const m = useMutation({
    mutationFn: (body: { email: string }) => api("/auth/password/forgot", { method: "POST", body }),
    onError: (e) => fe.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(z.object({ email: emailSchema }), { email });
    fe.setErrors(v.errors);
    if (v.data) m.mutate(v.data);
  };
  return (
    <AuthFrame
      title={t("auth.forgotTitle")}
      subtitle={t("auth.forgotSubtitle")}
      footer={
        <Link className="font-medium text-emerald-700 hover:underline" to="/signin">
          {t("auth.backToSignIn")}
        </Link>
      }
    >
      {m.isSuccess ? (
        <Notice tone="success">{t("auth.forgotSent", { email })}</Notice>
      ) : (
        <form onSubmit={submit} noValidate className="space-y-4">
          <TextField
            label={t("auth.email")}
            name="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={fe.errors.email}
          />
          <FormError error={m.error && !Object.keys(fe.errors).length ? m.error : null} />
          <Button type="submit" className="w-full" disabled={m.isPending}>
            {t("auth.sendLink")}
          </Button>
        </form>
      )}
    </AuthFrame>
  );
}

export function ResetPasswordPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const fe = useFieldErrors();
  const m = useMutation({
    mutationFn: (body: { token: string; password: string }) => api("/auth/password/reset", { method: "POST", body }),
    onError: (e) => fe.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(z.object({ password: passwordSchema }), { password });
    const errors = { ...v.errors };
    if (!errors.password && password !== confirm) errors.confirm = t("validation.mismatch");
    fe.setErrors(errors);
    if (v.data && !errors.confirm) m.mutate({ token, password });
  };
  return (
    <AuthFrame title={t("auth.resetTitle")}>
      {!token ? (
        <Notice tone="warning">{t("auth.missingToken")}</Notice>
      ) : m.isSuccess ? (
        <div className="space-y-4">
          <Notice tone="success">{t("auth.resetDone")}</Notice>
          <Link to="/signin" className="inline-block font-medium text-emerald-700 hover:underline">
            {t("auth.backToSignIn")}
          </Link>
        </div>
      ) : (
        <form onSubmit={submit} noValidate className="space-y-4">
          <TextField
            label={t("auth.newPassword")}
            name="password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={fe.errors.password}
            help={t("auth.passwordHint")}
          />
          <TextField
            label={t("auth.confirmPassword")}
            name="confirm"
            type="password"
            autoComplete="new-password"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            error={fe.errors.confirm}
          />
          <FormError error={m.error && !Object.keys(fe.errors).length ? m.error : null} />
          <Button type="submit" className="w-full" disabled={m.isPending}>
            {t("auth.resetSubmit")}
          </Button>
        </form>
      )}
    </AuthFrame>
  );
}

export function VerifyEmailPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const qc = useQueryClient();
  const m = useMutation({
    mutationFn: () => api("/auth/verify-email", { method: "POST", body: { token } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: qk.me }),
  });
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
      ) : m.isPending || m.isIdle ? (
        <Spinner label={t("auth.verifying")} />
      ) : m.isSuccess ? (
        <div className="space-y-4">
          <Notice tone="success">{t("auth.verified")}</Notice>
          <Link to="/" className="inline-block font-medium text-emerald-700 hover:underline">
            {t("auth.continueToApp")}
          </Link>
        </div>
      ) : (
        <div className="space-y-4">
          <Notice tone="warning">
            {m.error instanceof ApiError && m.error.status === 0 ? t("common.networkError") : t("auth.verifyFailed")}
          </Notice>
          <Link to="/" className="inline-block font-medium text-emerald-700 hover:underline">
            {t("auth.continueToApp")}
          </Link>
        </div>
      )}
    </AuthFrame>
  );
}
