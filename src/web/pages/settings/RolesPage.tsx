import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { CATALOGUE, PERMISSION_GROUPS } from "../../../shared/permissions.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { Checkbox, FieldError, SelectField, TextField } from "../../components/fields.js";
import {
  Button,
  Card,
  Chip,
  DialogActions,
  ErrorState,
  FormError,
  Modal,
  PageHeader,
  Spinner,
  TextLink,
  toast,
} from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { useFormFields, validate } from "../../lib/forms.js";
import { qk, roleName, useRoles } from "../../lib/session.js";
import { fullName, isSystemRole, type Member, type Role } from "../../lib/types.js";

const roleBody = z.object({
  name: z.string().trim().min(1).max(60),
  description: z.string().trim().max(500),
  permissions: z.array(z.string()),
});

/** The permission matrix: one block per area, each permission with its description. */
function PermissionMatrix({
  value,
  onChange,
  readOnly,
}: {
  value: string[];
  onChange?: (v: string[]) => void;
  readOnly?: boolean;
}) {
  const { t } = useTranslation();
  const { can } = useOrgContext();
  const set = new Set(value);
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="permission-matrix">
      {PERMISSION_GROUPS.map((g) => {
        const perms = CATALOGUE.filter((p) => p.group === g);
        const grantable = perms.filter((p) => can(p.key));
        const allOn = grantable.length > 0 && grantable.every((p) => set.has(p.key));
        return (
          <fieldset key={g} className="rounded-xl border border-slate-200 p-3">
            <legend className="px-1 text-sm font-semibold text-slate-900">{t(`groups.${g}`)}</legend>
            {!readOnly ? (
              <div className="mb-2 border-b border-slate-100 pb-2">
                <Checkbox
                  checked={allOn}
                  disabled={!grantable.length}
                  onCheckedChange={(on) => {
                    const next = new Set(set);
                    for (const p of grantable) on ? next.add(p.key) : next.delete(p.key);
                    onChange?.([...next]);
                  }}
                  label={
                    <span className="text-xs text-slate-600">
                      {t("roles.selectGroup", { group: t(`groups.${g}`) })}
                    </span>
                  }
                />
              </div>
            ) : null}
            <div className="space-y-2.5">
              {perms.map((p) => (
                <Checkbox
                  key={p.key}
                  checked={set.has(p.key)}
                  disabled={readOnly || !can(p.key)}
                  onCheckedChange={(on) => {
                    const next = new Set(set);
                    on ? next.add(p.key) : next.delete(p.key);
                    onChange?.([...next]);
                  }}
                  label={t(`permissions.${p.key}.label`)}
                  description={
                    <>
                      {t(`permissions.${p.key}.description`)}{" "}
                      <code className="text-[10px] text-slate-600">{p.key}</code>
                    </>
                  }
                />
              ))}
            </div>
          </fieldset>
        );
      })}
    </div>
  );
}

function RoleEditor({
  role,
  open,
  onOpenChange,
}: {
  role: Role | null;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const { t } = useTranslation();
  const { orgId, me } = useOrgContext();
  const qc = useQueryClient();
  const form = useFormFields({ name: "", description: "" });
  const [permissions, setPermissions] = useState<string[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on open
  useEffect(() => {
    if (open) {
      form.setValues({ name: role?.name ?? "", description: role?.description ?? "" });
      setPermissions(role?.permissions ?? []);
      form.clear();
    }
  }, [open, role]);
  const m = useMutation({
    mutationFn: (body: z.output<typeof roleBody>) =>
      role
        ? api<Role>(`/orgs/${orgId}/roles/${role.id}`, { method: "PATCH", body })
        : api<Role>(`/orgs/${orgId}/roles`, { method: "POST", body }),
    onSuccess: (_r, body) => {
      toast(role ? t("roles.updated", { name: body.name }) : t("roles.created", { name: body.name }));
      void qc.invalidateQueries({ queryKey: qk.roles(orgId) });
      void qc.invalidateQueries({ queryKey: qk.orgMe(orgId) });
      onOpenChange(false);
    },
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(roleBody, { ...form.values, permissions });
    form.setErrors(v.errors);
    if (v.data) m.mutate(v.data);
  };
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={role ? t("roles.editTitle") : t("roles.createTitle")} wide>
      <form onSubmit={submit} noValidate className="space-y-4">
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label={t("roles.name")} {...form.field("name")} />
          <TextField label={t("roles.description")} {...form.field("description")} />
        </div>
        <div>
          <h3 className="mb-1 text-sm font-medium text-slate-700">
            {t("roles.permissions")} ·{" "}
            <span className="font-normal">{t("roles.permissionCount", { count: permissions.length })}</span>
          </h3>
          {!me.isOwner ? <p className="mb-2 text-xs text-slate-500">{t("roles.cannotGrant")}</p> : null}
          <PermissionMatrix
            value={permissions}
            onChange={(next) => {
              setPermissions(next);
              form.clearField("permissions");
            }}
          />
          <FieldError error={form.errors.permissions} />
        </div>
        <FormError error={m.error} fieldErrors={form.errors} />
        <DialogActions
          onCancel={() => onOpenChange(false)}
          pending={m.isPending}
          submitLabel={m.isPending ? t("common.saving") : role ? t("common.save") : t("roles.create")}
        />
      </form>
    </Modal>
  );
}

const HOLDERS_SHOWN = 10;

/** "3 members" that opens into their names (the first ten), with the whole filtered list one link away. */
function RoleHolders({ role, count }: { role: Role; count: number }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const [open, setOpen] = useState(false);
  const listId = useId();
  const holders = useQuery({
    queryKey: [...qk.members(orgId), { roleId: role.id, holders: true }],
    queryFn: () =>
      api<{ items: Member[]; nextCursor: string | null }>(`/orgs/${orgId}/members`, {
        query: { roleId: role.id, limit: HOLDERS_SHOWN },
      }),
    enabled: open,
  });
  if (!count) return <p className="mt-1 text-xs text-slate-500">{t("roles.noHolders")}</p>;
  return (
    <div className="mt-1 text-xs">
      <button
        type="button"
        className="font-medium text-emerald-800 hover:underline focus-visible:outline-2 focus-visible:outline-emerald-600"
        aria-expanded={open}
        aria-controls={listId}
        onClick={() => setOpen((o) => !o)}
        data-testid="role-holders-toggle"
      >
        {t("roles.memberCount", { count })}
      </button>
      {open ? (
        <div id={listId} className="mt-1">
          {holders.isPending ? (
            <Spinner />
          ) : holders.error ? (
            <ErrorState error={holders.error} onRetry={() => void holders.refetch()} />
          ) : (
            <>
              <ul className="flex flex-wrap gap-1" aria-label={t("roles.holders", { role: roleName(role) })}>
                {holders.data.items.map((m) => (
                  <li key={m.memberId}>
                    <Chip>{fullName(m)}</Chip>
                  </li>
                ))}
              </ul>
              {count > holders.data.items.length ? (
                <TextLink
                  to={`/orgs/${orgId}/settings/team?role=${encodeURIComponent(role.id)}`}
                  className="mt-1 inline-block"
                >
                  {t("roles.allHolders", { count })}
                </TextLink>
              ) : null}
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}

function RoleRow({
  role,
  onEdit,
  onDelete,
  onView,
}: {
  role: Role;
  onEdit?: () => void;
  onDelete?: () => void;
  onView: () => void;
}) {
  const { t } = useTranslation();
  const { can } = useOrgContext();
  const system = isSystemRole(role);
  // Who holds it, not only how many (issue 18): for those who may see the member list.
  const showHolders = can("members:read");
  return (
    <li
      className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between"
      data-testid="role-row"
      data-role={role.name}
    >
      <div className="min-w-0">
        <p className="flex flex-wrap items-center gap-2 font-medium text-slate-900">
          {roleName(role)}
          {system ? <Chip>{t("roles.systemBadge")}</Chip> : null}
        </p>
        <p className="text-sm text-slate-500">{system ? t(`systemRoles.${role.id}.description`) : role.description}</p>
        <p className="mt-1 text-xs text-slate-500">
          {t("roles.permissionCount", { count: role.permissions.length })}
          {role.memberCount !== undefined && !showHolders
            ? ` · ${t("roles.memberCount", { count: role.memberCount })}`
            : ""}
        </p>
        {showHolders && role.memberCount !== undefined ? <RoleHolders role={role} count={role.memberCount} /> : null}
      </div>
      <div className="flex shrink-0 gap-2">
        <Button variant="ghost" size="sm" onClick={onView}>
          {t("roles.view")}
        </Button>
        {onEdit ? (
          <Button variant="secondary" size="sm" onClick={onEdit}>
            {t("common.edit")}
          </Button>
        ) : null}
        {onDelete ? (
          <Button variant="ghost" size="sm" className="text-red-700" onClick={onDelete}>
            {t("common.delete")}
          </Button>
        ) : null}
      </div>
    </li>
  );
}

export function RolesPage() {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const roles = useRoles(orgId);
  const [editing, setEditing] = useState<Role | null>(null);
  const [editorOpen, setEditorOpen] = useState(false);
  const [viewing, setViewing] = useState<Role | null>(null);
  const [replaceWith, setReplaceWith] = useState("");
  const manage = can("roles:manage");
  const del = useDeleteRow<Role>({
    path: (r) => `/orgs/${orgId}/roles/${r.id}`,
    query: () => ({ replaceWith: replaceWith || undefined }),
    deleted: () => t("roles.deleted"),
    invalidate: [qk.roles(orgId), qk.members(orgId)],
  });
  const deleting = del.row;
  if (roles.isPending) return <Spinner />;
  if (roles.error) return <ErrorState error={roles.error} onRetry={() => void roles.refetch()} />;
  const system = roles.data.filter(isSystemRole);
  const custom = roles.data.filter((r) => !isSystemRole(r));
  const inUse = deleting?.memberCount ?? 0;
  return (
    <div>
      <PageHeader
        title={t("roles.title")}
        subtitle={t("roles.subtitle")}
        actions={
          manage ? (
            <Button
              onClick={() => {
                setEditing(null);
                setEditorOpen(true);
              }}
            >
              {t("roles.create")}
            </Button>
          ) : null
        }
      />
      <Card title={t("roles.custom")}>
        {custom.length ? (
          <ul className="divide-y divide-slate-100">
            {custom.map((r) => (
              <RoleRow
                key={r.id}
                role={r}
                onView={() => setViewing(r)}
                {...(manage
                  ? {
                      onEdit: () => {
                        setEditing(r);
                        setEditorOpen(true);
                      },
                      onDelete: () => {
                        setReplaceWith("");
                        del.ask(r);
                      },
                    }
                  : {})}
              />
            ))}
          </ul>
        ) : (
          <p className="text-sm text-slate-500">{t("roles.noCustom")}</p>
        )}
      </Card>
      <Card title={t("roles.system")} description={t("roles.readOnly")} className="mt-6">
        <ul className="divide-y divide-slate-100">
          {system.map((r) => (
            <RoleRow key={r.id} role={r} onView={() => setViewing(r)} />
          ))}
        </ul>
      </Card>
      <RoleEditor role={editing} open={editorOpen} onOpenChange={setEditorOpen} />
      <Modal
        open={viewing !== null}
        onOpenChange={(o) => !o && setViewing(null)}
        title={viewing ? roleName(viewing) : ""}
        description={t("roles.readOnly")}
        wide
      >
        {viewing ? <PermissionMatrix value={viewing.permissions} readOnly /> : null}
      </Modal>
      <DeleteConfirm
        del={del}
        title={t("roles.deleteTitle", { name: deleting?.name ?? "" })}
        body={inUse ? t("roles.deleteInUse", { count: inUse }) : t("roles.deleteBody")}
        confirmLabel={t("roles.deleteConfirm")}
        blocked={inUse > 0 && !replaceWith}
      >
        {inUse ? (
          <SelectField
            label={t("roles.replaceWith")}
            value={replaceWith}
            onChange={(e) => setReplaceWith(e.target.value)}
          >
            <option value="">—</option>
            {roles.data
              .filter((r) => r.id !== deleting?.id)
              .map((r) => (
                <option key={r.id} value={r.id}>
                  {roleName(r)}
                </option>
              ))}
          </SelectField>
        ) : null}
      </DeleteConfirm>
    </div>
  );
}
