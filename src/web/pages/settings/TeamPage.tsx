import * as Menu from "@radix-ui/react-dropdown-menu";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { DataTable, LoadMore, QueryView, shownFrom } from "../../components/data.js";
import { SelectField, TextField } from "../../components/fields.js";
import { MenuAction, MenuPanel } from "../../components/menu.js";
import {
  Avatar,
  Button,
  Card,
  Chip,
  Confirm,
  cx,
  ErrorState,
  PageHeader,
  Spinner,
  toast,
  useDebounced,
} from "../../components/ui.js";
import { OwnerBadge, useOrgContext } from "../../layout.js";
import { api, itemsOf } from "../../lib/api.js";
import { formatDate, relativeTime } from "../../lib/i18n.js";
import { qk, roleName, useMe, useRoles } from "../../lib/session.js";
import { fullName, type Invitation, type Member, roleIdsOf } from "../../lib/types.js";
import { EditMemberDrawer, ImportCsvDialog, InviteDialog, TransferOwnershipDialog } from "./team-dialogs.js";

type Sort = "name" | "joined" | "lastActive";
const PAGE = 25;

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
  const { orgId, org, me: membership, can } = useOrgContext();
  const me = useMe();
  const qc = useQueryClient();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim());
  const [roleId, setRoleId] = useState("");
  const [sort, setSort] = useState<Sort>("name");
  const [inviteOpen, setInviteOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const [transferOpen, setTransferOpen] = useState(false);
  const [editing, setEditing] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const roles = useRoles(orgId, can("roles:read"));

  const members = useInfiniteQuery({
    queryKey: [...qk.members(orgId), { q, roleId, sort }],
    queryFn: async ({ pageParam }) =>
      api<{ items: Member[]; nextCursor: string | null }>(`/orgs/${orgId}/members`, {
        query: { q, roleId, sort, limit: PAGE, cursor: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (prev) => prev,
  });
  const list = useMemo(
    () => sortMembers(members.data?.pages.flatMap((p) => itemsOf<Member>(p)) ?? [], sort),
    [members.data, sort],
  );

  const invitations = useQuery({
    queryKey: qk.invitations(orgId),
    queryFn: async () =>
      itemsOf<Invitation>(await api(`/orgs/${orgId}/invitations`, { query: { status: "pending", limit: 100 } })),
  });
  const pending = (invitations.data ?? []).filter(
    (i) => (i.state ?? i.status ?? "pending") === "pending" || (i.state ?? i.status) === "expired",
  );

  const remove = useMutation({
    mutationFn: (m: Member) => api(`/orgs/${orgId}/members/${m.memberId}`, { method: "DELETE" }),
    onSuccess: (_r, m) => {
      toast(t("team.removed", { name: fullName(m) }));
      setRemoving(null);
      void qc.invalidateQueries({ queryKey: qk.members(orgId) });
    },
  });
  const resend = useMutation({
    mutationFn: (i: Invitation) => api(`/orgs/${orgId}/invitations/${i.id}/resend`, { method: "POST", body: {} }),
    onSuccess: (_r, i) => {
      toast(t("team.resent", { email: i.email }));
      void qc.invalidateQueries({ queryKey: qk.invitations(orgId) });
    },
    onError: (e) => toast(e.message, "error"),
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
      toast(e.message, "error");
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: qk.invitations(orgId) }),
  });

  const canInvite = can("members:invite");
  const myUserId = me.data?.id;
  const roleOptions = roles.data ?? [];
  const roleById = new Map(roleOptions.map((r) => [r.id, r]));
  const refs = (x: { roles?: { id: string; name: string }[]; roleIds?: string[] }) =>
    x.roles ?? roleIdsOf(x).map((id) => roleById.get(id) ?? { id, name: id });

  return (
    <div>
      <PageHeader
        title={t("team.title")}
        subtitle={t("team.subtitle")}
        actions={
          <>
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
        <div className="-mx-4 -mt-4 mb-0 flex flex-col gap-3 border-b border-slate-100 px-4 py-3 sm:-mx-5 sm:flex-row sm:items-end sm:px-5">
          <TextField
            className="flex-1"
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
            columns={[
              { key: "member", label: t("team.colMember") },
              { key: "roles", label: t("team.colRoles") },
              { key: "2fa", label: t("team.col2fa"), from: "md" },
              { key: "lastActive", label: t("team.colLastActive"), from: "lg" },
              { key: "joined", label: t("team.colJoined"), from: "xl" },
              { key: "actions", label: t("common.actions"), srOnly: true, align: "right" },
            ]}
          >
            {list.map((m) => {
              const name = fullName(m);
              const isSelf = m.userId === myUserId;
              const canEdit = can("members:update") && !m.isOwner;
              const canRemove = can("members:remove") && !m.isOwner && !isSelf;
              return (
                <tr key={m.memberId} data-testid="member-row" data-email={m.email}>
                  <td className="px-4 py-3 sm:px-5">
                    <div className="flex items-center gap-3">
                      <Avatar name={name} url={m.pictureUrl} />
                      <div className="min-w-0">
                        <p className="flex flex-wrap items-center gap-1.5 font-medium text-slate-900">
                          <span className="truncate">{name}</span>
                          {isSelf ? (
                            <span className="text-xs font-normal text-slate-500">({t("common.you")})</span>
                          ) : null}
                          {m.isOwner ? <OwnerBadge /> : null}
                        </p>
                        <p className="truncate text-xs text-slate-500">{m.email}</p>
                      </div>
                    </div>
                  </td>
                  <td className="px-3 py-3">
                    <div className="flex flex-wrap gap-1" data-testid="member-roles">
                      {refs(m).map((r) => (
                        <Chip key={r.id} tone="emerald">
                          {roleName(r)}
                        </Chip>
                      ))}
                      {!roleIdsOf(m).length && !m.isOwner ? <Chip>{t("team.noRolesChip")}</Chip> : null}
                    </div>
                  </td>
                  <td className={cx(shownFrom("md"), "px-3 py-3")}>
                    {m.twoFactorEnabled ? (
                      <Chip tone="emerald">{t("team.twoFaOn")}</Chip>
                    ) : (
                      <Chip tone="amber">{t("team.twoFaOff")}</Chip>
                    )}
                  </td>
                  <td className={cx(shownFrom("lg"), "px-3 py-3 text-slate-600")}>{relativeTime(m.lastActiveAt)}</td>
                  <td className={cx(shownFrom("xl"), "px-3 py-3 text-slate-600")}>
                    {formatDate(m.joinedAt ?? m.createdAt, false)}
                  </td>
                  <td className="px-3 py-3 text-right">
                    {canEdit || canRemove ? (
                      <Menu.Root>
                        <Menu.Trigger asChild>
                          <Button variant="ghost" size="sm" aria-label={t("team.memberActions", { name })}>
                            <svg viewBox="0 0 20 20" className="size-5" aria-hidden="true">
                              <circle cx="4" cy="10" r="1.6" fill="currentColor" />
                              <circle cx="10" cy="10" r="1.6" fill="currentColor" />
                              <circle cx="16" cy="10" r="1.6" fill="currentColor" />
                            </svg>
                          </Button>
                        </Menu.Trigger>
                        <MenuPanel align="end" narrow>
                          {canEdit ? <MenuAction onSelect={() => setEditing(m)}>{t("common.edit")}</MenuAction> : null}
                          {canRemove ? (
                            <MenuAction danger onSelect={() => setRemoving(m)}>
                              {t("common.remove")}
                            </MenuAction>
                          ) : null}
                        </MenuPanel>
                      </Menu.Root>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </DataTable>
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
                        <p className="font-medium text-slate-900">
                          {fullName(i) || i.email} <span className="font-normal text-slate-500">· {i.email}</span>
                        </p>
                        <div className="mt-1 flex flex-wrap items-center gap-1.5 text-xs text-slate-500">
                          {refs(i).map((r) => (
                            <Chip key={r.id}>{roleName(r)}</Chip>
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
      <Confirm
        open={removing !== null}
        onOpenChange={(o) => {
          if (!o) {
            setRemoving(null);
            remove.reset();
          }
        }}
        title={t("team.removeTitle", { name: removing ? fullName(removing) : "" })}
        body={t("team.removeBody", { name: removing ? fullName(removing) : "", org: org?.name ?? "" })}
        confirmLabel={t("team.removeConfirm")}
        onConfirm={() => removing && remove.mutate(removing)}
        pending={remove.isPending}
        error={remove.error}
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
