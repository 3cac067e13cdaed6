import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import type { Column } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { TextArea, TextField } from "../../components/fields.js";
import { editDeleteColumn, namedRow, TableCard } from "../../components/table-card.js";
import { Button, DialogActions, FormError, Modal, PageHeader } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { useFormFields } from "../../lib/forms.js";
import { useSaveRow } from "../../lib/save-row.js";
import { type ContactList, useLists, wk } from "../../lib/workspace.js";
import { ContactsTabs, fieldErrorsOf } from "./shared.js";

/** Conflicts that name no field, put on the field they are about. */
const CONFLICT_FIELDS = { list_name_taken: "name" };

/** Static lists of contacts, with how many each holds. */
export function ListsPage() {
  const { t, i18n } = useTranslation();
  const { orgId, can } = useOrgContext();
  const canManage = can("contacts:manage");
  const lists = useLists(orgId);
  const [editing, setEditing] = useState<{ list: ContactList | null } | null>(null);
  const del = useDeleteRow({
    path: (l: ContactList) => `/orgs/${orgId}/lists/${l.id}`,
    deleted: (l) => t("lists.deleted", { name: l.name }),
    invalidate: [wk.lists(orgId), wk.contacts(orgId)],
  });
  const columns: Column<ContactList>[] = [
    {
      key: "name",
      label: t("lists.colName"),
      cell: (l) => (
        <div className="min-w-0">
          <Link to={`/orgs/${orgId}/contacts?listId=${l.id}`} className="font-medium text-emerald-700 hover:underline">
            {l.name}
          </Link>
          {l.description ? <p className="truncate text-xs text-slate-500">{l.description}</p> : null}
        </div>
      ),
    },
    {
      key: "count",
      label: t("lists.colCount"),
      className: "tabular-nums text-slate-700",
      cell: (l) => <span data-testid="list-count">{l.contactCount.toLocaleString(i18n.language)}</span>,
    },
  ];
  if (canManage)
    columns.push(
      editDeleteColumn(t, {
        label: (l) => t("lists.actionsFor", { name: l.name }),
        onEdit: (l) => setEditing({ list: l }),
        onDelete: del.ask,
      }),
    );
  return (
    <div>
      <PageHeader
        title={t("lists.title")}
        subtitle={t("lists.subtitle")}
        actions={canManage ? <Button onClick={() => setEditing({ list: null })}>{t("lists.new")}</Button> : null}
      />
      <ContactsTabs />
      <TableCard
        query={lists}
        empty={t("lists.empty")}
        table={{ label: t("lists.title"), columns, rowProps: namedRow("list-row") }}
      />
      {editing ? <ListDialog list={editing.list} onClose={() => setEditing(null)} /> : null}
      <DeleteConfirm
        del={del}
        title={t("lists.deleteTitle", { name: del.row?.name ?? "" })}
        body={t("lists.deleteBody", { count: del.row?.contactCount ?? 0 })}
      />
    </div>
  );
}

function ListDialog({ list, onClose }: { list: ContactList | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const { values, field, setErrors } = useFormFields({
    name: list?.name ?? "",
    description: list?.description ?? "",
  });
  const save = useSaveRow<ContactList>({
    collection: `/orgs/${orgId}/lists`,
    existing: list,
    body: () => ({ name: values.name.trim(), description: values.description.trim() }),
    saved: (l, created) => t(created ? "lists.created" : "lists.saved", { name: l.name }),
    invalidate: [wk.lists(orgId)],
    onSaved: onClose,
    setErrors,
    conflicts: CONFLICT_FIELDS,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!values.name.trim()) return setErrors({ name: t("validation.required") });
    save.mutate();
  };
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={list ? t("lists.editTitle") : t("lists.newTitle")}>
      <form onSubmit={submit} noValidate className="space-y-4">
        <TextField label={t("lists.name")} maxLength={100} {...field("name")} />
        <TextArea label={t("lists.description")} rows={3} maxLength={500} {...field("description")} />
        {/* Quiet when the server named the field: the message is there, and goes as the field changes. */}
        <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error, CONFLICT_FIELDS)} />
        <DialogActions
          onCancel={onClose}
          submitLabel={save.isPending ? t("common.saving") : list ? t("common.save") : t("lists.create")}
          pending={save.isPending}
        />
      </form>
    </Modal>
  );
}
