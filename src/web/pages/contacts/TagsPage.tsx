import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import type { Column } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { SelectField, TextField } from "../../components/fields.js";
import { editDeleteColumn, namedRow, TableCard } from "../../components/table-card.js";
import { Button, cx, DialogActions, FormError, Modal, PageHeader } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { useFormFields } from "../../lib/forms.js";
import { useSaveRow } from "../../lib/save-row.js";
import { TAG_COLORS, type Tag, type Team, useTags, useTeams, wk } from "../../lib/workspace.js";
import { ContactsTabs, fieldErrorsOf, TagChip } from "./shared.js";

/** Conflicts that name no field, put on the field they are about. */
const CONFLICT_FIELDS = { tag_name_taken: "name", unknown_team: "teamId" };

/** Tags: name, colour and (for a team-specific tag) the team; listed under their team. */
export function TagsPage() {
  const { t, i18n } = useTranslation();
  const { orgId, can } = useOrgContext();
  const canManage = can("contacts:manage");
  const tags = useTags(orgId);
  const teams = useTeams(orgId, can("members:read"));
  const teamById = new Map((teams.data ?? []).map((x) => [x.id, x]));
  const [editing, setEditing] = useState<{ tag: Tag | null } | null>(null);
  const del = useDeleteRow({
    path: (tag: Tag) => `/orgs/${orgId}/tags/${tag.id}`,
    deleted: (tag) => t("tags.deleted", { name: tag.name }),
    invalidate: [wk.tags(orgId), wk.contacts(orgId)],
  });
  // Team-specific tags under their team; the organization's own tags first.
  const sorted = [...(tags.data ?? [])].sort((a, b) => {
    const ta = a.teamId ? (teamById.get(a.teamId)?.name ?? "~") : "";
    const tb = b.teamId ? (teamById.get(b.teamId)?.name ?? "~") : "";
    return ta.localeCompare(tb) || a.name.localeCompare(b.name);
  });
  const columns: Column<Tag>[] = [
    {
      key: "tag",
      label: t("tags.colTag"),
      cell: (x) => (
        <Link to={`/orgs/${orgId}/contacts?tagId=${x.id}`} className="inline-block max-w-full hover:opacity-80">
          <TagChip tag={x} />
        </Link>
      ),
    },
    {
      key: "team",
      label: t("tags.colTeam"),
      className: "text-slate-600",
      cell: (x) => (x.teamId ? (teamById.get(x.teamId)?.name ?? t("tags.someTeam")) : t("tags.allTeams")),
    },
    {
      key: "count",
      label: t("tags.colCount"),
      className: "tabular-nums text-slate-700",
      cell: (x) => <span data-testid="tag-count">{x.contactCount.toLocaleString(i18n.language)}</span>,
    },
  ];
  if (canManage)
    columns.push(
      editDeleteColumn(t, {
        label: (x) => t("tags.actionsFor", { name: x.name }),
        onEdit: (x) => setEditing({ tag: x }),
        onDelete: del.ask,
      }),
    );
  return (
    <div>
      <PageHeader
        title={t("tags.title")}
        subtitle={t("tags.subtitle")}
        actions={canManage ? <Button onClick={() => setEditing({ tag: null })}>{t("tags.new")}</Button> : null}
      />
      <ContactsTabs />
      <TableCard
        query={{ ...tags, data: sorted }}
        empty={t("tags.empty")}
        table={{ label: t("tags.title"), columns, rowProps: namedRow("tag-row") }}
      />
      {editing ? <TagDialog tag={editing.tag} teams={teams.data} onClose={() => setEditing(null)} /> : null}
      <DeleteConfirm
        del={del}
        title={t("tags.deleteTitle", { name: del.row?.name ?? "" })}
        body={t("tags.deleteBody")}
      />
    </div>
  );
}

function TagDialog({ tag, teams, onClose }: { tag: Tag | null; teams: Team[] | undefined; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const { values, field, setErrors } = useFormFields({ name: tag?.name ?? "", teamId: tag?.teamId ?? "" });
  const { name, teamId } = values;
  const [color, setColor] = useState(tag?.color ?? TAG_COLORS[0]);
  const save = useSaveRow<Tag>({
    collection: `/orgs/${orgId}/tags`,
    existing: tag,
    body: () => ({ name: name.trim(), color, teamId: teamId || null }),
    saved: (x, created) => t(created ? "tags.created" : "tags.saved", { name: x.name }),
    invalidate: [wk.tags(orgId)],
    onSaved: onClose,
    setErrors,
    conflicts: CONFLICT_FIELDS,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setErrors({ name: t("validation.required") });
    save.mutate();
  };
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={tag ? t("tags.editTitle") : t("tags.newTitle")}>
      <form onSubmit={submit} noValidate className="space-y-4">
        <TextField label={t("tags.name")} maxLength={50} {...field("name")} />
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-slate-700">{t("tags.color")}</legend>
          <div className="flex flex-wrap items-center gap-2">
            {TAG_COLORS.map((c) => (
              <button
                key={c}
                type="button"
                aria-label={c}
                aria-pressed={color === c}
                onClick={() => setColor(c)}
                className={cx(
                  "size-7 rounded-full ring-offset-2 focus-visible:outline-2 focus-visible:outline-emerald-600",
                  color === c && "ring-2 ring-slate-900",
                )}
                style={{ backgroundColor: c }}
              />
            ))}
            <label className="ml-1 flex items-center gap-2 text-sm text-slate-600">
              <input
                type="color"
                value={color}
                onChange={(e) => setColor(e.target.value)}
                className="h-7 w-10 cursor-pointer rounded border border-slate-300"
              />
              {t("tags.customColor")}
            </label>
          </div>
          <div className="mt-3">
            <TagChip tag={{ name: name || t("tags.preview"), color }} />
          </div>
        </fieldset>
        {teams ? (
          <SelectField label={t("tags.team")} help={t("tags.teamHelp")} {...field("teamId")}>
            <option value="">{t("tags.allTeams")}</option>
            {teams.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </SelectField>
        ) : null}
        {/* Quiet when the server named the field: the message is there, and goes as the field changes. */}
        <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error, CONFLICT_FIELDS)} />
        <DialogActions
          onCancel={onClose}
          submitLabel={save.isPending ? t("common.saving") : tag ? t("common.save") : t("tags.create")}
          pending={save.isPending}
        />
      </form>
    </Modal>
  );
}
