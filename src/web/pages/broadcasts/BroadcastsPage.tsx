import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { type BroadcastStatusName, createBroadcastBody } from "../../../shared/schemas/broadcasts.js";
import type { Column } from "../../components/data.js";
import { Checkbox, FieldError, SelectField, TextField } from "../../components/fields.js";
import { namedRow, TableCard } from "../../components/table-card.js";
import {
  Button,
  Chip,
  DialogActions,
  FormError,
  Modal,
  Notice,
  PageHeader,
  TextLink,
  toast,
  useDebounced,
} from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { allPages, api, itemsOf } from "../../lib/api.js";
import {
  type AudienceSize,
  type Broadcast,
  type BroadcastDetail,
  type BroadcastPreview,
  broadcastKeys,
  isLive,
  type MappingRow,
  progressOf,
  rowOf,
  sourceOf,
} from "../../lib/broadcasts.js";
import { useChannelOptions } from "../../lib/channels.js";
import { useCursorList } from "../../lib/cursor-list.js";
import { validate } from "../../lib/forms.js";
import { type Template, templateKeys, templateVariables } from "../../lib/templates.js";
import type { Contact, ContactList, Tag } from "../../lib/workspace.js";
import { fieldErrorsOf } from "../contacts/shared.js";
import { Bubble } from "../templates/TemplatesPage.js";

const STATUS_TONE: Record<BroadcastStatusName, "slate" | "emerald" | "amber" | "red" | "violet"> = {
  draft: "slate",
  scheduled: "violet",
  sending: "amber",
  paused: "amber",
  completed: "emerald",
  cancelled: "slate",
  failed: "red",
};

export function BroadcastStatusChip({ status }: { status: BroadcastStatusName }) {
  const { t } = useTranslation();
  return <Chip tone={STATUS_TONE[status]}>{t(`broadcasts.status_${status}`)}</Chip>;
}

/** A labelled progress bar of the recipients done with. */
export function Progress({ broadcast }: { broadcast: Broadcast }) {
  const { t } = useTranslation();
  const pct = progressOf(broadcast.counts);
  return (
    <div
      role="progressbar"
      aria-label={t("broadcasts.progressOf", { name: broadcast.name })}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      className="h-2 w-full min-w-16 overflow-hidden rounded-full bg-slate-200"
    >
      <div className="h-full bg-emerald-600 transition-all" style={{ width: `${pct}%` }} />
    </div>
  );
}

/** Broadcasts: the list with status and counts; "New broadcast" opens the editor. */
export function BroadcastsPage() {
  const { t, i18n } = useTranslation();
  const { orgId, can } = useOrgContext();
  const canManage = can("broadcasts:manage");
  const [creating, setCreating] = useState(false);
  const list = useCursorList<Broadcast>({
    queryKey: [...broadcastKeys.all(orgId), "list"],
    path: `/orgs/${orgId}/broadcasts`,
    limit: 50,
    pollWhile: { row: isLive, ms: 2000 },
  });
  const columns: Column<Broadcast>[] = [
    {
      key: "name",
      label: t("broadcasts.colName"),
      cell: (b) => (
        <div className="min-w-0">
          <TextLink to={`/orgs/${orgId}/broadcasts/${b.id}`} className="font-medium break-words">
            {b.name}
          </TextLink>
          <p className="text-xs break-all text-slate-500">{b.template?.name ?? "—"}</p>
        </div>
      ),
    },
    { key: "status", label: t("broadcasts.colStatus"), cell: (b) => <BroadcastStatusChip status={b.status} /> },
    {
      key: "counts",
      label: t("broadcasts.colCounts"),
      cell: (b) => (
        <div className="min-w-0 flex-1 space-y-1" data-testid="broadcast-counts">
          <p className="text-xs text-slate-700">
            {t("broadcasts.countsLine", {
              sent: b.counts.sent,
              delivered: b.counts.delivered,
              read: b.counts.read,
              failed: b.counts.failed,
              total: b.counts.total,
            })}
          </p>
          {b.status !== "draft" ? <Progress broadcast={b} /> : null}
        </div>
      ),
    },
    {
      key: "when",
      label: t("broadcasts.colWhen"),
      from: "md",
      cell: (b) => new Date(b.startedAt ?? b.scheduledAt ?? b.createdAt).toLocaleString(i18n.language),
    },
  ];
  return (
    <div>
      <PageHeader
        title={t("broadcasts.title")}
        subtitle={t("broadcasts.subtitle")}
        actions={canManage ? <Button onClick={() => setCreating(true)}>{t("broadcasts.new")}</Button> : null}
      />
      {!canManage ? (
        <div className="mb-4">
          <Notice>{t("broadcasts.readOnly")}</Notice>
        </div>
      ) : null}
      <TableCard
        query={list}
        more={list}
        empty={t("broadcasts.empty")}
        table={{ label: t("broadcasts.title"), columns, rowProps: namedRow("broadcast-row") }}
      />
      {creating ? <BroadcastDialog broadcast={null} onClose={() => setCreating(false)} /> : null}
    </div>
  );
}

const KINDS: MappingRow["kind"][] = ["first_name", "name", "phone", "attribute", "text"];

/** Create or edit a draft: name, number, approved template, variable mapping, audience, a preview. */
export function BroadcastDialog({ broadcast, onClose }: { broadcast: BroadcastDetail | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const b = broadcast;
  const templates = useQuery({
    queryKey: [...templateKeys.list(orgId), "approved"],
    queryFn: () => allPages<Template>(`/orgs/${orgId}/templates`, { status: "APPROVED" }),
  });
  const lists = useQuery({
    queryKey: ["orgs", orgId, "lists", "all"],
    // All of them (the server answers every list and tag; their number is bounded).
    queryFn: async () => itemsOf<ContactList>(await api(`/orgs/${orgId}/lists`)),
  });
  const tags = useQuery({
    queryKey: ["orgs", orgId, "tags", "all"],
    queryFn: async () => itemsOf<Tag>(await api(`/orgs/${orgId}/tags`)),
  });
  const channels = useChannelOptions(orgId);
  const [name, setName] = useState(b?.name ?? "");
  const [channelId, setChannelId] = useState(b?.channelId ?? "");
  const [templateId, setTemplateId] = useState(b?.templateId ?? "");
  const [mapping, setMapping] = useState<Record<string, MappingRow>>(() =>
    Object.fromEntries(Object.entries(b?.variables ?? {}).map(([k, s]) => [k, rowOf(s)])),
  );
  const [listIds, setListIds] = useState<string[]>(b?.audience.listIds ?? []);
  const [tagIds, setTagIds] = useState<string[]>(b?.audience.tagIds ?? []);
  const [previewContact, setPreviewContact] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const channel = channelId || channels[0]?.id || "";
  const usable = (templates.data ?? []).filter((x) => x.channelId === channel);
  const template = usable.find((x) => x.id === templateId);
  const vars = template ? templateVariables(template) : [];
  const audience = { ...(listIds.length ? { listIds } : {}), ...(tagIds.length ? { tagIds } : {}) };
  const variables = Object.fromEntries(vars.map((v) => [v, sourceOf(mapping[v] ?? rowOf(undefined))]));
  const debouncedAudience = JSON.parse(useDebounced(JSON.stringify(audience), 300)) as typeof audience;
  const size = useQuery({
    queryKey: [...broadcastKeys.all(orgId), "audience", channel, debouncedAudience],
    queryFn: () =>
      api<AudienceSize>(`/orgs/${orgId}/broadcasts/audience`, {
        method: "POST",
        body: { ...(channel ? { channelId: channel } : {}), audience: debouncedAudience },
      }),
  });
  const contacts = useQuery({
    queryKey: ["orgs", orgId, "contacts", "preview-pick"],
    queryFn: async () => itemsOf<Contact>(await api(`/orgs/${orgId}/contacts`, { query: { limit: 25 } })),
  });
  const debouncedVars = JSON.parse(useDebounced(JSON.stringify(variables), 400)) as typeof variables;
  const preview = useQuery({
    queryKey: [...broadcastKeys.all(orgId), "preview", templateId, previewContact, debouncedVars],
    enabled: Boolean(template && previewContact),
    queryFn: () =>
      api<BroadcastPreview>(`/orgs/${orgId}/broadcasts/preview`, {
        method: "POST",
        body: { templateId, contactId: previewContact, variables: debouncedVars },
      }),
    retry: false,
  });
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      b
        ? api<BroadcastDetail>(`/orgs/${orgId}/broadcasts/${b.id}`, {
            method: "PATCH",
            body: { ...body, version: b.version },
          })
        : api<BroadcastDetail>(`/orgs/${orgId}/broadcasts`, { method: "POST", body }),
    onSuccess: (x) => {
      toast(b ? t("broadcasts.saved", { name: x.name }) : t("broadcasts.created", { name: x.name }));
      void qc.invalidateQueries({ queryKey: broadcastKeys.all(orgId) });
      onClose();
      if (!b) void navigate(`/orgs/${orgId}/broadcasts/${x.id}`);
    },
    onError: (e) => setErrors(fieldErrorsOf(e)),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = { name: name.trim(), channelId: channel, templateId, variables, audience };
    const r = validate(createBroadcastBody, body);
    if (!r.data) {
      setErrors(r.errors);
      requestAnimationFrame(() => (document.querySelector("[aria-invalid=true]") as HTMLElement | null)?.focus());
      return;
    }
    save.mutate(body);
  };
  const err = (p: string) => errors[p] ?? Object.entries(errors).find(([k]) => k.startsWith(`${p}.`))?.[1];
  const setRow = (v: string, next: Partial<MappingRow>) => {
    setMapping((m) => ({ ...m, [v]: { ...(m[v] ?? rowOf(undefined)), ...next } }));
    setErrors({});
  };
  const toggle = (ids: string[], set: (x: string[]) => void, id: string, on: boolean) =>
    set(on ? [...ids, id] : ids.filter((x) => x !== id));
  return (
    <Modal
      open
      wide
      onOpenChange={(o) => !o && onClose()}
      title={b ? t("broadcasts.editTitle") : t("broadcasts.newTitle")}
    >
      <form onSubmit={submit} noValidate className="space-y-5">
        <TextField
          label={t("broadcasts.name")}
          value={name}
          maxLength={120}
          error={err("name")}
          onChange={(e) => {
            setName(e.target.value);
            setErrors({});
          }}
        />
        <fieldset className="space-y-3 rounded-lg border border-slate-200 p-3">
          <legend className="px-1 text-sm font-semibold text-slate-900">1. {t("broadcasts.audience")}</legend>
          {channels.length > 1 ? (
            <SelectField
              label={t("templates.channel")}
              value={channel}
              error={err("channelId")}
              onChange={(e) => {
                setChannelId(e.target.value);
                setTemplateId("");
              }}
            >
              {channels.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </SelectField>
          ) : null}
          <div className="grid gap-3 sm:grid-cols-2">
            <div data-field-group>
              <p className="mb-1 text-sm font-medium text-slate-700">{t("broadcasts.lists")}</p>
              {(lists.data ?? []).length ? (
                <div className="space-y-2">
                  {(lists.data ?? []).map((l) => (
                    <Checkbox
                      key={l.id}
                      checked={listIds.includes(l.id)}
                      onCheckedChange={(on) => toggle(listIds, setListIds, l.id, on)}
                      label={l.name}
                    />
                  ))}
                </div>
              ) : (
                <p className="text-sm text-slate-500">{t("broadcasts.noLists")}</p>
              )}
            </div>
            <div data-field-group>
              <p className="mb-1 text-sm font-medium text-slate-700">{t("broadcasts.tags")}</p>
              {(tags.data ?? []).length ? (
                <div className="space-y-2">
                  {(tags.data ?? []).map((x) => (
                    <Checkbox
                      key={x.id}
                      checked={tagIds.includes(x.id)}
                      onCheckedChange={(on) => toggle(tagIds, setTagIds, x.id, on)}
                      label={x.name}
                    />
                  ))}
                </div>
              ) : (
                <p className="text-sm text-slate-500">{t("broadcasts.noTags")}</p>
              )}
            </div>
          </div>
          <FieldError error={err("audience")} />
          <p className="text-sm text-slate-800" aria-live="polite" data-testid="audience-size">
            {size.data
              ? t("broadcasts.audienceSize", {
                  count: size.data.size,
                  optedOut: size.data.optedOut,
                  duplicates: size.data.duplicates,
                })
              : t("common.loading")}
          </p>
        </fieldset>
        <fieldset className="space-y-3 rounded-lg border border-slate-200 p-3">
          <legend className="px-1 text-sm font-semibold text-slate-900">2. {t("broadcasts.template")}</legend>
          <SelectField
            label={t("broadcasts.template")}
            help={t("broadcasts.templateHelp")}
            value={templateId}
            error={err("templateId")}
            onChange={(e) => {
              setTemplateId(e.target.value);
              setErrors({});
            }}
          >
            <option value="">{t("broadcasts.choose")}</option>
            {usable.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name} ({x.language})
              </option>
            ))}
          </SelectField>
          {vars.map((v) => {
            const row = mapping[v] ?? rowOf(undefined);
            return (
              <div key={v} className="grid gap-2 rounded-lg bg-slate-50 p-3 sm:grid-cols-3" data-testid="variable-row">
                <SelectField
                  label={t("broadcasts.variable", { name: v })}
                  value={row.kind}
                  onChange={(e) => setRow(v, { kind: e.target.value as MappingRow["kind"] })}
                >
                  {KINDS.map((k) => (
                    <option key={k} value={k}>
                      {t(`broadcasts.kind_${k}`)}
                    </option>
                  ))}
                </SelectField>
                {row.kind === "attribute" || row.kind === "text" ? (
                  <TextField
                    label={row.kind === "text" ? t("broadcasts.fixedText") : t("broadcasts.attribute")}
                    value={row.value}
                    error={err(`variables.${v}`)}
                    onChange={(e) => setRow(v, { value: e.target.value })}
                  />
                ) : null}
                {row.kind !== "text" ? (
                  <TextField
                    label={t("broadcasts.fallback")}
                    value={row.fallback}
                    onChange={(e) => setRow(v, { fallback: e.target.value })}
                  />
                ) : null}
              </div>
            );
          })}
          {template ? (
            <div className="space-y-2">
              <SelectField
                label={t("broadcasts.previewFor")}
                value={previewContact}
                onChange={(e) => setPreviewContact(e.target.value)}
              >
                <option value="">{t("broadcasts.choose")}</option>
                {(contacts.data ?? []).map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name ? `${c.name} · ${c.phone}` : c.phone}
                  </option>
                ))}
              </SelectField>
              {preview.data ? (
                <>
                  <Bubble
                    label={t("templates.preview")}
                    content={{
                      header: preview.data.header?.text ?? null,
                      body: preview.data.body,
                      footer: preview.data.footer,
                      buttons: preview.data.buttons.map((x) => x.text),
                    }}
                  />
                  {preview.data.missing.length ? (
                    <Notice tone="warning">
                      {t("broadcasts.previewMissing", { names: preview.data.missing.join(", ") })}
                    </Notice>
                  ) : null}
                  {preview.data.optedOut ? <Notice tone="warning">{t("broadcasts.previewOptedOut")}</Notice> : null}
                </>
              ) : null}
            </div>
          ) : null}
        </fieldset>
        <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error)} />
        <DialogActions
          onCancel={onClose}
          submitLabel={save.isPending ? t("common.saving") : b ? t("common.save") : t("broadcasts.createDraft")}
          pending={save.isPending}
        />
      </form>
    </Modal>
  );
}
