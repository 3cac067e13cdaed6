import * as Tabs from "@radix-ui/react-tabs";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { NOTIFICATION_KINDS } from "../../shared/notifications.js";
import { nameSchema, passwordSchema } from "../../shared/schemas/common.js";
import { phoneSchema, pictureUrlSchema } from "../../shared/schemas/me.js";
import { QueryView, TabList, useTabParam } from "../components/data.js";
import { Checkbox, CodeField, NameFields, PasswordField, SelectField, TextField } from "../components/fields.js";
import {
  Avatar,
  Button,
  buttonClass,
  Card,
  Chip,
  ErrorState,
  FormError,
  Notice,
  PageHeader,
  SaveRow,
  Spinner,
  toast,
} from "../components/ui.js";
import { api, itemsOf } from "../lib/api.js";
import { useFieldErrors, useFormFields, validate } from "../lib/forms.js";
import { formatDate, LANGUAGES, setLanguage } from "../lib/i18n.js";
import { describeError, describeUserAgent } from "../lib/problems.js";
import { qk, useMe } from "../lib/session.js";
import type { LoginAttempt, Session, User } from "../lib/types.js";
import { LoginAttemptsTable } from "./settings/ActivityPage.js";

// The server's own field schemas; an empty field clears the value.
const profileBody = z.object({
  firstName: nameSchema,
  lastName: nameSchema,
  pictureUrl: z.union([z.literal(""), pictureUrlSchema]),
  phone: z.union([z.literal(""), phoneSchema]),
});

function ProfileTab({ user }: { user: User }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const form = useFormFields({
    firstName: user.firstName,
    lastName: user.lastName,
    pictureUrl: user.pictureUrl ?? "",
    phone: user.phone ?? "",
  });
  const [prefs, setPrefs] = useState<Record<string, { email?: boolean; inApp?: boolean }>>(
    user.notificationPreferences ?? {},
  );
  const patch = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<User>("/me", { method: "PATCH", body }),
    onSuccess: (u) => {
      if (u && typeof u === "object" && "id" in u)
        qc.setQueryData(qk.me, (old: User | undefined) => ({ ...old, ...u }));
      else void qc.invalidateQueries({ queryKey: qk.me });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(profileBody, form.values);
    form.setErrors(v.errors);
    if (v.data)
      patch.mutate(
        {
          ...v.data,
          pictureUrl: v.data.pictureUrl || null,
          phone: v.data.phone || null,
          notificationPreferences: prefs,
        },
        { onSuccess: () => toast(t("common.saved")), onError: (err) => form.fromServer(err) },
      );
  };
  const changeLanguage = (lng: string) => {
    setLanguage(lng); // the interface switches at once; the server keeps it for emails and other devices
    patch.mutate({ language: lng });
  };
  return (
    <div className="space-y-6">
      <Card title={t("profile.language")} description={t("profile.languageHelp")}>
        <SelectField
          label={t("profile.language")}
          name="language"
          className="max-w-xs"
          value={i18n.language}
          onChange={(e) => changeLanguage(e.target.value)}
        >
          {LANGUAGES.map((l) => (
            <option key={l} value={l} lang={l}>
              {t(`languages.${l}`)}
            </option>
          ))}
        </SelectField>
      </Card>
      <form onSubmit={submit} noValidate className="space-y-6">
        <Card title={t("profile.tabProfile")}>
          <div className="mb-4 flex items-center gap-4">
            <Avatar
              name={`${form.values.firstName} ${form.values.lastName}`}
              url={form.values.pictureUrl || null}
              size={16}
            />
            <p className="text-sm text-slate-600">{user.email}</p>
          </div>
          <div className="space-y-4">
            <NameFields first={form.field("firstName")} last={form.field("lastName")} personal />
            <div className="grid gap-4 sm:grid-cols-2">
              <TextField label={t("profile.picture")} type="url" {...form.field("pictureUrl")} />
              <TextField
                label={t("profile.phone")}
                type="tel"
                autoComplete="tel"
                help={t("profile.phoneHelp")}
                {...form.field("phone")}
              />
            </div>
          </div>
        </Card>
        <Card title={t("profile.notifications")} description={t("profile.notificationsHelp")}>
          <table className="w-full text-sm">
            <thead>
              <tr className="text-left text-xs uppercase tracking-wide text-slate-500">
                <th scope="col" className="py-2 font-medium">
                  <span className="sr-only">{t("profile.notifications")}</span>
                </th>
                <th scope="col" className="w-20 py-2 text-center font-medium">
                  {t("profile.channelEmail")}
                </th>
                <th scope="col" className="w-20 py-2 text-center font-medium">
                  {t("profile.channelInApp")}
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {NOTIFICATION_KINDS.map((kind) => {
                const k = kind.key;
                const label = t(`profile.events.${k}.label`);
                const p = prefs[k] ?? kind.defaults;
                return (
                  <tr key={k}>
                    <th scope="row" className="py-2 pr-3 text-left font-normal">
                      <span className="block text-slate-800">{label}</span>
                      <span className="block text-xs text-slate-500">{t(`profile.events.${k}.description`)}</span>
                    </th>
                    {(["email", "inApp"] as const).map((ch) => (
                      <td key={ch} className="py-2">
                        <div className="flex justify-center">
                          <Checkbox
                            checked={p[ch] !== false}
                            disabled={ch === "email" && kind.emailRequired}
                            onCheckedChange={(v) => setPrefs({ ...prefs, [k]: { ...p, [ch]: v } })}
                            label={
                              <span className="sr-only">{`${label}: ${ch === "email" ? t("profile.channelEmail") : t("profile.channelInApp")}`}</span>
                            }
                          />
                        </div>
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Card>
        <SaveRow error={patch.error} fieldErrors={form.errors} pending={patch.isPending} />
      </form>
    </div>
  );
}

function PasswordCard() {
  const { t } = useTranslation();
  const form = useFormFields({ currentPassword: "", newPassword: "", confirm: "" });
  const m = useMutation({
    mutationFn: (body: { currentPassword: string; newPassword: string }) =>
      api("/me/password", { method: "POST", body }),
    onSuccess: () => {
      toast(t("profile.passwordChanged"));
      form.setValues({ currentPassword: "", newPassword: "", confirm: "" });
    },
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(z.object({ currentPassword: z.string().min(1), newPassword: passwordSchema }), form.values);
    const errors = { ...v.errors };
    if (!errors.newPassword && form.values.newPassword !== form.values.confirm)
      errors.confirm = t("validation.mismatch");
    form.setErrors(errors);
    if (v.data && !errors.confirm) m.mutate(v.data);
  };
  return (
    <Card title={t("profile.passwordTitle")} description={t("profile.passwordHelp")}>
      <form onSubmit={submit} noValidate className="grid gap-4 sm:max-w-md">
        <PasswordField kind="current" label={t("profile.currentPassword")} {...form.field("currentPassword")} />
        <PasswordField kind="new" label={t("auth.newPassword")} {...form.field("newPassword")} />
        <PasswordField kind="confirm" label={t("auth.confirmPassword")} {...form.field("confirm")} />
        <SaveRow
          align="start"
          error={m.error}
          fieldErrors={form.errors}
          pending={m.isPending}
          label={t("profile.passwordTitle")}
        />
      </form>
    </Card>
  );
}

interface TotpSetup {
  secret: string;
  otpauthUrl?: string;
  otpauthUri?: string;
  qrSvg?: string;
  qrCodeSvg?: string;
  qr?: string;
}

function RecoveryCodes({ codes }: { codes: string[] }) {
  const { t } = useTranslation();
  // A text file of the codes, made in the browser (the codes are never sent anywhere again).
  const download = useMemo(
    () => `data:text/plain;charset=utf-8,${encodeURIComponent(`${codes.join("\n")}\n`)}`,
    [codes],
  );
  return (
    <div className="rounded-xl border border-amber-200 bg-amber-50 p-4" data-testid="recovery-codes">
      <h3 className="text-sm font-semibold text-amber-900">{t("profile.recoveryTitle")}</h3>
      <p className="mt-1 text-xs text-amber-900/80">{t("profile.recoveryHelp")}</p>
      <ul className="mt-3 grid grid-cols-2 gap-1 font-mono text-sm sm:grid-cols-5">
        {codes.map((c) => (
          <li key={c} className="rounded bg-white px-2 py-1 text-center">
            {c}
          </li>
        ))}
      </ul>
      <div className="mt-3 flex flex-wrap gap-2">
        <Button
          variant="secondary"
          size="sm"
          onClick={() => void navigator.clipboard?.writeText(codes.join("\n")).then(() => toast(t("common.copied")))}
        >
          {t("common.copy")}
        </Button>
        <a href={download} download="chorus-recovery-codes.txt" className={buttonClass("secondary", "sm")}>
          {t("profile.downloadCodes")}
        </a>
      </div>
    </div>
  );
}

function TwoFactorCard({ user }: { user: User }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [codes, setCodes] = useState<string[] | null>(null);
  const [disabling, setDisabling] = useState(false);
  const [disable, setDisable] = useState({ password: "", code: "" });
  const fe = useFieldErrors();
  const start = useMutation({
    mutationFn: () => api<TotpSetup>("/me/2fa/totp/setup", { method: "POST", body: {} }),
    onSuccess: (s) => {
      setSetup(s);
      setCode("");
      setPassword("");
      fe.clear();
    },
  });
  const enable = useMutation({
    mutationFn: (body: { password: string; code: string }) =>
      api<{ recoveryCodes?: string[] }>("/me/2fa/totp/enable", { method: "POST", body }),
    onSuccess: (r) => {
      setSetup(null);
      setPassword("");
      setCodes(r?.recoveryCodes ?? null);
      toast(t("profile.enabled"));
      void qc.invalidateQueries({ queryKey: qk.me });
    },
    onError: (e) => fe.fromServer(e),
  });
  const regen = useMutation({
    mutationFn: (c: string) =>
      api<{ recoveryCodes?: string[] }>("/me/2fa/recovery-codes", { method: "POST", body: { code: c } }),
    onSuccess: (r) => {
      setCodes(r?.recoveryCodes ?? null);
      setRegenerating(false);
      setRegenCode("");
    },
    onError: (e) => fe.fromServer(e),
  });
  const [regenerating, setRegenerating] = useState(false);
  const [regenCode, setRegenCode] = useState("");
  const off = useMutation({
    mutationFn: (body: { password: string; code: string }) => api("/me/2fa/disable", { method: "POST", body }),
    onSuccess: () => {
      setDisabling(false);
      setCodes(null);
      toast(t("profile.disabled"));
      void qc.invalidateQueries({ queryKey: qk.me });
    },
    onError: (e) => fe.fromServer(e),
  });
  const svg = setup?.qrSvg ?? setup?.qrCodeSvg ?? setup?.qr;
  return (
    <Card title={t("profile.twoFactorTitle")}>
      <div className="space-y-4">
        {user.twoFactorEnabled ? (
          <>
            <Notice tone="success">{t("profile.twoFactorOn")}</Notice>
            {codes ? <RecoveryCodes codes={codes} /> : null}
            <div className="flex flex-wrap gap-2">
              <Button
                variant="secondary"
                aria-expanded={regenerating}
                onClick={() => {
                  setRegenerating(!regenerating);
                  setDisabling(false);
                  fe.clear();
                }}
              >
                {t("profile.regenerate")}
              </Button>
              <Button
                variant="ghost"
                className="text-red-700"
                onClick={() => {
                  setDisabling(!disabling);
                  setRegenerating(false);
                  fe.clear();
                }}
              >
                {t("profile.disable")}
              </Button>
            </div>
            {regenerating ? (
              <form
                {...fe.formProps}
                noValidate
                className="grid gap-3 rounded-xl border border-slate-200 p-4 sm:max-w-md"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (regenCode.trim().length < 6) {
                    fe.setErrors({ code: t("validation.code") });
                    return;
                  }
                  fe.clear();
                  regen.mutate(regenCode.trim());
                }}
              >
                <p className="text-xs text-slate-500">{t("profile.regenerateHelp")}</p>
                <CodeField value={regenCode} onChange={(e) => setRegenCode(e.target.value)} error={fe.errors.code} />
                <SaveRow
                  align="start"
                  error={regen.error}
                  fieldErrors={fe.errors}
                  pending={regen.isPending}
                  label={t("profile.regenerate")}
                />
              </form>
            ) : null}
            {disabling ? (
              <form
                {...fe.formProps}
                noValidate
                className="grid gap-3 rounded-xl border border-slate-200 p-4 sm:max-w-md"
                onSubmit={(e) => {
                  e.preventDefault();
                  const errors: Record<string, string> = {};
                  if (!disable.password) errors.password = t("validation.required");
                  if (!/^\d{6}$/.test(disable.code)) errors.code = t("validation.code");
                  fe.setErrors(errors);
                  if (!Object.keys(errors).length) off.mutate(disable);
                }}
              >
                <p className="text-sm font-medium text-slate-800">{t("profile.disableTitle")}</p>
                <p className="text-xs text-slate-500">{t("profile.disableHelp")}</p>
                <PasswordField
                  kind="current"
                  label={t("profile.currentPassword")}
                  value={disable.password}
                  onChange={(e) => setDisable({ ...disable, password: e.target.value })}
                  error={fe.errors.password}
                />
                <CodeField
                  value={disable.code}
                  onChange={(e) => setDisable({ ...disable, code: e.target.value.trim() })}
                  error={fe.errors.code}
                />
                <SaveRow
                  align="start"
                  error={off.error}
                  fieldErrors={fe.errors}
                  pending={off.isPending}
                  label={t("profile.disable")}
                  danger
                />
              </form>
            ) : null}
          </>
        ) : setup ? (
          <div className="grid gap-6 md:grid-cols-[auto_1fr]">
            <div className="flex flex-col items-center gap-2">
              {svg ? (
                <img
                  src={
                    svg.trim().startsWith("<svg") ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` : svg
                  }
                  alt="QR code"
                  className="size-48 rounded-lg border border-slate-200 bg-white p-2"
                />
              ) : null}
            </div>
            <form
              {...fe.formProps}
              noValidate
              className="space-y-3"
              onSubmit={(e) => {
                e.preventDefault();
                const errors: Record<string, string> = {};
                if (!password) errors.password = t("validation.required");
                if (!/^\d{6}$/.test(code)) errors.code = t("validation.code");
                fe.setErrors(errors);
                if (!Object.keys(errors).length) enable.mutate({ password, code });
              }}
            >
              <p className="text-sm text-slate-600">{t("profile.scan")}</p>
              <div>
                <p className="text-xs font-medium uppercase tracking-wide text-slate-500">{t("profile.secret")}</p>
                <code
                  data-testid="totp-secret"
                  className="mt-1 block break-all rounded bg-slate-100 px-2 py-1 font-mono text-sm"
                >
                  {setup.secret}
                </code>
              </div>
              <CodeField
                label={t("profile.enterCode")}
                name="code"
                value={code}
                onChange={(e) => setCode(e.target.value.trim())}
                error={fe.errors.code}
              />
              <p className="text-xs text-slate-500">{t("profile.enableHelp")}</p>
              <PasswordField
                kind="current"
                label={t("profile.enablePassword")}
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                error={fe.errors.password}
              />
              <FormError error={enable.error} fieldErrors={fe.errors} />
              <div className="flex gap-2">
                <Button type="submit" disabled={enable.isPending}>
                  {t("profile.enable")}
                </Button>
                <Button variant="ghost" onClick={() => setSetup(null)}>
                  {t("common.cancel")}
                </Button>
              </div>
            </form>
          </div>
        ) : (
          <>
            {codes ? <RecoveryCodes codes={codes} /> : null}
            <p className="text-sm text-slate-600">{t("profile.twoFactorOff")}</p>
            <FormError error={start.error} />
            <Button onClick={() => start.mutate()} disabled={start.isPending}>
              {t("profile.setup")}
            </Button>
          </>
        )}
      </div>
    </Card>
  );
}

function SessionsTab() {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ["me", "sessions"],
    queryFn: async () => itemsOf<Session>(await api("/me/sessions")),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/me/sessions/${id}`, { method: "DELETE" }),
    onSuccess: () => {
      toast(t("profile.sessionRevoked"));
      void qc.invalidateQueries({ queryKey: ["me", "sessions"] });
    },
    onError: (e) => toast(describeError(e), "error"),
  });
  const revokeOthers = useMutation({
    mutationFn: () => api("/me/sessions", { method: "DELETE" }),
    onSuccess: () => {
      toast(t("profile.sessionRevoked"));
      void qc.invalidateQueries({ queryKey: ["me", "sessions"] });
    },
    onError: (e) => toast(describeError(e), "error"),
  });
  if (q.isPending) return <Spinner />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const others = q.data.filter((s) => !s.current);
  return (
    <Card
      title={t("profile.sessionsTitle")}
      description={t("profile.sessionsHelp")}
      actions={
        others.length ? (
          <Button variant="secondary" size="sm" onClick={() => revokeOthers.mutate()}>
            {t("profile.revokeOthers")}
          </Button>
        ) : null
      }
    >
      <ul className="divide-y divide-slate-100">
        {q.data.map((s) => (
          <li
            key={s.id}
            className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between"
            data-testid="session-row"
          >
            <div className="min-w-0 text-sm">
              <p className="flex flex-wrap items-center gap-2 font-medium text-slate-900">
                <span className="truncate" title={s.userAgent ?? undefined}>
                  {s.device ?? (s.userAgent ? describeUserAgent(s.userAgent) : t("profile.unknownDevice"))}
                </span>
                {s.current ? <Chip tone="emerald">{t("profile.thisDevice")}</Chip> : null}
              </p>
              <p className="break-words text-xs text-slate-600">
                {s.ip ?? ""} · {t("profile.signedInAt", { date: formatDate(s.createdAt) })}
                {s.lastUsedAt ? ` · ${t("profile.lastUsed", { date: formatDate(s.lastUsedAt) })}` : ""}
              </p>
            </div>
            {!s.current ? (
              <Button
                variant="secondary"
                size="sm"
                onClick={() => revoke.mutate(s.id)}
                disabled={revoke.isPending && revoke.variables === s.id}
              >
                {t("profile.revoke")}
              </Button>
            ) : null}
          </li>
        ))}
      </ul>
    </Card>
  );
}

function LoginsTab() {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ["me", "login-activity"],
    queryFn: async () => itemsOf<LoginAttempt>(await api("/me/login-activity")),
  });
  return (
    <Card title={t("profile.loginsTitle")}>
      <QueryView query={q}>{(items) => <LoginAttemptsTable items={items} />}</QueryView>
    </Card>
  );
}

export function ProfilePage() {
  const { t } = useTranslation();
  const me = useMe();
  const [tab, setTab] = useTabParam("profile");
  const [user, setUser] = useState<User | null>(null);
  useEffect(() => {
    if (me.data) setUser(me.data);
  }, [me.data]);
  if (me.isPending) return <Spinner />;
  if (me.error || !me.data) return <ErrorState error={me.error} onRetry={() => void me.refetch()} />;
  return (
    <div>
      <PageHeader title={t("profile.title")} subtitle={t("profile.subtitle")} />
      <Tabs.Root value={tab} onValueChange={setTab}>
        <TabList
          label={t("profile.title")}
          tabs={(["profile", "security", "sessions", "logins"] as const).map((v) => ({
            value: v,
            label: t(`profile.tab${v[0]!.toUpperCase()}${v.slice(1)}`),
          }))}
        />
        <Tabs.Content value="profile">{user ? <ProfileTab key={user.id} user={user} /> : null}</Tabs.Content>
        <Tabs.Content value="security" className="space-y-6">
          <TwoFactorCard user={me.data} />
          <PasswordCard />
        </Tabs.Content>
        <Tabs.Content value="sessions">
          <SessionsTab />
        </Tabs.Content>
        <Tabs.Content value="logins">
          <LoginsTab />
        </Tabs.Content>
      </Tabs.Root>
    </div>
  );
}
