import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import {
  ASSIGNMENT_MODES,
  type BusinessHours,
  WEEKDAYS,
  type Weekday,
  type WorkspaceSettings,
  workspaceSettingsSchema,
} from "../../../shared/schemas/settings.js";
import { QueryView } from "../../components/data.js";
import { Checkbox, FieldError, SelectField, TextField } from "../../components/fields.js";
import { Button, Card, Notice, PageHeader, SaveRow, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { fieldErrorsOf } from "../contacts/shared.js";

type SettingsDto = WorkspaceSettings & { version: number; updatedAt: string | null };

export const settingsKey = (orgId: string) => ["orgs", orgId, "settings"] as const;

const TIMEZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
  } catch {
    return ["UTC"];
  }
})();

const LANGUAGES = ["en", "es", "pt_BR", "fr", "de", "it"];

/** Settings → Business hours & workspace (GET/PATCH /settings): settings:read sees it, settings:manage edits. */
export function BusinessHoursPage() {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const settings = useQuery({
    queryKey: settingsKey(orgId),
    queryFn: () => api<SettingsDto>(`/orgs/${orgId}/settings`),
  });
  return (
    <div>
      <PageHeader title={t("workspaceSettings.title")} subtitle={t("workspaceSettings.subtitle")} />
      <QueryView query={settings}>{(data) => <SettingsForm key={data.version} initial={data} />}</QueryView>
    </div>
  );
}

function SettingsForm({ initial }: { initial: SettingsDto }) {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const qc = useQueryClient();
  const canManage = can("settings:manage");
  const [s, setS] = useState<WorkspaceSettings>(() => ({
    timezone: initial.timezone,
    businessHours: initial.businessHours,
    operatorsSeeUnassigned: initial.operatorsSeeUnassigned,
    assignment: initial.assignment,
    defaultLanguage: initial.defaultLanguage,
  }));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [holiday, setHoliday] = useState("");
  const zones = useMemo(() => (TIMEZONES.includes(s.timezone) ? TIMEZONES : [s.timezone, ...TIMEZONES]), [s.timezone]);
  const save = useMutation({
    mutationFn: () =>
      api<SettingsDto>(`/orgs/${orgId}/settings`, { method: "PATCH", body: { ...s, version: initial.version } }),
    onSuccess: (data) => {
      toast(t("workspaceSettings.saved"));
      qc.setQueryData(settingsKey(orgId), data);
    },
    onError: (e) => setErrors(fieldErrorsOf(e)),
  });
  const hours = s.businessHours;
  const setHours = (h: BusinessHours) => {
    setS((x) => ({ ...x, businessHours: h }));
    setErrors({});
  };
  const setDay = (day: Weekday, ranges: BusinessHours["week"][Weekday]) =>
    setHours({ ...hours, week: { ...hours.week, [day]: ranges } });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = workspaceSettingsSchema.safeParse(s);
    if (!parsed.success) {
      const out: Record<string, string> = {};
      for (const i of parsed.error.issues) out[i.path.join(".")] ??= i.message;
      setErrors(out);
      return;
    }
    save.mutate();
  };
  const ro = !canManage;
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      {ro ? <Notice>{t("workspaceSettings.readOnly")}</Notice> : null}
      <Card className="space-y-4 p-4 sm:p-6">
        <SelectField
          label={t("workspaceSettings.timezone")}
          value={s.timezone}
          disabled={ro}
          error={errors.timezone}
          onChange={(e) => setS((x) => ({ ...x, timezone: e.target.value }))}
        >
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </SelectField>
      </Card>
      <Card className="space-y-4 p-4 sm:p-6">
        <h2 className="text-base font-semibold text-slate-900">{t("workspaceSettings.hours")}</h2>
        <Checkbox
          checked={hours.enabled}
          disabled={ro}
          onCheckedChange={(v) => setHours({ ...hours, enabled: v })}
          label={t("workspaceSettings.hoursEnabled")}
          description={t("workspaceSettings.hoursEnabledHelp")}
        />
        <p className="text-sm text-slate-600">{t("workspaceSettings.rangeHelp")}</p>
        <div className="divide-y divide-slate-100">
          {WEEKDAYS.map((day) => {
            const dayName = t(`workspaceSettings.${day}`);
            const ranges = hours.week[day];
            return (
              <div key={day} className="py-3" data-testid="weekday" data-day={day}>
                <div className="flex flex-wrap items-center justify-between gap-2">
                  <p className="font-medium text-slate-800">{dayName}</p>
                  {ranges.length === 0 ? (
                    <span className="text-sm text-slate-500">{t("workspaceSettings.closed")}</span>
                  ) : null}
                </div>
                <ul className="mt-2 space-y-2">
                  {ranges.map((r, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: ranges have no id; their order is their identity
                    <li key={i} className="flex flex-wrap items-end gap-2">
                      <label className="text-sm">
                        <span className="sr-only">{t("workspaceSettings.from", { day: dayName, n: i + 1 })}</span>
                        <input
                          type="time"
                          value={r.from}
                          disabled={ro}
                          aria-label={t("workspaceSettings.from", { day: dayName, n: i + 1 })}
                          onChange={(e) =>
                            setDay(
                              day,
                              ranges.map((x, j) => (j === i ? { ...x, from: e.target.value } : x)),
                            )
                          }
                          className="rounded-lg border border-slate-300 px-2 py-1.5"
                        />
                      </label>
                      <span aria-hidden="true" className="pb-2 text-slate-500">
                        –
                      </span>
                      <label className="text-sm">
                        <span className="sr-only">{t("workspaceSettings.to", { day: dayName, n: i + 1 })}</span>
                        <input
                          type="time"
                          value={r.to === "24:00" ? "00:00" : r.to}
                          disabled={ro}
                          aria-label={t("workspaceSettings.to", { day: dayName, n: i + 1 })}
                          onChange={(e) =>
                            setDay(
                              day,
                              ranges.map((x, j) => (j === i ? { ...x, to: e.target.value } : x)),
                            )
                          }
                          className="rounded-lg border border-slate-300 px-2 py-1.5"
                        />
                      </label>
                      {!ro ? (
                        <Button
                          type="button"
                          variant="ghost"
                          size="sm"
                          onClick={() =>
                            setDay(
                              day,
                              ranges.filter((_x, j) => j !== i),
                            )
                          }
                        >
                          <span aria-hidden="true">✕</span>
                          <span className="sr-only">
                            {t("workspaceSettings.removeRange", { day: dayName, from: r.from, to: r.to })}
                          </span>
                        </Button>
                      ) : null}
                      <FieldError
                        error={
                          errors[`businessHours.week.${day}.${i}.from`] ?? errors[`businessHours.week.${day}.${i}.to`]
                        }
                      />
                    </li>
                  ))}
                </ul>
                {!ro && ranges.length < 6 ? (
                  <Button
                    type="button"
                    variant="secondary"
                    size="sm"
                    className="mt-2"
                    onClick={() => setDay(day, [...ranges, { from: "09:00", to: "17:00" }])}
                  >
                    {t("workspaceSettings.addRange", { day: dayName })}
                  </Button>
                ) : null}
              </div>
            );
          })}
        </div>
        <div>
          <h3 className="text-sm font-semibold text-slate-800">{t("workspaceSettings.holidays")}</h3>
          {hours.holidays.length === 0 ? (
            <p className="mt-1 text-sm text-slate-500">{t("workspaceSettings.noHolidays")}</p>
          ) : (
            <ul className="mt-2 flex flex-wrap gap-2">
              {[...hours.holidays].sort().map((d) => (
                <li
                  key={d}
                  className="flex items-center gap-1 rounded-full bg-slate-100 px-3 py-1 text-sm text-slate-800"
                >
                  {d}
                  {!ro ? (
                    <button
                      type="button"
                      className="rounded-full px-1 text-slate-600 hover:text-slate-900"
                      onClick={() => setHours({ ...hours, holidays: hours.holidays.filter((x) => x !== d) })}
                    >
                      <span aria-hidden="true">✕</span>
                      <span className="sr-only">{t("workspaceSettings.removeHoliday", { date: d })}</span>
                    </button>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
          {!ro ? (
            <div className="mt-2 flex flex-wrap items-end gap-2">
              <TextField
                type="date"
                label={t("workspaceSettings.holidayDate")}
                value={holiday}
                onChange={(e) => setHoliday(e.target.value)}
                error={errors["businessHours.holidays"]}
              />
              <Button
                type="button"
                variant="secondary"
                disabled={!holiday}
                onClick={() => {
                  if (holiday && !hours.holidays.includes(holiday))
                    setHours({ ...hours, holidays: [...hours.holidays, holiday] });
                  setHoliday("");
                }}
              >
                {t("workspaceSettings.addHoliday")}
              </Button>
            </div>
          ) : null}
        </div>
      </Card>
      <Card className="space-y-4 p-4 sm:p-6">
        <h2 className="text-base font-semibold text-slate-900">{t("workspaceSettings.inbox")}</h2>
        <Checkbox
          checked={s.operatorsSeeUnassigned}
          disabled={ro}
          onCheckedChange={(v) => setS((x) => ({ ...x, operatorsSeeUnassigned: v }))}
          label={t("workspaceSettings.operatorsSeeUnassigned")}
          description={t("workspaceSettings.operatorsSeeUnassignedHelp")}
        />
        <h2 className="text-base font-semibold text-slate-900">{t("workspaceSettings.assignment")}</h2>
        <SelectField
          label={t("workspaceSettings.mode")}
          value={s.assignment.mode}
          disabled={ro}
          onChange={(e) =>
            setS((x) => ({
              ...x,
              assignment: { ...x.assignment, mode: e.target.value as WorkspaceSettings["assignment"]["mode"] },
            }))
          }
        >
          {ASSIGNMENT_MODES.map((m) => (
            <option key={m} value={m}>
              {t(`workspaceSettings.mode_${m}`)}
            </option>
          ))}
        </SelectField>
        <TextField
          type="number"
          min={1}
          max={1000}
          label={t("workspaceSettings.capacity")}
          value={String(s.assignment.defaultCapacity)}
          readOnly={ro}
          error={errors["assignment.defaultCapacity"]}
          onChange={(e) =>
            setS((x) => ({ ...x, assignment: { ...x.assignment, defaultCapacity: Number(e.target.value) } }))
          }
        />
        <Checkbox
          checked={s.assignment.reassignOnOffline}
          disabled={ro}
          onCheckedChange={(v) => setS((x) => ({ ...x, assignment: { ...x.assignment, reassignOnOffline: v } }))}
          label={t("workspaceSettings.reassignOnOffline")}
        />
        <SelectField
          label={t("workspaceSettings.language")}
          value={s.defaultLanguage}
          disabled={ro}
          error={errors.defaultLanguage}
          onChange={(e) => setS((x) => ({ ...x, defaultLanguage: e.target.value }))}
        >
          {(LANGUAGES.includes(s.defaultLanguage) ? LANGUAGES : [s.defaultLanguage, ...LANGUAGES]).map((l) => (
            <option key={l} value={l}>
              {l}
            </option>
          ))}
        </SelectField>
      </Card>
      {canManage ? <SaveRow error={save.error} fieldErrors={errors} pending={save.isPending} /> : null}
    </form>
  );
}
