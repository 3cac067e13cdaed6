import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { DataTable, LoadMore, QueryView, useUrlFilters } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { SelectField, TextField } from "../../components/fields.js";
import { MenuAction, RowMenu } from "../../components/menu.js";
import { actionsColumn } from "../../components/table-card.js";
import {
  Avatar,
  Button,
  buttonClass,
  Card,
  Chip,
  Confirm,
  ErrorState,
  PageHeader,
  Spinner,
  toast,
  useDebounced,
} from "../../components/ui.js";
import { OwnerBadge, useOrgContext } from "../../layout.js";
import { api, itemsOf } from "../../lib/api.js";
import { useCursorList } from "../../lib/cursor-list.js";
import { formatDate, relativeTime } from "../../lib/i18n.js";
import { describeError } from "../../lib/problems.js";
import { qk, roleName, useMe, useRoles } from "../../lib/session.js";
import { fullName, type Invitation, type Member, type Role, roleIdsOf } from "../../lib/types.js";
import { useTeams } from "../../lib/workspace.js";
import {
  EditMemberDrawer,
  ImportCsvDialog,
  InviteDialog,
  TransferOwnershipDialog,
  useGrantableRoles,
} from "./team-dialogs.js";

type Sort = "name" | "joined" | "lastActive";
const PAGE = 25;

/** "Conversations handled" in Team Management covers the last 30 days, today included (UTC days). */
const HANDLED_DAYS = 30;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Conversations each member handled (sent a WhatsApp message in) over the last 30 days, from
 * GET /analytics/chats (`chats:analytics`): memberId → count. Not asked without the permission.
 */
function useHandledCounts(orgId: string, enabled: boolean) {
  const to = utcDay(Date.now());
  const from = utcDay(Date.now() - (HANDLED_DAYS - 1) * 86_400_000);
  return useQuery({
    queryKey: ["org", orgId, "analytics", "chats", { from, to }],
    queryFn: async () => {
      const res = await api<{ items: { memberId: string; conversationsHandled: number }[] }>(
        `/orgs/${orgId}/analytics/chats`,
        { query: { from, to } },
      );
      return new Map(res.items.map((i) => [i.memberId, i.conversationsHandled]));
    },
    enabled,
    staleTime: 5 * 60_000,
  });
}

function sortMembers(list: Member[], sort: Sort): Member[] {
  const copy = [...list];
  const time = (v: string | null | undefined) => (v ? new Date(v).getTime() : 0);
  if (sort === "name") copy.sort((a, b) => fullName(a).localeCompare(fullName(b)));
  if (sort === "joined") copy.sort((a, b) => time(b.joinedAt ?? b.createdAt) - time(a.joinedAt ?? a.createdAt));
  if (sort === "lastActive") copy.sort((a, b) => time(b.lastActiveAt) - time(a.lastActiveAt));
  return copy;
}

export function TeamPage() {
  const { t } = useTranslation();
  const { orgId, org, me: membership, can, roleLabel, memberActions } = useOrgContext();
  const me = useMe();
  const qc = useQueryClient();
  // Filters live in the address: a reload or a shared link shows the same list.
  const [filters, setFilter] = useUrlFilters({ q: "", role: "", team: "", twoFactor: "", sort: "name" });
  const [search, setSearch] = useState(filters.q);
  const q = useDebounced(search.trim());
  // biome-ignore lint/correctness/useExhaustiveDependencies: on the debounced text only
  useEffect(() => setFilter("q", q), [q]);
  const roleId = filters.role;
  const setRoleId = (v: string) => setFilter("role", v);
  const teamId = filters.team;
  const twoFactor = filters.twoFactor === "on" || filters.twoFactor === "off" ? filters.twoFactor : "";
  const sort = (["name", "joined", "lastActive"].includes(filters.sort) ? filters.sort : "name") as Sort;
  const setSort = (v: Sort) => setFilter("sort", v);
  const [inviteOpen, setInviteOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const [transferOpen, setTransferOpen] = useState(false);
  const [editing, setEditing] = useState<Member | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const roles = useRoles(orgId, can("roles:read"));
  const teams = useTeams(orgId);
  const { roles: grantable } = useGrantableRoles();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const seesAnalytics = can("chats:analytics");
  const handled = useHandledCounts(orgId, seesAnalytics);

  const members = useCursorList<Member>({
    queryKey: qk.members(orgId),
    path: `/orgs/${orgId}/members`,
    limit: PAGE,
    filters: { q, roleId, teamId, twoFactor, sort },
  });
  const list = useMemo(() => sortMembers(members.data ?? [], sort), [members.data, sort]);

  // The selection keeps only members still listed (a filter or a removal drops the others).
  const picked = list.filter((m) => selected.has(m.memberId));
  const toggle = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const selectable = list.filter((m) => {
    const a = memberActions(m);
    return a.changeRoles || a.remove;
  });

  const invitations = useQuery({
    queryKey: qk.invitations(orgId),
    queryFn: async () =>
      itemsOf<Invitation>(await api(`/orgs/${orgId}/invitations`, { query: { status: "pending", limit: 100 } })),
  });
  const pending = (invitations.data ?? []).filter(
    (i) => (i.state ?? i.status ?? "pending") === "pending" || (i.state ?? i.status) === "expired",
  );

  const remove = useDeleteRow({
    path: (m: Member) => `/orgs/${orgId}/members/${m.memberId}`,
    deleted: (m) => t("team.removed", { name: fullName(m) }),
    invalidate: [qk.members(orgId)],
  });
  const resend = useMutation({
    mutationFn: (i: Invitation) => api(`/orgs/${orgId}/invitations/${i.id}/resend`, { method: "POST", body: {} }),
    onSuccess: (_r, i) => {
      toast(t("team.resent", { email: i.email }));
      void qc.invalidateQueries({ queryKey: qk.invitations(orgId) });
    },
    onError: (e) => toast(describeError(e), "error"),
  });
  const revoke = useMutation({
    mutationFn: (i: Invitation) => api(`/orgs/${orgId}/invitations/${i.id}`, { method: "DELETE" }),
    // Optimistic: the row disappears at once, and comes back if the server refuses.
    onMutate: async (i) => {
      await qc.cancelQueries({ queryKey: qk.invitations(orgId) });
      const prev = qc.getQueryData<Invitation[]>(qk.invitations(orgId));
      qc.setQueryData<Invitation[]>(qk.invitations(orgId), (old) => old?.filter((x) => x.id !== i.id));
      setRevoking(null);
      return { prev };
    },
    onError: (e, _i, ctx) => {
      if (ctx?.prev) qc.setQueryData(qk.invitations(orgId), ctx.prev);
      toast(describeError(e), "error");
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.invitations(orgId) }),
  });

  const setRoles = useMutation({
    mutationFn: ({ m, roleIds }: { m: Member; roleIds: string[] }) =>
      api(`/orgs/${orgId}/members/${m.memberId}`, { method: "PATCH", body: { roleIds } }),
    onSuccess: (_r, { m, roleIds }) => {
      toast(
        t("team.roleChanged", {
          name: fullName(m),
          role: roleIds.length ? roleLabel(roleIds[0]!) : t("team.noRolesChip"),
        }),
      );
      void qc.invalidateQueries({ queryKey: qk.members(orgId) });
    },
    onError: (e) => toast(describeError(e), "error"),
  });
  const exportQuery = new URLSearchParams(
    Object.entries({ q, roleId, teamId, twoFactor, sort }).filter(([, v]) => v !== ""),
  ).toString();

  const canInvite = can("members:invite");
  const myUserId = me.data?.id;
  const roleOptions = roles.data ?? [];
  const refs = (x: { roles?: { id: string; name: string }[]; roleIds?: string[] }) =>
    roleIdsOf(x).map((id) => ({ id, name: roleLabel(id) }));

  return (
    <div>
      <PageHeader
        title={t("team.title")}
        subtitle={t("team.subtitle")}
        actions={
          <>
            {can("audit:read") ? (
              // A download by the browser (the session cookie goes with it); the server records it.
              <a
                href={`/api/v1/orgs/${orgId}/members/export${exportQuery ? `?${exportQuery}` : ""}`}
                download
                className={buttonClass("secondary")}
              >
                {t("team.export")}
              </a>
            ) : null}
            {membership.isOwner ? (
              <Button variant="secondary" onClick={() => setTransferOpen(true)}>
                {t("team.transfer")}
              </Button>
            ) : null}
            {canInvite ? (
              <Button variant="secondary" onClick={() => setImportOpen(true)}>
                {t("team.import")}
              </Button>
            ) : null}
            {canInvite ? <Button onClick={() => setInviteOpen(true)}>{t("team.invite")}</Button> : null}
          </>
        }
      />

      <Card className="overflow-hidden">
        <div className="-mx-4 -mt-4 mb-0 flex flex-col gap-3 border-b border-slate-100 px-4 py-3 sm:-mx-5 sm:flex-row sm:flex-wrap sm:items-end sm:px-5">
          <TextField
            className="flex-1 sm:min-w-56"
            label={t("common.search")}
            type="search"
            placeholder={t("team.searchPlaceholder")}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
          {roleOptions.length ? (
            <SelectField
              className="sm:w-48"
              label={t("team.roleFilter")}
              value={roleId}
              onChange={(e) => setRoleId(e.target.value)}
            >
              <option value="">{t("team.allRoles")}</option>
              {roleOptions.map((r) => (
                <option key={r.id} value={r.id}>
                  {roleName(r)}
                </option>
              ))}
            </SelectField>
          ) : null}
          {teams.data?.length ? (
            <SelectField
              className="sm:w-40"
              label={t("team.teamFilter")}
              value={teamId}
              onChange={(e) => setFilter("team", e.target.value)}
            >
              <option value="">{t("team.allTeams")}</option>
              {teams.data.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </SelectField>
          ) : null}
          <SelectField
            className="sm:w-32"
            label={t("team.twoFactorFilter")}
            value={twoFactor}
            onChange={(e) => setFilter("twoFactor", e.target.value)}
          >
            <option value="">{t("team.twoFactorAny")}</option>
            <option value="on">{t("team.twoFaOn")}</option>
            <option value="off">{t("team.twoFaOff")}</option>
          </SelectField>
          <SelectField
            className="sm:w-44"
            label={t("team.sort")}
            value={sort}
            onChange={(e) => setSort(e.target.value as Sort)}
          >
            <option value="name">{t("team.sortName")}</option>
            <option value="joined">{t("team.sortJoined")}</option>
            <option value="lastActive">{t("team.sortLastActive")}</option>
          </SelectField>
        </div>
        {selectable.length ? (
          <BulkBar
            members={picked}
            allCount={selectable.length}
            onSelectAll={(on) => setSelected(on ? new Set(selectable.map((m) => m.memberId)) : new Set())}
            onDone={() => setSelected(new Set())}
            grantable={grantable}
          />
        ) : null}
        {members.isPending ? (
          <Spinner />
        ) : members.error ? (
          <div className="pt-4">
            <ErrorState error={members.error} onRetry={() => void members.refetch()} />
          </div>
        ) : !list.length ? (
          <p className="py-8 text-center text-sm text-slate-500">{t("team.noMembers")}</p>
        ) : (
          <DataTable
            label={t("team.title")}
            rows={list}
            rowKey={(m) => m.memberId}
            rowProps={(m) => ({ "data-testid": "member-row", "data-email": m.email })}
            columns={[
              {
                key: "member",
                label: t("team.colMember"),
                cell: (m) => (
                  <div className="flex items-center gap-3">
                    {selectable.length ? (
                      <input
                        type="checkbox"
                        className="size-4 shrink-0 accent-emerald-700"
                        aria-label={t("team.select", { name: fullName(m) })}
                        checked={selected.has(m.memberId)}
                        disabled={!selectable.includes(m)}
                        onChange={(e) => toggle(m.memberId, e.target.checked)}
                        data-testid="member-select"
                      />
                    ) : null}
                    <Avatar name={fullName(m)} url={m.pictureUrl} />
                    <div className="min-w-0">
                      <p className="flex flex-wrap items-center gap-1.5 font-medium text-slate-900">
                        <span className="min-w-0 truncate">{fullName(m)}</span>
                        {m.userId === myUserId ? (
                          <span className="text-xs font-normal text-slate-600">({t("common.you")})</span>
                        ) : null}
                        {m.isOwner ? <OwnerBadge /> : null}
                      </p>
                      <p className="truncate text-xs text-slate-600">{m.email}</p>
                    </div>
                  </div>
                ),
              },
              {
                key: "roles",
                label: t("team.colRoles"),
                cell: (m) => {
                  const ids = roleIdsOf(m);
                  // One role or none, and the caller may change it: changed in the row (several: the Edit drawer).
                  if (memberActions(m).changeRoles && ids.length <= 1 && grantable.length)
                    return (
                      <select
                        aria-label={t("team.roleOf", { name: fullName(m) })}
                        className="w-full min-w-28 max-w-48 rounded-lg border border-slate-300 bg-white px-2 py-1 text-sm"
                        value={ids[0] ?? ""}
                        disabled={setRoles.isPending && setRoles.variables?.m.memberId === m.memberId}
                        onChange={(e) => setRoles.mutate({ m, roleIds: e.target.value ? [e.target.value] : [] })}
                        data-testid="member-role-select"
                      >
                        <option value="">{t("team.noRolesChip")}</option>
                        {grantable.map((r) => (
                          <option key={r.id} value={r.id}>
                            {roleLabel(r.id)}
                          </option>
                        ))}
                      </select>
                    );
                  return (
                    <div className="flex flex-wrap gap-1" data-testid="member-roles">
                      {refs(m).map((r) => (
                        <Chip key={r.id} tone="emerald">
                          {r.name}
                        </Chip>
                      ))}
                      {!roleIdsOf(m).length && !m.isOwner ? <Chip>{t("team.noRolesChip")}</Chip> : null}
                    </div>
                  );
                },
              },
              {
                key: "2fa",
                label: t("team.col2fa"),
                from: "md",
                cell: (m) =>
                  m.twoFactorEnabled ? (
                    <Chip tone="emerald">{t("team.twoFaOn")}</Chip>
                  ) : (
                    <Chip tone="amber">{t("team.twoFaOff")}</Chip>
                  ),
              },
              {
                key: "lastActive",
                label: t("team.colLastActive"),
                from: "lg",
                className: "text-slate-600",
                cell: (m) => relativeTime(m.lastActiveAt),
              },
              ...(seesAnalytics
                ? [
                    {
                      key: "handled",
                      label: t("team.colHandled", { days: HANDLED_DAYS }),
                      from: "xl" as const,
                      className: "text-slate-600 tabular-nums",
                      cell: (m: Member) => (
                        <span data-testid="member-handled">
                          {handled.data ? (handled.data.get(m.memberId) ?? 0) : handled.error ? "—" : "…"}
                        </span>
                      ),
                    },
                  ]
                : []),
              {
                key: "joined",
                label: t("team.colJoined"),
                // With the handled column the table fits 1280 px only without this one (cards and the
                // member drawer still show it).
                from: seesAnalytics ? "2xl" : "xl",
                className: "text-slate-600",
                cell: (m) => formatDate(m.joinedAt ?? m.createdAt, false),
              },
              actionsColumn(t, (m: Member) => {
                const allowed = memberActions(m);
                if (!allowed.update && !allowed.remove) return null;
                return (
                  <RowMenu label={t("team.memberActions", { name: fullName(m) })}>
                    {allowed.update ? <MenuAction onSelect={() => setEditing(m)}>{t("common.edit")}</MenuAction> : null}
                    {allowed.remove ? (
                      <MenuAction danger onSelect={() => remove.ask(m)}>
                        {t("common.remove")}
                      </MenuAction>
                    ) : null}
                  </RowMenu>
                );
              }),
            ]}
          />
        )}
        <LoadMore query={members} />
      </Card>

      <Card title={t("team.pendingTitle")} className="mt-6">
        <QueryView query={invitations}>
          {() =>
            !pending.length ? (
              <p className="text-sm text-slate-500">{t("team.pendingEmpty")}</p>
            ) : (
              <ul className="divide-y divide-slate-100" aria-label={t("team.pendingTitle")}>
                {pending.map((i) => {
                  const expired = (i.state ?? i.status) === "expired" || new Date(i.expiresAt).getTime() < Date.now();
                  return (
                    <li
                      key={i.id}
                      className="flex flex-col gap-2 py-3 sm:flex-row sm:items-center sm:justify-between"
                      data-testid="invitation-row"
                      data-email={i.email}
                    >
                      <div className="min-w-0">
                        <p className="font-medium break-words text-slate-900">
                          {fullName(i) || i.email} <span className="font-normal text-slate-600">· {i.email}</span>
                        </p>
                        <div className="mt-1 flex flex-wrap items-center gap-1.5 text-xs text-slate-500">
                          {refs(i).map((r) => (
                            <Chip key={r.id}>{r.name}</Chip>
                          ))}
                          {expired ? (
                            <Chip tone="red">{t("team.expired")}</Chip>
                          ) : (
                            <span>{t("team.expiresOn", { date: formatDate(i.expiresAt, false) })}</span>
                          )}
                          {i.invitedBy?.name || i.invitedByName ? (
                            <span>· {t("team.invitedBy", { name: i.invitedBy?.name ?? i.invitedByName })}</span>
                          ) : null}
                        </div>
                      </div>
                      {canInvite ? (
                        <div className="flex shrink-0 gap-2">
                          <Button
                            variant="secondary"
                            size="sm"
                            onClick={() => resend.mutate(i)}
                            disabled={resend.isPending && resend.variables?.id === i.id}
                          >
                            {t("team.resend")}
                          </Button>
                          <Button variant="ghost" size="sm" className="text-red-700" onClick={() => setRevoking(i)}>
                            {t("team.revoke")}
                          </Button>
                        </div>
                      ) : null}
                    </li>
                  );
                })}
              </ul>
            )
          }
        </QueryView>
      </Card>

      {canInvite ? <InviteDialog open={inviteOpen} onOpenChange={setInviteOpen} /> : null}
      {canInvite ? <ImportCsvDialog open={importOpen} onOpenChange={setImportOpen} /> : null}
      {membership.isOwner ? (
        <TransferOwnershipDialog open={transferOpen} onOpenChange={setTransferOpen} members={list} />
      ) : null}
      <EditMemberDrawer member={editing} onClose={() => setEditing(null)} />
      <DeleteConfirm
        del={remove}
        title={t("team.removeTitle", { name: remove.row ? fullName(remove.row) : "" })}
        body={t("team.removeBody", { name: remove.row ? fullName(remove.row) : "", org: org?.name ?? "" })}
        confirmLabel={t("team.removeConfirm")}
      />
      <Confirm
        open={revoking !== null}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={t("team.revokeConfirmTitle")}
        body={t("team.revokeConfirmBody", { email: revoking?.email ?? "" })}
        confirmLabel={t("team.revoke")}
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </div>
  );
}

/**
 * Several members at once: change their role, or remove them. Each is the member's own request
 * (PATCH / DELETE of that member), so every server rule holds per member (owner protected, not
 * oneself, no escalation, outranking) and each writes its own activity record; only members the
 * caller may act on are offered, and what the server still refuses is reported by name.
 */
function BulkBar({
  members,
  allCount,
  onSelectAll,
  onDone,
  grantable,
}: {
  members: Member[];
  allCount: number;
  onSelectAll: (on: boolean) => void;
  onDone: () => void;
  grantable: Role[];
}) {
  const { t } = useTranslation();
  const { orgId, roleLabel, memberActions } = useOrgContext();
  const qc = useQueryClient();
  const [roleId, setRoleId] = useState("");
  const [confirming, setConfirming] = useState(false);
  const changeable = members.filter((m) => memberActions(m).changeRoles);
  const removable = members.filter((m) => memberActions(m).remove);

  const run = useMutation({
    mutationFn: async ({ kind, targets }: { kind: "role" | "remove"; targets: Member[] }) => {
      const failed: { name: string; reason: string }[] = [];
      for (const m of targets) {
        try {
          if (kind === "role")
            await api(`/orgs/${orgId}/members/${m.memberId}`, {
              method: "PATCH",
              body: { roleIds: roleId ? [roleId] : [] },
            });
          else await api(`/orgs/${orgId}/members/${m.memberId}`, { method: "DELETE" });
        } catch (e) {
          failed.push({ name: fullName(m), reason: describeError(e) });
        }
      }
      return { kind, done: targets.length - failed.length, failed };
    },
    onSuccess: ({ kind, done, failed }) => {
      setConfirming(false);
      if (done)
        toast(
          kind === "role"
            ? t("team.bulkRoleDone", { count: done, role: roleId ? roleLabel(roleId) : t("team.noRolesChip") })
            : t("team.bulkRemoved", { count: done }),
        );
      if (failed.length)
        toast(
          t("team.bulkFailed", {
            count: failed.length,
            names: failed.map((f) => `${f.name} (${f.reason})`).join(", "),
          }),
          "error",
        );
      onDone();
      void qc.invalidateQueries({ queryKey: qk.members(orgId) });
    },
  });

  const all = members.length === allCount && allCount > 0;
  return (
    <div
      className="-mx-4 flex flex-col gap-2 border-b border-slate-100 px-4 py-2 sm:-mx-5 sm:flex-row sm:flex-wrap sm:items-center sm:px-5"
      data-testid="bulk-bar"
    >
      <label className="flex items-center gap-2 text-sm text-slate-700">
        <input
          type="checkbox"
          className="size-4 accent-emerald-700"
          checked={all}
          onChange={(e) => onSelectAll(e.target.checked)}
        />
        {members.length ? t("team.selectedCount", { count: members.length }) : t("team.selectAll")}
      </label>
      {members.length ? (
        <div className="flex flex-wrap items-center gap-2 sm:ml-auto">
          {changeable.length && grantable.length ? (
            <>
              <select
                aria-label={t("team.bulkRole")}
                className="max-w-full rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm"
                value={roleId}
                onChange={(e) => setRoleId(e.target.value)}
              >
                <option value="">{t("team.noRolesChip")}</option>
                {grantable.map((r) => (
                  <option key={r.id} value={r.id}>
                    {roleLabel(r.id)}
                  </option>
                ))}
              </select>
              <Button
                variant="secondary"
                size="sm"
                disabled={run.isPending}
                onClick={() => run.mutate({ kind: "role", targets: changeable })}
              >
                {t("team.bulkChangeRole", { count: changeable.length })}
              </Button>
            </>
          ) : null}
          {removable.length ? (
            <Button
              variant="ghost"
              size="sm"
              className="text-red-700"
              disabled={run.isPending}
              onClick={() => setConfirming(true)}
            >
              {t("team.bulkRemove", { count: removable.length })}
            </Button>
          ) : null}
        </div>
      ) : null}
      <Confirm
        open={confirming}
        onOpenChange={(o) => !o && setConfirming(false)}
        title={t("team.bulkRemoveTitle", { count: removable.length })}
        body={t("team.bulkRemoveBody", { names: removable.map(fullName).join(", ") })}
        confirmLabel={t("team.bulkRemove", { count: removable.length })}
        onConfirm={() => run.mutate({ kind: "remove", targets: removable })}
        pending={run.isPending}
      />
    </div>
  );
}
