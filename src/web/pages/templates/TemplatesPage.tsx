import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import {
  createTemplateBody,
  TEMPLATE_CATEGORIES,
  TEMPLATE_LIMITS,
  type TemplateCategory,
  type TemplateStatus,
} from "../../../shared/schemas/templates.js";
import type { Column } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { SelectField, TextArea, TextField } from "../../components/fields.js";
import { actionsColumn, namedRow, TableCard } from "../../components/table-card.js";
import { Button, Chip, DialogActions, FormError, Modal, Notice, PageHeader, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { type ChannelOption, useChannelOptions } from "../../lib/channels.js";
import { useCursorList } from "../../lib/cursor-list.js";
import { useFormFields, validate } from "../../lib/forms.js";
import {
  type BubbleContent,
  bubbleOf,
  canEdit,
  distinctVariables,
  draftOf,
  fill,
  quickReplies,
  type Template,
  templateBody,
  templateKeys,
} from "../../lib/templates.js";
import { fieldErrorsOf } from "../contacts/shared.js";

const STATUS_TONE: Record<TemplateStatus, "slate" | "emerald" | "amber" | "red" | "violet"> = {
  PENDING: "amber",
  APPROVED: "emerald",
  REJECTED: "red",
  PAUSED: "violet",
  DISABLED: "slate",
};

export function TemplateStatusChip({ status }: { status: TemplateStatus }) {
  const { t } = useTranslation();
  return <Chip tone={STATUS_TONE[status]}>{t(`templates.status_${status}`)}</Chip>;
}

/** A WhatsApp-like message bubble (the preview of a template or of a broadcast for one contact). */
export function Bubble({ content, label }: { content: BubbleContent; label: string }) {
  return (
    <figure className="rounded-xl bg-[#e5ddd5] p-3" aria-label={label} data-testid="template-preview">
      <div className="max-w-xs rounded-lg rounded-tl-none bg-white p-2.5 text-sm text-slate-900 shadow-sm">
        {content.header ? <p className="mb-1 font-semibold break-words">{content.header}</p> : null}
        <p className="whitespace-pre-wrap break-words">{content.body || "…"}</p>
        {content.footer ? <p className="mt-1 text-xs break-words text-slate-600">{content.footer}</p> : null}
      </div>
      {content.buttons.length ? (
        <ul className="mt-1 max-w-xs space-y-1">
          {content.buttons.map((b, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: buttons are in order
            <li key={i} className="rounded-lg bg-white py-1.5 text-center text-sm font-medium break-words text-sky-800">
              {b}
            </li>
          ))}
        </ul>
      ) : null}
    </figure>
  );
}

/** Templates: the list with Meta's review status, the editor with a live preview, sync from Meta. */
export function TemplatesPage() {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const qc = useQueryClient();
  const canManage = can("templates:manage");
  const list = useCursorList<Template>({
    queryKey: templateKeys.list(orgId),
    path: `/orgs/${orgId}/templates`,
    limit: 100,
    // Meta reviews after a while: a pending template is looked at again until its status moves.
    pollWhile: { row: (x) => x.status === "PENDING", ms: 1500 },
  });
  const channels = useChannelOptions(orgId);
  const [editing, setEditing] = useState<{ template: Template | null } | null>(null);
  const [viewing, setViewing] = useState<Template | null>(null);
  const [syncChannel, setSyncChannel] = useState("");
  const del = useDeleteRow({
    path: (x: Template) => `/orgs/${orgId}/templates/${x.id}`,
    deleted: (x) => t("templates.deleted", { name: x.name }),
    invalidate: [templateKeys.list(orgId)],
  });
  const sync = useMutation({
    mutationFn: (channelId: string) =>
      api<{ created: number; updated: number }>(`/orgs/${orgId}/templates/sync`, {
        method: "POST",
        body: { channelId },
      }),
    onSuccess: (r) => {
      toast(t("templates.synced", { created: r.created, updated: r.updated }));
      void qc.invalidateQueries({ queryKey: templateKeys.list(orgId) });
    },
    onError: (e) => toast(String((e as Error).message), "error"),
  });
  const chosenSync = syncChannel || channels[0]?.id || "";
  const columns: Column<Template>[] = [
    {
      key: "name",
      label: t("templates.colName"),
      cell: (x) => (
        <button
          type="button"
          className="min-w-0 text-left font-medium break-all text-slate-900 underline-offset-2 hover:underline"
          onClick={() => setViewing(x)}
        >
          {x.name}
        </button>
      ),
    },
    { key: "language", label: t("templates.colLanguage"), cell: (x) => x.language },
    {
      key: "category",
      label: t("templates.colCategory"),
      cell: (x) => t(`templates.category_${x.category}`),
      from: "md",
    },
    {
      key: "status",
      label: t("templates.colStatus"),
      cell: (x) => (
        <span className="flex min-w-0 flex-col items-start gap-1" data-testid="template-status">
          <TemplateStatusChip status={x.status} />
          {x.rejectionReason && x.status === "REJECTED" ? (
            <span className="text-xs break-words text-red-700">{x.rejectionReason}</span>
          ) : null}
        </span>
      ),
    },
  ];
  if (canManage)
    columns.push(
      actionsColumn(t, (x) => (
        <span className="inline-flex gap-1">
          {canEdit(x) ? (
            <Button variant="ghost" size="sm" onClick={() => setEditing({ template: x })}>
              {t("common.edit")}
              <span className="sr-only"> {x.name}</span>
            </Button>
          ) : null}
          <Button variant="ghost" size="sm" onClick={() => del.ask(x)}>
            {t("common.delete")}
            <span className="sr-only"> {x.name}</span>
          </Button>
        </span>
      )),
    );
  return (
    <div>
      <PageHeader
        title={t("templates.title")}
        subtitle={t("templates.subtitle")}
        actions={
          canManage ? <Button onClick={() => setEditing({ template: null })}>{t("templates.new")}</Button> : null
        }
      />
      {!canManage ? (
        <div className="mb-4">
          <Notice>{t("templates.readOnly")}</Notice>
        </div>
      ) : channels.length ? (
        <div className="mb-4 flex flex-wrap items-end gap-2">
          {channels.length > 1 ? (
            <SelectField
              label={t("templates.channel")}
              value={chosenSync}
              onChange={(e) => setSyncChannel(e.target.value)}
            >
              {channels.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </SelectField>
          ) : null}
          <Button
            variant="secondary"
            disabled={sync.isPending || !chosenSync}
            onClick={() => chosenSync && sync.mutate(chosenSync)}
          >
            {sync.isPending ? t("templates.syncing") : t("templates.sync")}
          </Button>
        </div>
      ) : null}
      <TableCard
        query={list}
        more={list}
        empty={t("templates.empty")}
        table={{ label: t("templates.title"), columns, rowProps: namedRow("template-row") }}
      />
      {editing ? (
        <TemplateDialog channels={channels} template={editing.template} onClose={() => setEditing(null)} />
      ) : null}
      {viewing ? (
        <Modal open onOpenChange={(o) => !o && setViewing(null)} title={viewing.name}>
          <div className="space-y-3">
            <p className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
              <TemplateStatusChip status={viewing.status} /> {viewing.language} ·{" "}
              {t(`templates.category_${viewing.category}`)}
            </p>
            {viewing.rejectionReason ? <Notice tone="warning">{viewing.rejectionReason}</Notice> : null}
            <Bubble content={bubbleOf(viewing)} label={t("templates.preview")} />
            <div className="flex justify-end">
              <Button variant="secondary" onClick={() => setViewing(null)}>
                {t("common.close")}
              </Button>
            </div>
          </div>
        </Modal>
      ) : null}
      <DeleteConfirm
        del={del}
        title={t("templates.deleteTitle", { name: del.row?.name ?? "" })}
        body={t("templates.deleteBody")}
      />
    </div>
  );
}

function TemplateDialog({
  channels,
  template,
  onClose,
}: {
  channels: ChannelOption[];
  template: Template | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const initial = template ? draftOf(template) : null;
  const f = useFormFields({
    channelId: initial?.channelId ?? channels[0]?.id ?? "",
    name: initial?.name ?? "",
    language: initial?.language ?? "en",
    category: (initial?.category ?? "MARKETING") as string,
    headerText: initial?.headerText ?? "",
    headerExample: initial?.headerExample ?? "",
    body: initial?.body ?? "",
    footer: initial?.footer ?? "",
    buttons: initial?.buttons ?? "",
  });
  const [examples, setExamples] = useState<Record<string, string>>(initial?.examples ?? {});
  const v = f.values;
  const bodyVars = distinctVariables(v.body);
  const headerVars = distinctVariables(v.headerText);
  const draft = { ...v, category: v.category as TemplateCategory, examples };
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      template
        ? api<Template>(`/orgs/${orgId}/templates/${template.id}`, {
            method: "PATCH",
            body: {
              components: body.components,
              ...(template.status === "APPROVED" ? {} : { category: body.category }),
            },
          })
        : api<Template>(`/orgs/${orgId}/templates`, { method: "POST", body }),
    onSuccess: (x) => {
      toast(t(template ? "templates.resubmitted" : "templates.created", { name: x.name }));
      void qc.invalidateQueries({ queryKey: templateKeys.list(orgId) });
      onClose();
    },
    onError: (e) => {
      const { fieldOf } = templateBody(draft);
      const out: Record<string, string> = {};
      for (const [k, m] of Object.entries(fieldErrorsOf(e))) out[fieldOf(k)] ??= m;
      f.setErrors(out);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const { body, fieldOf } = templateBody(draft);
    const r = validate(createTemplateBody, body);
    if (!r.data) {
      const out: Record<string, string> = {};
      for (const [k, m] of Object.entries(r.errors)) out[fieldOf(k)] ??= m;
      f.setErrors(out);
      return;
    }
    save.mutate(body);
  };
  const preview: BubbleContent = {
    header: v.headerText.trim() ? fill(v.headerText, { [headerVars[0] ?? "1"]: v.headerExample }) : null,
    body: fill(v.body, examples),
    footer: v.footer.trim() || null,
    buttons: quickReplies(v.buttons),
  };
  return (
    <Modal
      open
      wide
      onOpenChange={(o) => !o && onClose()}
      title={template ? t("templates.editTitle", { name: template.name }) : t("templates.newTitle")}
    >
      <form onSubmit={submit} noValidate className="grid gap-5 md:grid-cols-[minmax(0,1fr)_16rem]">
        <div className="min-w-0 space-y-3">
          <SelectField label={t("templates.channel")} disabled={template !== null} {...f.field("channelId")}>
            {channels.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </SelectField>
          <TextField
            label={t("templates.name")}
            help={t("templates.nameHelp")}
            maxLength={TEMPLATE_LIMITS.name}
            autoComplete="off"
            readOnly={template !== null}
            {...f.field("name")}
          />
          <div className="grid gap-3 sm:grid-cols-2">
            <TextField
              label={t("templates.language")}
              help={t("templates.languageHelp")}
              readOnly={template !== null}
              {...f.field("language")}
            />
            <SelectField
              label={t("templates.category")}
              disabled={template?.status === "APPROVED"}
              {...f.field("category")}
            >
              {TEMPLATE_CATEGORIES.filter((c) => c !== "AUTHENTICATION").map((c) => (
                <option key={c} value={c}>
                  {t(`templates.category_${c}`)}
                </option>
              ))}
            </SelectField>
          </div>
          <TextField
            label={t("templates.headerText")}
            help={t("templates.optional")}
            maxLength={TEMPLATE_LIMITS.headerText}
            {...f.field("headerText")}
          />
          {headerVars.length ? (
            <TextField label={t("templates.example", { name: `{{${headerVars[0]}}}` })} {...f.field("headerExample")} />
          ) : null}
          <TextArea
            label={t("templates.body")}
            help={t("templates.bodyHelp")}
            rows={4}
            maxLength={TEMPLATE_LIMITS.body}
            {...f.field("body")}
          />
          {bodyVars.map((name) => (
            <TextField
              key={name}
              label={t("templates.example", { name: `{{${name}}}` })}
              value={examples[name] ?? ""}
              error={f.errors[`example.${name}`]}
              onChange={(e) => {
                setExamples((x) => ({ ...x, [name]: e.target.value }));
                f.clearField(`example.${name}`);
              }}
            />
          ))}
          <TextField
            label={t("templates.footer")}
            help={t("templates.optional")}
            maxLength={TEMPLATE_LIMITS.footer}
            {...f.field("footer")}
          />
          <TextArea label={t("templates.buttons")} help={t("templates.buttonsHelp")} rows={2} {...f.field("buttons")} />
        </div>
        <div className="min-w-0 space-y-2">
          <p className="text-sm font-medium text-slate-700">{t("templates.preview")}</p>
          <Bubble content={preview} label={t("templates.preview")} />
        </div>
        <div className="space-y-3 md:col-span-2">
          <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error)} />
          <DialogActions
            onCancel={onClose}
            submitLabel={save.isPending ? t("common.saving") : t("templates.submit")}
            pending={save.isPending}
          />
        </div>
      </form>
    </Modal>
  );
}
