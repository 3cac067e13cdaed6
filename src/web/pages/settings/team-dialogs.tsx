import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { QUICK_ROLE_PICKER } from "../../../shared/permissions.js";
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
import { describeError } from "../../lib/problems.js";
import { qk, roleName, useMe, useRoles } from "../../lib/session.js";
import { fullName, isSystemRole, type Member, type Role, roleIdsOf } from "../../lib/types.js";

/** Roles the acting member may grant: all for the owner, otherwise roles within their own permissions. */
export function useGrantableRoles(): { roles: Role[]; loading: boolean } {
  const { orgId, me, can } = useOrgContext();
  // The server names them (GET /orgs/:id/me); with roles:read, the roles list adds custom roles' descriptions.
  const q = useRoles(orgId, can("roles:read"));
  const described = new Map((q.data ?? []).map((r) => [r.id, r]));
  return {
    roles: (me.grantableRoles ?? []).map(
      (r) => described.get(r.id) ?? { id: r.id, name: r.name, isSystem: r.isSystem, permissions: [] },
    ),
    loading: false,
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

/** People one invite dialog sends at most (the server takes up to MAX_BULK_INVITATIONS in one request). */
const MAX_INVITE_ROWS = 10;
type PersonKey = "firstName" | "lastName" | "email";
/** The form keys of the person in row `id`: row 0 has the plain names (a single invite's field errors land there). */
const keyOf = (id: number, k: PersonKey) => (id === 0 ? k : `p${id}.${k}`);

interface BulkInviteAnswer {
  results: {
    index: number;
    email: string | null;
    status: "invited" | "failed";
    error?: { code: string; detail: string; errors?: { path: string; message: string }[] };
  }[];
  invited: number;
  failed: number;
}

export function InviteDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const { t } = useTranslation();
  const { orgId, org } = useOrgContext();
  const qc = useQueryClient();
  const { roles } = useGrantableRoles();
  const form = useFormFields<Record<string, string>>({ firstName: "", lastName: "", email: "" });
  // Several people in one step (issue 18, peers): the rows share the roles; row 0 is always there.
  const [rows, setRows] = useState<number[]>([0]);
  const nextRow = useRef(1);
  const [roleIds, setRoleIds] = useState<string[]>(["operator"]);
  const quick = QUICK_ROLE_PICKER.filter((q) => roles.some((r) => r.id === q.roleId));

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on open only
  useEffect(() => {
    if (open) {
      form.setValues({ firstName: "", lastName: "", email: "" });
      setRows([0]);
      setRoleIds([QUICK_ROLE_PICKER[0]!.roleId]); // the most restrictive role, as the KWIC guide advises
      form.clear();
    }
  }, [open]);

  const personOf = (id: number) => ({
    firstName: form.values[keyOf(id, "firstName")] ?? "",
    lastName: form.values[keyOf(id, "lastName")] ?? "",
    email: form.values[keyOf(id, "email")] ?? "",
    roleIds,
  });
  const conflictMessage = (code: string, fallback: string) =>
    /invit/.test(code) ? t("team.alreadyInvited") : /member/.test(code) ? t("team.alreadyMember") : fallback;

  const m = useMutation({
    mutationFn: (body: z.output<typeof inviteBody>) => api(`/orgs/${orgId}/invitations`, { method: "POST", body }),
    onSuccess: (_r, body) => {
      toast(t("team.invited", { email: body.email }));
      void qc.invalidateQueries({ queryKey: qk.invitations(orgId) });
      onOpenChange(false);
    },
    onError: (e) => {
      if (form.fromServer(e)) return;
      if (e instanceof ApiError && e.status === 409)
        form.setErrors({ email: conflictMessage(e.code, describeError(e)) });
    },
  });
  const many = useMutation({
    mutationFn: (ids: number[]) =>
      api<BulkInviteAnswer>(`/orgs/${orgId}/invitations`, {
        method: "POST",
        body: { invitations: ids.map((id) => personOf(id)) },
      }),
    onSuccess: (answer, ids) => {
      void qc.invalidateQueries({ queryKey: qk.invitations(orgId) });
      if (answer.invited) toast(t("team.invitedMany", { count: answer.invited }));
      if (!answer.failed) {
        onOpenChange(false);
        return;
      }
      // The people invited leave the dialog; each refused row keeps its error on its field.
      const errors: Record<string, string> = {};
      const kept: number[] = [];
      for (const r of answer.results) {
        const id = ids[r.index];
        if (id === undefined || r.status === "invited") continue;
        kept.push(id);
        const field = r.error?.errors?.[0];
        const k = (field?.path === "firstName" || field?.path === "lastName" ? field.path : "email") as PersonKey;
        errors[keyOf(id, k)] = field?.message ?? conflictMessage(r.error?.code ?? "", r.error?.detail ?? "");
      }
      const [first, ...rest] = kept;
      // The first refused row moves to row 0's fields, so the dialog always starts with a person.
      if (first !== undefined && first !== 0) {
        const moved = personOf(first);
        form.setValues((v) => ({ ...v, firstName: moved.firstName, lastName: moved.lastName, email: moved.email }));
        for (const k of ["firstName", "lastName", "email"] as const) {
          if (errors[keyOf(first, k)]) {
            errors[k] = errors[keyOf(first, k)]!;
            delete errors[keyOf(first, k)];
          }
        }
      }
      setRows([0, ...rest]);
      form.setErrors(errors);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (rows.length === 1) {
      const v = validate(inviteBody, personOf(0));
      form.setErrors(v.errors);
      if (v.data) m.mutate(v.data);
      return;
    }
    const errors: Record<string, string> = {};
    for (const id of rows) {
      const v = validate(inviteBody, personOf(id));
      for (const [k, msg] of Object.entries(v.errors)) {
        errors[k === "roleIds" ? k : keyOf(id, k as PersonKey)] = msg;
      }
    }
    form.setErrors(errors);
    if (!Object.keys(errors).length) many.mutate(rows);
  };
  const pending = m.isPending || many.isPending;
  return (
    <Modal
      open={open}
      onOpenChange={onOpenChange}
      title={t("team.inviteTitle")}
      description={t("team.inviteSubtitle", { org: org?.name ?? "" })}
      wide
    >
      <form onSubmit={submit} noValidate className="grid gap-5 md:grid-cols-2">
        <div className="min-w-0 space-y-4">
          {rows.map((id, i) =>
            i === 0 ? (
              <div key={id} className="space-y-4">
                <NameFields first={form.field("firstName")} last={form.field("lastName")} />
                <TextField label={t("auth.email")} type="email" {...form.field("email")} />
              </div>
            ) : (
              <fieldset
                key={id}
                className="space-y-3 rounded-lg border border-slate-200 p-3"
                data-testid="invite-person"
              >
                <legend className="px-1 text-sm font-medium text-slate-700">
                  {t("team.invitePerson", { n: i + 1 })}
                </legend>
                <NameFields first={form.field(keyOf(id, "firstName"))} last={form.field(keyOf(id, "lastName"))} />
                <TextField label={t("auth.email")} type="email" {...form.field(keyOf(id, "email"))} />
                <button
                  type="button"
                  className="text-sm font-medium text-red-700 hover:underline"
                  onClick={() => {
                    setRows((r) => r.filter((x) => x !== id));
                    for (const k of ["firstName", "lastName", "email"] as const) form.clearField(keyOf(id, k));
                  }}
                >
                  {t("team.inviteRemovePerson", { n: i + 1 })}
                </button>
              </fieldset>
            ),
          )}
          {rows.length < MAX_INVITE_ROWS ? (
            <button
              type="button"
              className="text-sm font-medium text-emerald-800 hover:underline"
              onClick={() => {
                const id = nextRow.current++;
                form.setValues((v) => ({
                  ...v,
                  [keyOf(id, "firstName")]: "",
                  [keyOf(id, "lastName")]: "",
                  [keyOf(id, "email")]: "",
                }));
                setRows((r) => [...r, id]);
              }}
            >
              + {t("team.inviteAddPerson")}
            </button>
          ) : null}
          <fieldset>
            <legend className="mb-1 text-sm font-medium text-slate-700">
              {t("team.rolesLabel")} <span className="font-normal text-slate-600">({t("common.optional")})</span>
            </legend>
            <p className="mb-2 text-xs text-slate-500">{t("team.rolesHelp")}</p>
            <RoleChecklist
              roles={roles}
              value={roleIds}
              onChange={(next) => {
                setRoleIds(next);
                form.clearField("roleIds");
              }}
            />
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
          {isEmailNotVerified(m.error ?? many.error) ? (
            <VerifyEmailFirst />
          ) : (
            <FormError error={m.error ?? many.error} fieldErrors={form.errors} />
          )}
          <DialogActions
            onCancel={() => onOpenChange(false)}
            pending={pending}
            submitLabel={
              pending
                ? t("team.sending")
                : rows.length > 1
                  ? t("team.sendInvites", { count: rows.length })
                  : t("team.sendInvite")
            }
          />
        </div>
      </form>
    </Modal>
  );
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

const editBody = z.object({ firstName: nameSchema, lastName: nameSchema });

export function EditMemberDrawer({ member, onClose }: { member: Member | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { orgId, memberActions, roleLabel } = useOrgContext();
  const qc = useQueryClient();
  const { roles } = useGrantableRoles();
  const form = useFormFields({ firstName: "", lastName: "" });
  const [roleIds, setRoleIds] = useState<string[]>([]);
  // One's own roles (and roles one could not grant) are shown, not changed: the server would refuse.
  const lockedRoles = !member || !memberActions(member).changeRoles;
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
      .map((id) => ({ id, name: roleLabel(id), permissions: [] as string[] }));
    return [...roles, ...extra];
  }, [roles, member, roleLabel]);
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
    if (!v.data || !member) return;
    // Only what changed: a name-only edit does not resend the roles.
    const rolesChanged = !sameSet(roleIdsOf(member), roleIds);
    m.mutate(lockedRoles || !rolesChanged ? v.data : { ...v.data, roleIds });
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
            {lockedRoles ? <p className="mb-2 text-xs text-amber-800">{t("team.editSelf")}</p> : null}
            <RoleChecklist roles={shown} value={roleIds} onChange={setRoleIds} disabled={lockedRoles} />
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
      <form {...fe.formProps} onSubmit={submit} noValidate className="space-y-4">
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
