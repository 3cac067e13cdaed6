import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import {
  ACTION_TYPES,
  type AutomationAction,
  type AutomationActionType,
  type AutomationConditions,
  type AutomationTrigger,
  CONVERSATION_STATUSES,
  createAutomationBody,
} from "../../../shared/schemas/automations.js";
import { type Column, QueryView } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { Checkbox, FieldError, SelectField, TextArea, TextField } from "../../components/fields.js";
import { editDeleteColumn, namedRow, TableCard } from "../../components/table-card.js";
import { Button, DialogActions, FormError, Modal, Notice, PageHeader, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { fieldErrorsOf } from "../contacts/shared.js";

export interface Automation {
  id: string;
  name: string;
  enabled: boolean;
  priority: number;
  trigger: AutomationTrigger;
  conditions: AutomationConditions;
  actions: AutomationAction[];
  lastRun: { at: string; status: "ok" | "error" } | null;
}
interface Option {
  id: string;
  name: string;
}
interface Options {
  channels: Option[];
  teams: Option[];
  tags: Option[];
  members: Option[];
  templates: (Option & { language: string; status: string; variables: string[] })[];
}
interface Run {
  id: string;
  at: string;
  conversationId: string;
  status: "ok" | "error";
  results: { type: string; ok: boolean; detail?: string; error?: string }[];
}

const keys = {
  list: (orgId: string) => ["orgs", orgId, "automations"] as const,
  options: (orgId: string) => ["orgs", orgId, "automations", "options"] as const,
  runs: (orgId: string, id: string) => ["orgs", orgId, "automations", id, "runs"] as const,
};

/** Automations: the list (enabled switch, last run), the editor (trigger → conditions → actions), the runs log. */
export function AutomationsPage() {
  const { t, i18n } = useTranslation();
  const { orgId, can } = useOrgContext();
  const qc = useQueryClient();
  const canManage = can("automations:manage");
  const list = useQuery({
    queryKey: keys.list(orgId),
    queryFn: async () => (await api<{ items: Automation[] }>(`/orgs/${orgId}/automations`)).items,
  });
  const [editing, setEditing] = useState<{ automation: Automation | null } | null>(null);
  const [runsOf, setRunsOf] = useState<Automation | null>(null);
  const toggle = useMutation({
    mutationFn: (a: Automation) =>
      api<Automation>(`/orgs/${orgId}/automations/${a.id}`, { method: "PATCH", body: { enabled: !a.enabled } }),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.list(orgId) }),
    onError: (e) => toast(String((e as Error).message), "error"),
  });
  const del = useDeleteRow({
    path: (a: Automation) => `/orgs/${orgId}/automations/${a.id}`,
    deleted: (a) => t("automations.deleted", { name: a.name }),
    invalidate: [keys.list(orgId)],
  });
  const when = (iso: string) => new Date(iso).toLocaleString(i18n.language);
  const columns: Column<Automation>[] = [
    {
      key: "name",
      label: t("automations.colName"),
      cell: (a) => (
        <div className="min-w-0">
          <p className="font-medium break-words text-slate-900">{a.name}</p>
          <p className="text-xs text-slate-500">
            {t("automations.priority")} {a.priority}
          </p>
        </div>
      ),
    },
    { key: "trigger", label: t("automations.colTrigger"), cell: (a) => <TriggerSummary trigger={a.trigger} /> },
    {
      key: "enabled",
      label: t("automations.colEnabled"),
      cell: (a) => (
        <button
          type="button"
          role="switch"
          aria-checked={a.enabled}
          aria-label={t("automations.enabledFor", { name: a.name })}
          disabled={!canManage || toggle.isPending}
          onClick={() => toggle.mutate(a)}
          data-testid="automation-enabled"
          className={`relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-emerald-600 disabled:opacity-60 ${a.enabled ? "bg-emerald-700" : "bg-slate-400"}`}
        >
          <span
            aria-hidden="true"
            className={`inline-block size-5 rounded-full bg-white shadow transition-transform ${a.enabled ? "translate-x-5" : "translate-x-0.5"}`}
          />
        </button>
      ),
    },
    {
      key: "lastRun",
      label: t("automations.colLastRun"),
      cell: (a) => (
        <button
          type="button"
          className="text-left text-sm text-emerald-800 underline-offset-2 hover:underline"
          onClick={() => setRunsOf(a)}
        >
          {a.lastRun
            ? `${when(a.lastRun.at)} · ${a.lastRun.status === "ok" ? t("automations.runOk") : t("automations.runError")}`
            : t("automations.never")}
          <span className="sr-only">
            {" "}
            — {t("automations.runs")} {a.name}
          </span>
        </button>
      ),
    },
  ];
  if (canManage)
    columns.push(
      editDeleteColumn(t, {
        label: (a) => t("automations.actionsFor", { name: a.name }),
        onEdit: (a) => setEditing({ automation: a }),
        onDelete: del.ask,
      }),
    );
  return (
    <div>
      <PageHeader
        title={t("automations.title")}
        subtitle={t("automations.subtitle")}
        actions={
          canManage ? <Button onClick={() => setEditing({ automation: null })}>{t("automations.new")}</Button> : null
        }
      />
      {!canManage ? (
        <div className="mb-4">
          <Notice>{t("automations.readOnly")}</Notice>
        </div>
      ) : null}
      <TableCard
        query={list}
        empty={t("automations.empty")}
        table={{ label: t("automations.title"), columns, rowProps: namedRow("automation-row") }}
      />
      {editing ? <AutomationDialog automation={editing.automation} onClose={() => setEditing(null)} /> : null}
      {runsOf ? <RunsDialog automation={runsOf} onClose={() => setRunsOf(null)} /> : null}
      <DeleteConfirm
        del={del}
        title={t("automations.deleteTitle", { name: del.row?.name ?? "" })}
        body={t("automations.deleteBody")}
      />
    </div>
  );
}

function TriggerSummary({ trigger }: { trigger: AutomationTrigger }) {
  const { t } = useTranslation();
  if (trigger.type === "conversation_opened") return <span>{t("automations.summaryOpened")}</span>;
  if (!trigger.keywords?.length) return <span>{t("automations.summaryAny")}</span>;
  return (
    <span className="break-words">
      {t("automations.summaryKeywords", { keywords: trigger.keywords.map((k) => `“${k}”`).join(", ") })}
    </span>
  );
}

type DraftAction = { type: AutomationActionType } & Record<string, unknown>;

function defaultAction(type: AutomationActionType): DraftAction {
  switch (type) {
    case "reply_text":
      return { type, text: "" };
    case "send_template":
      return { type, templateId: "", variables: {} };
    case "assign_team":
      return { type, teamId: "" };
    case "assign_member":
      return { type, memberId: "" };
    case "add_tag":
      return { type, tagId: "" };
    case "set_status":
      return { type, status: "pending" };
  }
}

function AutomationDialog({ automation, onClose }: { automation: Automation | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const options = useQuery({
    queryKey: keys.options(orgId),
    queryFn: () => api<Options>(`/orgs/${orgId}/automations/options`),
  });
  const a = automation;
  const [name, setName] = useState(a?.name ?? "");
  const [enabled, setEnabled] = useState(a?.enabled ?? true);
  const [priority, setPriority] = useState(String(a?.priority ?? 100));
  const [triggerType, setTriggerType] = useState<AutomationTrigger["type"]>(a?.trigger.type ?? "message_received");
  const [keywords, setKeywords] = useState(
    a?.trigger.type === "message_received" ? (a.trigger.keywords ?? []).join("\n") : "",
  );
  const [match, setMatch] = useState<"contains" | "exact">(
    a?.trigger.type === "message_received" ? (a.trigger.match ?? "contains") : "contains",
  );
  const [hours, setHours] = useState<"any" | "outside" | "inside">(
    a?.conditions.outsideBusinessHours === undefined ? "any" : a.conditions.outsideBusinessHours ? "outside" : "inside",
  );
  const [channelIds, setChannelIds] = useState<string[]>(a?.conditions.channelIds ?? []);
  const [hasTag, setHasTag] = useState(a?.conditions.contactHasTag ?? "");
  const [lacksTag, setLacksTag] = useState(a?.conditions.contactLacksTag ?? "");
  const [actions, setActions] = useState<DraftAction[]>(
    (a?.actions as DraftAction[] | undefined) ?? [defaultAction("reply_text")],
  );
  const [errors, setErrors] = useState<Record<string, string>>({});

  const body = () => {
    const kw = keywords
      .split("\n")
      .map((k) => k.trim())
      .filter(Boolean);
    const trigger =
      triggerType === "conversation_opened"
        ? { type: triggerType }
        : { type: triggerType, ...(kw.length ? { keywords: kw, match } : {}) };
    const conditions: Record<string, unknown> = {};
    if (hours !== "any") conditions.outsideBusinessHours = hours === "outside";
    if (channelIds.length) conditions.channelIds = channelIds;
    if (hasTag) conditions.contactHasTag = hasTag;
    if (lacksTag) conditions.contactLacksTag = lacksTag;
    return { name: name.trim(), enabled, priority: Number(priority), trigger, conditions, actions };
  };
  const save = useMutation({
    mutationFn: (b: ReturnType<typeof body>) =>
      a
        ? api<Automation>(`/orgs/${orgId}/automations/${a.id}`, { method: "PATCH", body: b })
        : api<Automation>(`/orgs/${orgId}/automations`, { method: "POST", body: b }),
    onSuccess: (x) => {
      toast(a ? t("automations.saved", { name: x.name }) : t("automations.created", { name: x.name }));
      void qc.invalidateQueries({ queryKey: keys.list(orgId) });
      onClose();
    },
    onError: (e) => setErrors(fieldErrorsOf(e)),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const b = body();
    const parsed = createAutomationBody.safeParse(b);
    if (!parsed.success) {
      const out: Record<string, string> = {};
      for (const i of parsed.error.issues) out[i.path.join(".")] ??= i.message;
      setErrors(out);
      requestAnimationFrame(() =>
        (document.querySelector("[aria-invalid=true]") as HTMLElement | null)?.focus({ preventScroll: false }),
      );
      return;
    }
    save.mutate(b);
  };
  const err = (path: string) =>
    errors[path] ?? Object.entries(errors).find(([k]) => k.startsWith(`${path}.`))?.[1] ?? undefined;
  const setAction = (i: number, next: DraftAction) => {
    setActions((xs) => xs.map((x, j) => (j === i ? next : x)));
    setErrors({});
  };
  const opts = options.data;
  const picker = (i: number, x: DraftAction, field: string, label: string, items: Option[]) => (
    <SelectField
      label={label}
      value={String(x[field] ?? "")}
      error={err(`actions.${i}.${field}`)}
      onChange={(e) => setAction(i, { ...x, [field]: e.target.value })}
    >
      <option value="">{t("automations.choose")}</option>
      {items.map((o) => (
        <option key={o.id} value={o.id}>
          {o.name}
        </option>
      ))}
    </SelectField>
  );
  return (
    <Modal
      open
      wide
      onOpenChange={(o) => !o && onClose()}
      title={a ? t("automations.editTitle") : t("automations.newTitle")}
    >
      <form onSubmit={submit} noValidate className="space-y-5">
        <div className="grid gap-3 sm:grid-cols-[1fr_8rem]">
          <TextField
            label={t("automations.name")}
            value={name}
            maxLength={100}
            error={err("name")}
            onChange={(e) => {
              setName(e.target.value);
              setErrors({});
            }}
          />
          <TextField
            type="number"
            label={t("automations.priority")}
            help={t("automations.priorityHelp")}
            value={priority}
            min={0}
            max={10000}
            error={err("priority")}
            onChange={(e) => setPriority(e.target.value)}
          />
        </div>
        <Checkbox checked={enabled} onCheckedChange={setEnabled} label={t("automations.enabled")} />
        <fieldset className="space-y-3 rounded-lg border border-slate-200 p-3">
          <legend className="px-1 text-sm font-semibold text-slate-900">1. {t("automations.trigger")}</legend>
          <SelectField
            label={t("automations.triggerType")}
            value={triggerType}
            onChange={(e) => setTriggerType(e.target.value as AutomationTrigger["type"])}
          >
            <option value="message_received">{t("automations.trigger_message_received")}</option>
            <option value="conversation_opened">{t("automations.trigger_conversation_opened")}</option>
          </SelectField>
          {triggerType === "message_received" ? (
            <>
              <TextArea
                label={t("automations.keywords")}
                help={t("automations.keywordsHelp")}
                rows={3}
                value={keywords}
                error={err("trigger.keywords")}
                onChange={(e) => {
                  setKeywords(e.target.value);
                  setErrors({});
                }}
              />
              <SelectField
                label={t("automations.match")}
                value={match}
                onChange={(e) => setMatch(e.target.value as "contains" | "exact")}
              >
                <option value="contains">{t("automations.match_contains")}</option>
                <option value="exact">{t("automations.match_exact")}</option>
              </SelectField>
            </>
          ) : null}
        </fieldset>
        <fieldset className="space-y-3 rounded-lg border border-slate-200 p-3">
          <legend className="px-1 text-sm font-semibold text-slate-900">2. {t("automations.conditions")}</legend>
          <SelectField
            label={t("automations.hours")}
            value={hours}
            onChange={(e) => setHours(e.target.value as "any" | "outside" | "inside")}
          >
            <option value="any">{t("automations.hours_any")}</option>
            <option value="outside">{t("automations.hours_outside")}</option>
            <option value="inside">{t("automations.hours_inside")}</option>
          </SelectField>
          {opts?.channels.length ? (
            <div>
              <p className="mb-1 text-sm font-medium text-slate-700">{t("automations.channels")}</p>
              <div className="space-y-2">
                {opts.channels.map((c) => (
                  <Checkbox
                    key={c.id}
                    checked={channelIds.includes(c.id)}
                    onCheckedChange={(on) => setChannelIds((v) => (on ? [...v, c.id] : v.filter((x) => x !== c.id)))}
                    label={c.name}
                  />
                ))}
              </div>
              <FieldError error={err("conditions.channelIds")} />
            </div>
          ) : null}
          <div className="grid gap-3 sm:grid-cols-2">
            <SelectField
              label={t("automations.contactHasTag")}
              value={hasTag}
              error={err("conditions.contactHasTag")}
              onChange={(e) => setHasTag(e.target.value)}
            >
              <option value="">{t("automations.any")}</option>
              {(opts?.tags ?? []).map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </SelectField>
            <SelectField
              label={t("automations.contactLacksTag")}
              value={lacksTag}
              error={err("conditions.contactLacksTag")}
              onChange={(e) => setLacksTag(e.target.value)}
            >
              <option value="">{t("automations.any")}</option>
              {(opts?.tags ?? []).map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </SelectField>
          </div>
        </fieldset>
        <fieldset className="space-y-3 rounded-lg border border-slate-200 p-3">
          <legend className="px-1 text-sm font-semibold text-slate-900">3. {t("automations.actions")}</legend>
          <ol className="space-y-3">
            {actions.map((x, i) => {
              const tpl = x.type === "send_template" ? opts?.templates.find((o) => o.id === x.templateId) : undefined;
              return (
                // biome-ignore lint/suspicious/noArrayIndexKey: actions have no id; their order is their identity
                <li key={i} className="space-y-2 rounded-lg bg-slate-50 p-3" data-testid="automation-action">
                  <div className="flex flex-wrap items-end gap-2">
                    <SelectField
                      className="min-w-0 flex-1"
                      label={t("automations.actionType", { n: i + 1 })}
                      value={x.type}
                      onChange={(e) => setAction(i, defaultAction(e.target.value as AutomationActionType))}
                    >
                      {ACTION_TYPES.map((type) => (
                        <option key={type} value={type}>
                          {t(`automations.action_${type}`)}
                        </option>
                      ))}
                    </SelectField>
                    {i > 0 ? (
                      <Button
                        variant="ghost"
                        size="sm"
                        onClick={() =>
                          setActions((xs) => {
                            const next = [...xs];
                            [next[i - 1], next[i]] = [next[i]!, next[i - 1]!];
                            return next;
                          })
                        }
                      >
                        <span aria-hidden="true">↑</span>
                        <span className="sr-only">{t("automations.moveUp", { n: i + 1 })}</span>
                      </Button>
                    ) : null}
                    {actions.length > 1 ? (
                      <Button
                        variant="ghost"
                        size="sm"
                        onClick={() => setActions((xs) => xs.filter((_y, j) => j !== i))}
                      >
                        <span aria-hidden="true">✕</span>
                        <span className="sr-only">{t("automations.removeAction", { n: i + 1 })}</span>
                      </Button>
                    ) : null}
                  </div>
                  {x.type === "reply_text" ? (
                    <TextArea
                      label={t("automations.text")}
                      rows={3}
                      maxLength={4096}
                      value={String(x.text ?? "")}
                      error={err(`actions.${i}.text`)}
                      onChange={(e) => setAction(i, { ...x, text: e.target.value })}
                    />
                  ) : null}
                  {x.type === "send_template" ? (
                    <>
                      {picker(
                        i,
                        x,
                        "templateId",
                        t("automations.template"),
                        (opts?.templates ?? []).map((o) => ({
                          id: o.id,
                          name: `${o.name} (${o.language}) · ${o.status}`,
                        })),
                      )}
                      {(tpl?.variables ?? []).map((v) => (
                        <TextField
                          key={v}
                          label={t("automations.variable", { name: v })}
                          value={String((x.variables as Record<string, string>)[v] ?? "")}
                          error={err(`actions.${i}.variables.${v}`)}
                          onChange={(e) =>
                            setAction(i, {
                              ...x,
                              variables: { ...(x.variables as Record<string, string>), [v]: e.target.value },
                            })
                          }
                        />
                      ))}
                    </>
                  ) : null}
                  {x.type === "assign_team" ? picker(i, x, "teamId", t("automations.team"), opts?.teams ?? []) : null}
                  {x.type === "assign_member"
                    ? picker(i, x, "memberId", t("automations.member"), opts?.members ?? [])
                    : null}
                  {x.type === "add_tag" ? picker(i, x, "tagId", t("automations.tag"), opts?.tags ?? []) : null}
                  {x.type === "set_status" ? (
                    <SelectField
                      label={t("automations.status")}
                      value={String(x.status)}
                      onChange={(e) => setAction(i, { ...x, status: e.target.value })}
                    >
                      {CONVERSATION_STATUSES.map((s) => (
                        <option key={s} value={s}>
                          {t(`automations.status_${s}`)}
                        </option>
                      ))}
                    </SelectField>
                  ) : null}
                </li>
              );
            })}
          </ol>
          <FieldError error={errors.actions} />
          {actions.length < 10 ? (
            <Button variant="secondary" size="sm" onClick={() => setActions((xs) => [...xs, defaultAction("add_tag")])}>
              {t("automations.addAction")}
            </Button>
          ) : null}
        </fieldset>
        <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error)} />
        <DialogActions
          onCancel={onClose}
          submitLabel={save.isPending ? t("common.saving") : a ? t("common.save") : t("automations.create")}
          pending={save.isPending}
        />
      </form>
    </Modal>
  );
}

function RunsDialog({ automation, onClose }: { automation: Automation; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const { orgId } = useOrgContext();
  const runs = useQuery({
    queryKey: keys.runs(orgId, automation.id),
    queryFn: async () =>
      (await api<{ items: Run[] }>(`/orgs/${orgId}/automations/${automation.id}/runs?limit=50`)).items,
  });
  return (
    <Modal
      open
      wide
      onOpenChange={(o) => !o && onClose()}
      title={t("automations.runsTitle", { name: automation.name })}
    >
      <QueryView query={runs}>
        {(items) =>
          items.length ? (
            <ol className="space-y-3" data-testid="automation-runs">
              {items.map((r) => (
                <li key={r.id} className="rounded-lg border border-slate-200 p-3 text-sm">
                  <p className="font-medium text-slate-900">
                    {new Date(r.at).toLocaleString(i18n.language)} ·{" "}
                    {r.status === "ok" ? t("automations.runOk") : t("automations.runError")}
                  </p>
                  <p className="break-all text-xs text-slate-600">
                    {t("automations.runConversation")}: {r.conversationId}
                  </p>
                  <ul className="mt-2 space-y-1">
                    {r.results.map((x, i) => (
                      // biome-ignore lint/suspicious/noArrayIndexKey: results are in action order
                      <li key={i} className={x.ok ? "text-slate-700" : "text-red-700"}>
                        {x.ok ? "✓" : "✕"} {t(`automations.action_${x.type}`)}
                        {x.detail ? ` — ${x.detail}` : ""}
                        {x.error ? ` (${x.error})` : ""}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ol>
          ) : (
            <p className="py-4 text-center text-sm text-slate-500">{t("automations.runsEmpty")}</p>
          )
        }
      </QueryView>
    </Modal>
  );
}
