import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { z } from "zod";
import { Checkbox, CodeField, PasswordField, SelectField, TextField } from "../../components/fields.js";
import { Card, ErrorState, PageHeader, SaveRow, Spinner, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { useFieldErrors, useFormFields, validate } from "../../lib/forms.js";
import { LANGUAGES } from "../../lib/i18n.js";
import { LAST_ORG_KEY, qk, useMe } from "../../lib/session.js";
import type { Org } from "../../lib/types.js";

const orgBody = z.object({
  name: z.string().trim().min(1).max(100),
  logoUrl: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]),
  defaultLanguage: z.enum(LANGUAGES),
  timezone: z.string().min(1),
  requireTwoFactor: z.boolean(),
});

export function OrganizationPage() {
  const { t } = useTranslation();
  const { orgId, me } = useOrgContext();
  const qc = useQueryClient();
  const org = useQuery({ queryKey: qk.org(orgId), queryFn: () => api<Org>(`/orgs/${orgId}`) });
  const zones = useMemo(() => {
    try {
      return Intl.supportedValuesOf("timeZone");
    } catch {
      return ["UTC"];
    }
  }, []);
  const [form, setForm] = useState({
    name: "",
    logoUrl: "",
    defaultLanguage: "en",
    timezone: "UTC",
    requireTwoFactor: false,
  });
  const fe = useFieldErrors();
  useEffect(() => {
    if (org.data)
      setForm({
        name: org.data.name,
        logoUrl: org.data.logoUrl ?? "",
        defaultLanguage: org.data.defaultLanguage ?? org.data.language ?? "en",
        timezone: org.data.timezone ?? "UTC",
        requireTwoFactor: Boolean(org.data.requireTwoFactor),
      });
  }, [org.data]);
  const save = useMutation({
    mutationFn: (body: z.output<typeof orgBody>) =>
      api<Org>(`/orgs/${orgId}`, { method: "PATCH", body: { ...body, logoUrl: body.logoUrl || null } }),
    onSuccess: (o) => {
      toast(t("common.saved"));
      qc.setQueryData(qk.org(orgId), o);
      void qc.invalidateQueries({ queryKey: qk.orgs });
      void qc.invalidateQueries({ queryKey: qk.orgMe(orgId) });
    },
    onError: (e) => fe.fromServer(e),
  });
  if (org.isPending) return <Spinner />;
  if (org.error) return <ErrorState error={org.error} onRetry={() => void org.refetch()} />;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(orgBody, form);
    fe.setErrors(v.errors);
    if (v.data) save.mutate(v.data);
  };
  return (
    <div>
      <PageHeader title={t("orgSettings.title")} subtitle={t("orgSettings.subtitle")} />
      <form {...fe.formProps} onSubmit={submit} noValidate className="space-y-6">
        <Card title={t("orgSettings.profile")}>
          <div className="grid gap-4 sm:grid-cols-2">
            <TextField
              label={t("orgSettings.name")}
              name="name"
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
              error={fe.errors.name}
            />
            <div className="flex items-end gap-3">
              <TextField
                className="flex-1"
                label={t("orgSettings.logo")}
                name="logoUrl"
                type="url"
                value={form.logoUrl}
                onChange={(e) => setForm({ ...form, logoUrl: e.target.value })}
                error={fe.errors.logoUrl}
                help={t("orgSettings.logoHelp")}
              />
              {form.logoUrl ? (
                <img
                  src={form.logoUrl}
                  alt=""
                  className="mb-6 size-10 rounded-lg border border-slate-200 object-cover"
                />
              ) : null}
            </div>
            <SelectField
              label={t("orgSettings.language")}
              value={form.defaultLanguage}
              onChange={(e) => setForm({ ...form, defaultLanguage: e.target.value })}
              help={t("orgSettings.languageHelp")}
              error={fe.errors.defaultLanguage}
            >
              {LANGUAGES.map((l) => (
                <option key={l} value={l}>
                  {t(`languages.${l}`)}
                </option>
              ))}
            </SelectField>
            <SelectField
              label={t("orgSettings.timezone")}
              value={form.timezone}
              onChange={(e) => setForm({ ...form, timezone: e.target.value })}
              error={fe.errors.timezone}
            >
              {(zones.includes(form.timezone) ? zones : [form.timezone, ...zones]).map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </SelectField>
          </div>
        </Card>
        <Card title={t("orgSettings.security")}>
          <Checkbox
            checked={form.requireTwoFactor}
            onCheckedChange={(v) => setForm({ ...form, requireTwoFactor: v })}
            label={t("orgSettings.requireTwoFactor")}
            description={t("orgSettings.requireTwoFactorHelp")}
          />
        </Card>
        <SaveRow error={save.error} fieldErrors={fe.errors} pending={save.isPending} />
      </form>
      {me.isOwner ? <DeleteOrganization orgId={orgId} orgName={org.data?.name ?? ""} /> : null}
    </div>
  );
}

/**
 * The owner deletes the organization (DELETE /orgs/:id): re-authenticated with the password, and a
 * 2FA code when the owner has 2FA; the organization's name typed to confirm.
 */
function DeleteOrganization({ orgId, orgName }: { orgId: string; orgName: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const user = useMe();
  const form = useFormFields({ confirmName: "", password: "", code: "" });
  const del = useMutation({
    mutationFn: (body: { password: string; code?: string }) => api(`/orgs/${orgId}`, { method: "DELETE", body }),
    onSuccess: async () => {
      localStorage.removeItem(LAST_ORG_KEY);
      toast(t("orgSettings.deleted", { org: orgName }));
      qc.removeQueries({ queryKey: qk.org(orgId) });
      await qc.invalidateQueries({ queryKey: qk.orgs });
      navigate("/", { replace: true });
    },
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errors: Record<string, string> = {};
    if (form.values.confirmName.trim() !== orgName) errors.confirmName = t("orgSettings.deleteNameMismatch");
    if (!form.values.password) errors.password = t("validation.required");
    if (user.data?.twoFactorEnabled && !/^\S{6,64}$/.test(form.values.code.trim())) errors.code = t("validation.code");
    form.setErrors(errors);
    if (Object.keys(errors).length) return;
    del.mutate({
      password: form.values.password,
      ...(user.data?.twoFactorEnabled ? { code: form.values.code.trim() } : {}),
    });
  };
  return (
    <section
      className="mt-8 rounded-xl border border-red-200 bg-white p-4 shadow-sm sm:p-5"
      aria-labelledby="delete-org"
    >
      <h2 id="delete-org" className="text-base font-semibold text-red-800">
        {t("orgSettings.deleteTitle")}
      </h2>
      <p className="mt-1 text-sm text-slate-700">{t("orgSettings.deleteBody", { org: orgName })}</p>
      <form onSubmit={submit} noValidate className="mt-4 grid gap-4 sm:max-w-md">
        <TextField
          label={t("orgSettings.deleteConfirmName", { org: orgName })}
          autoComplete="off"
          {...form.field("confirmName")}
        />
        <PasswordField kind="current" label={t("orgSettings.deletePassword")} {...form.field("password")} />
        {user.data?.twoFactorEnabled ? <CodeField {...form.field("code")} /> : null}
        <SaveRow
          error={del.error}
          fieldErrors={form.errors}
          pending={del.isPending}
          label={t("orgSettings.delete")}
          danger
          align="start"
        />
      </form>
    </section>
  );
}
