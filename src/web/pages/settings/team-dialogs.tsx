import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { PermissionSet, QUICK_ROLE_PICKER, SYSTEM_ROLES } from "../../../shared/permissions.js";
import { nameSchema } from "../../../shared/schemas/common.js";
import { inviteBody as sharedInviteBody } from "../../../shared/schemas/invitations.js";
import {
  Checkbox,
  CodeField,
  FieldError,
  NameFields,
  PasswordField,
  SelectField,
  TextArea,
  TextField,
} from "../../components/fields.js";
import { Chip, cx, DialogActions, FormError, Modal, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { ApiError, api } from "../../lib/api.js";
import { useFieldErrors, useFormFields, validate } from "../../lib/forms.js";
import { qk, roleName, useMe, useRoles } from "../../lib/session.js";
import { fullName, isSystemRole, type Member, type Role, roleIdsOf } from "../../lib/types.js";

/** Roles the acting member may grant: all for the owner, otherwise roles within their own permissions. */
export function useGrantableRoles(): { roles: Role[]; loading: boolean } {
  const { orgId, me, can } = useOrgContext();
  const q = useRoles(orgId, can("roles:read") || can("members:invite") || can("members:update"));
  const fallback: Role[] = SYSTEM_ROLES.map((r) => ({
    id: r.id,
    name: r.name,
    description: r.description,
    isSystem: true,
    permissions: [...r.permissions],
  }));
  const roles = q.data ?? (q.isError ? fallback : []);
  const held = PermissionSet.of(me.isOwner ? PermissionSet.all().toArray() : me.permissions);
  return {
    roles: roles.filter((r) => PermissionSet.of(r.permissions).missingFrom(held).length === 0),
    loading: q.isPending && !q.isError,
  };
}

function RoleChecklist({
  roles,
  value,
  onChange,
  disabled,
}: {
  roles: Role[];
  value: string[];
  onChange: (v: string[]) => void;
  disabled?: boolean;
}) {
  const { t } = useTranslation();
  const list = useRef<HTMLDivElement>(null);
  const ownChange = useRef(false);
  // A role chosen from elsewhere (the quick picker, the member's current roles) may sit below the
  // list's fold: scroll the list (only the list) to the first checked one. Not after a click in the list.
  const checked = value.join();
  // biome-ignore lint/correctness/useExhaustiveDependencies: when the selection changes
  useEffect(() => {
    if (ownChange.current) {
      ownChange.current = false;
      return;
    }
    const box = list.current;
    const first = box?.querySelector<HTMLElement>('[role="checkbox"][data-state="checked"]');
    if (!box || !first) return;
    const top = first.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    if (top < box.scrollTop || top + first.offsetHeight > box.scrollTop + box.clientHeight)
      box.scrollTop = Math.max(0, top - 12);
  }, [checked, roles.length]);
  return (
    <div ref={list} className="max-h-64 space-y-2.5 overflow-y-auto rounded-lg border border-slate-200 p-3">
      {roles.map((r) => (
        <Checkbox
          key={r.id}
          checked={value.includes(r.id)}
          disabled={disabled}
          onCheckedChange={(on) => {
            ownChange.current = true;
            onChange(on ? [...value, r.id] : value.filter((x) => x !== r.id));
          }}
          label={roleName(r)}
          description={isSystemRole(r) ? t(`systemRoles.${r.id}.description`) : (r.description ?? undefined)}
        />
      ))}
    </div>
  );
}

// The server's own schema: the dialog checks exactly what the API checks.
const inviteBody = sharedInviteBody;

const isEmailNotVerified = (e: unknown) => e instanceof ApiError && e.code === "email_not_verified";

/** Inviting needs a verified email (audit finding 7): say so, and offer the link again. */
function VerifyEmailFirst() {
  const { t } = useTranslation();
  const resend = useMutation({
    mutationFn: () => api("/auth/verify-email/resend", { method: "POST" }),
    onSuccess: () => toast(t("team.verificationSent")),
  });
  return (
    <div
      role="alert"
      className="space-y-2 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900"
    >
      <p>{t("team.emailNotVerified")}</p>
      {resend.isSuccess ? (
        <p>{t("team.verificationSent")}</p>
      ) : (
        <button
          type="button"
          onClick={() => resend.mutate()}
          disabled={resend.isPending}
          className="font-medium underline focus-visible:outline-2 focus-visible:outline-emerald-600"
        >
          {t("team.resendVerification")}
        </button>
      )}
      <FormError error={resend.error} />
    </div>
  );
}

export function InviteDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const { t } = useTranslation();
  const { orgId, org } = useOrgContext();
  const qc = useQueryClient();
  const { roles } = useGrantableRoles();
  const form = useFormFields({ firstName: "", lastName: "", email: "" });
  const [roleIds, setRoleIds] = useState<string[]>(["operator"]);
  const quick = QUICK_ROLE_PICKER.filter((q) => roles.some((r) => r.id === q.roleId));

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on open only
  useEffect(() => {
    if (open) {
      form.setValues({ firstName: "", lastName: "", email: "" });
      setRoleIds([QUICK_ROLE_PICKER[0]!.roleId]); // the most restrictive role, as the KWIC guide advises
      form.clear();
    }
  }, [open]);

  const m = useMutation({
    mutationFn: (body: z.output<typeof inviteBody>) => api(`/orgs/${orgId}/invitations`, { method: "POST", body }),
    onSuccess: (_r, body) => {
      toast(t("team.invited", { email: body.email }));
      void qc.invalidateQueries({ queryKey: qk.invitations(orgId) });
      onOpenChange(false);
    },
    onError: (e) => {
      if (form.fromServer(e)) return;
      if (e instanceof ApiError && e.status === 409) {
        form.setErrors({
          email: /invit/.test(e.code)
            ? t("team.alreadyInvited")
            : /member/.test(e.code)
              ? t("team.alreadyMember")
              : e.message,
        });
      }
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(inviteBody, { ...form.values, roleIds });
    form.setErrors(v.errors);
    if (v.data) m.mutate(v.data);
  };
  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      title={t("team.inviteTitle")}
      description={t("team.inviteSubtitle", { org: org?.name ?? "" })}
      wide
    >
      <form onSubmit={submit} noValidate className="grid gap-5 md:grid-cols-2">
        <div className="space-y-4">
          <NameFields first={form.field("firstName")} last={form.field("lastName")} />
          <TextField label={t("auth.email")} type="email" {...form.field("email")} />
          <fieldset>
            <legend className="mb-1 text-sm font-medium text-slate-700">
              {t("team.rolesLabel")} <span className="font-normal text-slate-400">({t("common.optional")})</span>
            </legend>
            <p className="mb-2 text-xs text-slate-500">{t("team.rolesHelp")}</p>
            <RoleChecklist roles={roles} value={roleIds} onChange={setRoleIds} />
            <FieldError error={form.errors.roleIds} />
          </fieldset>
        </div>
        <aside className="rounded-xl bg-emerald-50/60 p-4" aria-labelledby="quick-picker-title">
          <h3 id="quick-picker-title" className="text-sm font-semibold text-emerald-900">
            {t("team.quickPickerTitle")}
          </h3>
          <p className="mt-1 text-xs text-emerald-900/80">{t("team.quickPickerHelp")}</p>
          <ul className="mt-3 space-y-1.5">
            {quick.map((q) => {
              const active = roleIds.length === 1 && roleIds[0] === q.roleId;
              return (
                <li key={q.roleId}>
                  <button
                    type="button"
                    aria-pressed={active}
                    onClick={() => setRoleIds([q.roleId])}
                    className={cx(
                      "flex w-full items-center justify-between gap-2 rounded-lg border px-3 py-2 text-left text-sm focus-visible:outline-2 focus-visible:outline-emerald-600",
                      active
                        ? "border-emerald-500 bg-white font-medium text-emerald-900"
                        : "border-transparent text-slate-700 hover:bg-white",
                    )}
                  >
                    <span>{t(`quickPicker.${q.roleId}`)}</span>
                    <span className="shrink-0 text-xs text-slate-500">→ {t(`systemRoles.${q.roleId}.name`)}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        </aside>
        <div className="flex flex-col gap-3 md:col-span-2">
          {isEmailNotVerified(m.error) ? <VerifyEmailFirst /> : <FormError error={m.error} fieldErrors={form.errors} />}
          <DialogActions
            onCancel={() => onOpenChange(false)}
            pending={m.isPending}
            submitLabel={m.isPending ? t("team.sending") : t("team.sendInvite")}
          />
        </div>
      </form>
    </Modal>
  );
}

const editBody = z.object({ firstName: nameSchema, lastName: nameSchema });

export function EditMemberDrawer({ member, onClose }: { member: Member | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const me = useMe();
  const qc = useQueryClient();
  const { roles } = useGrantableRoles();
  const form = useFormFields({ firstName: "", lastName: "" });
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const isSelf = Boolean(member && me.data && member.userId === me.data.id);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset per member
  useEffect(() => {
    if (member) {
      form.setValues({ firstName: member.firstName, lastName: member.lastName });
      setRoleIds(roleIdsOf(member));
      form.clear();
    }
  }, [member]);
  // Roles the member holds that the editor could not grant stay visible (and kept).
  const shown = useMemo(() => {
    const ids = new Set(roles.map((r) => r.id));
    const extra = (member ? roleIdsOf(member) : [])
      .filter((id) => !ids.has(id))
      .map((id) => ({ id, name: member?.roles?.find((r) => r.id === id)?.name ?? id, permissions: [] as string[] }));
    return [...roles, ...extra];
  }, [roles, member]);
  const m = useMutation({
    mutationFn: (body: { firstName: string; lastName: string; roleIds?: string[] }) =>
      api(`/orgs/${orgId}/members/${member!.memberId}`, { method: "PATCH", body }),
    onSuccess: () => {
      toast(t("common.saved"));
      void qc.invalidateQueries({ queryKey: qk.members(orgId) });
      void qc.invalidateQueries({ queryKey: qk.roles(orgId) });
      onClose();
    },
    onError: (e) => form.fromServer(e),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(editBody, form.values);
    form.setErrors(v.errors);
    if (v.data) m.mutate(isSelf ? v.data : { ...v.data, roleIds });
  };
  return (
    <Modal
      open={member !== null}
      onOpenChange={(o) => !o && onClose()}
      title={t("team.editTitle")}
      description={member ? t("team.editSubtitle", { name: fullName(member) }) : undefined}
      side
    >
      {member ? (
        <form onSubmit={submit} noValidate className="space-y-4">
          <NameFields first={form.field("firstName")} last={form.field("lastName")} stacked />
          <TextField label={t("auth.email")} name="email" value={member.email} readOnly disabled />
          <fieldset>
            <legend className="mb-2 text-sm font-medium text-slate-700">{t("team.rolesLabel")}</legend>
            {isSelf ? <p className="mb-2 text-xs text-amber-700">{t("team.editSelf")}</p> : null}
            <RoleChecklist roles={shown} value={roleIds} onChange={setRoleIds} disabled={isSelf} />
            <FieldError error={form.errors.roleIds} />
          </fieldset>
          <FormError error={m.error} fieldErrors={form.errors} />
          <div className="pt-2">
            <DialogActions
              onCancel={onClose}
              pending={m.isPending}
              submitLabel={m.isPending ? t("common.saving") : t("common.save")}
            />
          </div>
        </form>
      ) : null}
    </Modal>
  );
}

/**
 * Rows of a pasted or chosen CSV, for the preview only: the file goes to the server as it is
 * (text/csv), whose parser reads the header, resolves role names and answers per row.
 */
export function countCsvRows(text: string): number {
  const lines = text.split(/\r?\n/).filter((l) => /[^,\s]/.test(l));
  return Math.max(0, lines.length - 1);
}

interface BulkResult {
  email?: string;
  ok?: boolean;
  status?: number | string;
  error?: { code?: string; detail?: string } | string | null;
  code?: string;
  detail?: string;
}

export function ImportCsvDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const qc = useQueryClient();
  const [text, setText] = useState("");
  const rowCount = useMemo(() => countCsvRows(text), [text]);
  const m = useMutation({
    mutationFn: () => api<unknown>(`/orgs/${orgId}/invitations`, { method: "POST", body: text }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: qk.invitations(orgId) }),
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on open only
  useEffect(() => {
    if (open) {
      setText("");
      m.reset();
    }
  }, [open]);
  const raw = m.data as { results?: BulkResult[]; items?: BulkResult[] } | BulkResult[] | undefined;
  const results: BulkResult[] = Array.isArray(raw) ? raw : (raw?.results ?? raw?.items ?? []);
  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      title={t("team.importTitle")}
      description={t("team.importHelp")}
      wide
    >
      <div className="space-y-4">
        <div>
          <label className="mb-1 block text-sm font-medium text-slate-700" htmlFor="csv-file">
            {t("team.importFile")}
          </label>
          <input
            id="csv-file"
            type="file"
            accept=".csv,text/csv"
            className="block w-full text-sm file:mr-3 file:rounded-lg file:border-0 file:bg-slate-100 file:px-3 file:py-2 file:text-sm file:font-medium"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (f) setText(await f.text());
            }}
          />
        </div>
        <TextArea
          label={t("team.importPaste")}
          rows={6}
          value={text}
          onChange={(e) => setText(e.target.value)}
          className="font-mono"
          placeholder={"email,firstName,lastName,roles\nana@example.com,Ana,García,operator"}
        />
        {rowCount ? <p className="text-sm text-slate-600">{t("team.importPreview", { count: rowCount })}</p> : null}
        {rowCount > 100 ? <p className="text-sm text-red-600">{t("team.importTooMany")}</p> : null}
        {results.length ? (
          <ul className="max-h-48 space-y-1 overflow-y-auto text-sm">
            {results.map((r, i) => {
              const ok =
                r.ok ??
                (typeof r.status === "number" ? r.status < 300 : r.status === "created" || r.status === "invited");
              const err = typeof r.error === "string" ? r.error : (r.error?.detail ?? r.detail ?? r.code ?? "");
              return (
                <li key={r.email ?? String(i)} className="flex flex-wrap items-center gap-2">
                  <Chip tone={ok ? "emerald" : "red"}>
                    {ok ? t("team.importResultOk") : t("team.importResultError")}
                  </Chip>
                  <span>{r.email}</span>
                  {!ok && err ? <span className="text-slate-500">— {err}</span> : null}
                </li>
              );
            })}
          </ul>
        ) : null}
        {isEmailNotVerified(m.error) ? <VerifyEmailFirst /> : <FormError error={m.error} />}
        <DialogActions
          onCancel={() => onOpenChange(false)}
          cancelLabel={t("common.close")}
          onSubmit={() => m.mutate()}
          pending={m.isPending}
          disabled={!rowCount || rowCount > 100}
          submitLabel={m.isPending ? t("team.sending") : t("team.importSubmit")}
        />
      </div>
    </Modal>
  );
}

export function TransferOwnershipDialog({
  open,
  onOpenChange,
  members,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  members: Member[];
}) {
  const { t } = useTranslation();
  const { orgId, org } = useOrgContext();
  const me = useMe();
  const qc = useQueryClient();
  const [memberId, setMemberId] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const fe = useFieldErrors();
  const needsCode = Boolean(me.data?.twoFactorEnabled);
  const candidates = members.filter((m) => !m.isOwner);
  const m = useMutation({
    mutationFn: (body: { memberId: string; password: string; code?: string }) =>
      api(`/orgs/${orgId}/transfer-ownership`, { method: "POST", body }),
    onSuccess: () => {
      const target = candidates.find((c) => c.memberId === memberId);
      toast(t("team.transferred", { name: target ? fullName(target) : "" }));
      void qc.invalidateQueries({ queryKey: ["org", orgId] });
      onOpenChange(false);
    },
    onError: (e) => fe.fromServer(e),
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on open only
  useEffect(() => {
    if (open) {
      setMemberId("");
      setPassword("");
      setCode("");
      fe.clear();
      m.reset();
    }
  }, [open]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const errors: Record<string, string> = {};
    if (!memberId) errors.memberId = t("validation.required");
    if (!password) errors.password = t("validation.required");
    if (needsCode && !/^\d{6}$/.test(code)) errors.code = t("validation.code");
    fe.setErrors(errors);
    if (!Object.keys(errors).length) m.mutate({ memberId, password, ...(needsCode ? { code } : {}) });
  };
  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      title={t("team.transferTitle")}
      description={t("team.transferBody", {
        org: org?.name ?? "",
        codeNote: needsCode ? t("team.transferCodeNote") : "",
      })}
    >
      <form onSubmit={submit} noValidate className="space-y-4">
        <SelectField
          label={t("team.transferTo")}
          value={memberId}
          onChange={(e) => setMemberId(e.target.value)}
          error={fe.errors.memberId}
        >
          <option value="">{t("team.transferPick")}</option>
          {candidates.map((c) => (
            <option key={c.memberId} value={c.memberId}>
              {fullName(c)} ({c.email})
            </option>
          ))}
        </SelectField>
        <PasswordField
          kind="current"
          label={t("profile.currentPassword")}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fe.errors.password}
        />
        {needsCode ? (
          <CodeField value={code} onChange={(e) => setCode(e.target.value.trim())} error={fe.errors.code} />
        ) : null}
        <FormError error={m.error} fieldErrors={fe.errors} />
        <DialogActions
          onCancel={() => onOpenChange(false)}
          pending={m.isPending}
          danger
          submitLabel={t("team.transferSubmit")}
        />
      </form>
    </Modal>
  );
}
