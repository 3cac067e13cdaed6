import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { Checkbox, SelectField, TextField } from "../../components/fields.js";
import { Card, ErrorState, PageHeader, SaveRow, Spinner, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { useFieldErrors, validate } from "../../lib/forms.js";
import { LANGUAGES } from "../../lib/i18n.js";
import { qk } from "../../lib/session.js";
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
  const { orgId } = useOrgContext();
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
      <form onSubmit={submit} noValidate className="space-y-6">
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
    </div>
  );
}
