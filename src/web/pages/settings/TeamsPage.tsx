import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Column } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { Checkbox, FieldError, TextArea, TextField } from "../../components/fields.js";
import { editDeleteColumn, namedRow, TableCard } from "../../components/table-card.js";
import { Avatar, Button, DialogActions, FormError, Modal, PageHeader } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { useFormFields } from "../../lib/forms.js";
import { useSaveRow } from "../../lib/save-row.js";
import { fullName, type Member } from "../../lib/types.js";
import { type Team, useAllMembers, useTeams, wk } from "../../lib/workspace.js";
import { fieldErrorsOf } from "../contacts/shared.js";

/** Conflicts that name no field, put on the field they are about. */
const CONFLICT_FIELDS = { team_name_taken: "name", unknown_member: "memberIds" };

/** Settings → Teams: the teams members work in (a member may be in several). */
export function TeamsPage() {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const canManage = can("members:update");
  const teams = useTeams(orgId);
  const members = useAllMembers(orgId);
  const memberById = useMemo(() => new Map((members.data ?? []).map((m) => [m.memberId, m])), [members.data]);
  const [editing, setEditing] = useState<{ team: Team | null } | null>(null);
  const del = useDeleteRow({
    path: (x: Team) => `/orgs/${orgId}/teams/${x.id}`,
    deleted: (x) => t("teams.deleted", { name: x.name }),
    invalidate: [wk.teams(orgId), wk.tags(orgId)],
  });
  const columns: Column<Team>[] = [
    {
      key: "team",
      label: t("teams.colTeam"),
      cell: (x) => (
        <div className="min-w-0">
          <p className="font-medium text-slate-900">{x.name}</p>
          {x.description ? <p className="text-xs text-slate-500">{x.description}</p> : null}
        </div>
      ),
    },
    {
      key: "members",
      label: t("teams.colMembers"),
      cell: (x) => (
        <div className="flex min-w-0 items-center gap-2">
          <div className="flex -space-x-2">
            {x.memberIds.slice(0, 5).map((id) => {
              const m = memberById.get(id);
              return m ? (
                <span key={id} title={fullName(m)} className="rounded-full ring-2 ring-white">
                  <Avatar name={fullName(m)} url={m.pictureUrl} />
                </span>
              ) : null;
            })}
          </div>
          <span className="text-sm text-slate-600" data-testid="team-member-count">
            {t("teams.memberCount", { count: x.memberCount })}
          </span>
        </div>
      ),
    },
  ];
  if (canManage)
    columns.push(
      editDeleteColumn(t, {
        label: (x) => t("teams.actionsFor", { name: x.name }),
        onEdit: (x) => setEditing({ team: x }),
        onDelete: del.ask,
      }),
    );
  return (
    <div>
      <PageHeader
        title={t("teams.title")}
        subtitle={t("teams.subtitle")}
        actions={canManage ? <Button onClick={() => setEditing({ team: null })}>{t("teams.new")}</Button> : null}
      />
      <TableCard
        query={teams}
        empty={t("teams.empty")}
        table={{ label: t("teams.title"), columns, rowProps: namedRow("team-row") }}
      />
      {editing ? (
        <TeamDialog team={editing.team} members={members.data ?? []} onClose={() => setEditing(null)} />
      ) : null}
      <DeleteConfirm
        del={del}
        title={t("teams.deleteTitle", { name: del.row?.name ?? "" })}
        body={t("teams.deleteBody")}
      />
    </div>
  );
}

function TeamDialog({ team, members, onClose }: { team: Team | null; members: Member[]; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const { values, field, errors, setErrors, clearField } = useFormFields({
    name: team?.name ?? "",
    description: team?.description ?? "",
  });
  const [memberIds, setMemberIds] = useState<string[]>(team?.memberIds ?? []);
  const [filter, setFilter] = useState("");
  const shown = members.filter((m) => `${fullName(m)} ${m.email}`.toLowerCase().includes(filter.trim().toLowerCase()));
  const save = useSaveRow<Team>({
    collection: `/orgs/${orgId}/teams`,
    existing: team,
    body: () => ({ name: values.name.trim(), description: values.description.trim(), memberIds }),
    saved: (x, created) => t(created ? "teams.created" : "teams.saved", { name: x.name }),
    invalidate: [wk.teams(orgId)],
    onSaved: onClose,
    setErrors,
    conflicts: CONFLICT_FIELDS,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!values.name.trim()) return setErrors({ name: t("validation.required") });
    save.mutate();
  };
  const memberError = Object.entries(errors).find(([k]) => k.startsWith("memberIds"))?.[1];
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={team ? t("teams.editTitle") : t("teams.newTitle")}>
      <form onSubmit={submit} noValidate className="space-y-4">
        <TextField label={t("teams.name")} maxLength={60} {...field("name")} />
        <TextArea label={t("teams.description")} rows={2} maxLength={500} {...field("description")} />
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-slate-700">
            {t("teams.members")}{" "}
            <span className="font-normal text-slate-500">({t("teams.selected", { count: memberIds.length })})</span>
          </legend>
          <input
            type="search"
            aria-label={t("teams.filterMembers")}
            placeholder={t("teams.filterMembers")}
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            className="mb-2 block w-full rounded-lg border border-slate-300 px-3 py-1.5 text-sm"
          />
          <div className="max-h-60 space-y-2 overflow-y-auto rounded-lg border border-slate-200 p-3">
            {shown.map((m) => (
              <Checkbox
                key={m.memberId}
                checked={memberIds.includes(m.memberId)}
                onCheckedChange={(on) => {
                  setMemberIds((v) => (on ? [...v, m.memberId] : v.filter((x) => x !== m.memberId)));
                  clearField("memberIds");
                }}
                label={fullName(m)}
                description={m.email}
              />
            ))}
            {!shown.length ? <p className="text-sm text-slate-500">{t("teams.noMembersMatch")}</p> : null}
          </div>
          <FieldError error={memberError} />
        </fieldset>
        {/* Quiet when the server named the field: the message is there, and goes as the field changes. */}
        <FormError error={save.error} fieldErrors={fieldErrorsOf(save.error, CONFLICT_FIELDS)} />
        <DialogActions
          onCancel={onClose}
          submitLabel={save.isPending ? t("common.saving") : team ? t("common.save") : t("teams.create")}
          pending={save.isPending}
        />
      </form>
    </Modal>
  );
}
