import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, Navigate, useNavigate } from "react-router";
import { CATALOGUE, PERMISSION_GROUPS, SYSTEM_ROLES } from "../../shared/permissions.js";
import { Button, ButtonLink, Card, Chip, Confirm, ErrorState, PageHeader, Spinner, toast } from "../components/ui.js";
import { ORG_SECTIONS, OwnerBadge, useOrgContext } from "../layout.js";
import { api } from "../lib/api.js";
import { LAST_ORG_KEY, LAST_ORG_NAME_KEY, qk, useOrg, useOrgs, useRoles } from "../lib/session.js";
import type { Org } from "../lib/types.js";
import { useTeams } from "../lib/workspace.js";

export function HomeRedirect() {
  const orgs = useOrgs();
  if (orgs.isPending) return <Spinner />;
  if (orgs.error) return <ErrorState error={orgs.error} onRetry={() => void orgs.refetch()} />;
  const list = orgs.data;
  const last = localStorage.getItem(LAST_ORG_KEY);
  const lastName = localStorage.getItem(LAST_ORG_NAME_KEY);
  if (!list.length) {
    // Had an organization and it is gone (removed, or deleted): the create page says so.
    const lostOrg = last && lastName ? lastName : undefined;
    return <Navigate to="/orgs/new" replace state={lostOrg ? { lostOrg } : null} />;
  }
  const target = list.find((o) => o.id === last) ?? list[0]!;
  return <Navigate to={`/orgs/${target.id}`} replace />;
}

export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <main id="main" className="mx-auto max-w-lg px-4 py-24 text-center">
      <h1 className="text-2xl font-semibold text-slate-900">{t("notFound.title")}</h1>
      <p className="mt-2 text-slate-600">{t("notFound.body")}</p>
      <ButtonLink to="/" className="mt-6">
        {t("notFound.home")}
      </ButtonLink>
    </main>
  );
}

/** The team at a glance (issue 18): members, seats, pending invitations, 2FA, teams; each a link to the list. */
function TeamStats() {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const detail = useOrg(orgId);
  const teams = useTeams(orgId);
  const noTwoFactor = useQuery({
    queryKey: [...qk.members(orgId), { twoFactor: "off", stats: true }],
    queryFn: () =>
      api<{ items: unknown[]; nextCursor: string | null }>(`/orgs/${orgId}/members`, {
        query: { twoFactor: "off", limit: 100 },
      }),
  });
  const d = detail.data as (Org & { pendingInvitationCount?: number; memberLimit?: number | null }) | undefined;
  const team = `/orgs/${orgId}/settings/team`;
  const off = noTwoFactor.data ? `${noTwoFactor.data.items.length}${noTwoFactor.data.nextCursor ? "+" : ""}` : "…";
  const stats = [
    {
      key: "members",
      label: t("overview.members"),
      value: d?.memberCount ?? "…",
      note: d?.memberLimit ? t("overview.seats", { limit: d.memberLimit }) : null,
      to: team,
    },
    { key: "pending", label: t("overview.pending"), value: d?.pendingInvitationCount ?? "…", to: team },
    { key: "no2fa", label: t("overview.noTwoFactor"), value: off, to: `${team}?twoFactor=off` },
    { key: "teams", label: t("overview.teams"), value: teams.data?.length ?? "…", to: `/orgs/${orgId}/settings/teams` },
  ];
  return (
    <Card title={t("overview.teamTitle")} className="lg:col-span-3">
      {detail.error ? (
        <ErrorState error={detail.error} onRetry={() => void detail.refetch()} />
      ) : (
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4" data-testid="team-stats">
          {stats.map((x) => (
            <div key={x.key} className="rounded-lg bg-slate-50 p-3" data-stat={x.key}>
              <dt className="text-xs font-medium text-slate-600">{x.label}</dt>
              <dd className="mt-1 text-2xl font-semibold text-slate-900">
                <Link to={x.to} className="hover:underline focus-visible:outline-2 focus-visible:outline-emerald-600">
                  {x.value}
                </Link>
              </dd>
              {x.note ? <dd className="text-xs text-slate-600">{x.note}</dd> : null}
            </div>
          ))}
        </dl>
      )}
    </Card>
  );
}

/** One's roles here, each with what it is for, and (with roles:read) the way to all roles. */
function MyRolesCard() {
  const { t } = useTranslation();
  const { orgId, me, can, roleLabel } = useOrgContext();
  const ids = me.roleIds ?? me.roles?.map((r) => r.id) ?? [];
  const described = useRoles(orgId, can("roles:read") && ids.length > 0);
  const descriptionOf = (id: string) =>
    SYSTEM_ROLES.some((r) => r.id === id)
      ? t(`systemRoles.${id}.description`)
      : (described.data?.find((r) => r.id === id)?.description ?? null);
  return (
    <Card title={t("overview.myRoles")} className="lg:col-span-1">
      {me.isOwner ? (
        <div className="mb-3">
          <OwnerBadge />
          <p className="mt-1 text-sm text-slate-600">{t("overview.ownerNote")}</p>
        </div>
      ) : null}
      <ul className="space-y-3" data-testid="my-roles">
        {ids.map((id) => (
          <li key={id}>
            <Chip tone="emerald">{roleLabel(id)}</Chip>
            {descriptionOf(id) ? <p className="mt-1 text-sm text-slate-600">{descriptionOf(id)}</p> : null}
          </li>
        ))}
      </ul>
      {!me.isOwner && !ids.length ? <p className="text-sm text-slate-600">{t("overview.noRoles")}</p> : null}
      {can("roles:read") ? (
        <Link
          to={`/orgs/${orgId}/settings/roles`}
          className="mt-3 inline-block text-sm font-medium text-emerald-800 hover:underline"
        >
          {t("overview.allRoles")}
        </Link>
      ) : null}
    </Card>
  );
}

/** The organization's landing page: who you are here, what you can do, and (with members:read) the team at a glance. */
export function OrgHomePage() {
  const { t } = useTranslation();
  const { orgId, org, me, can } = useOrgContext();
  const links = ORG_SECTIONS.filter((sec) => can(sec.permission));
  return (
    <div>
      <PageHeader title={org?.name ?? ""} />
      <div className="grid gap-4 lg:grid-cols-3">
        {can("members:read") ? <TeamStats /> : null}
        <MyRolesCard />
        <Card title={t("roles.permissions")} className="lg:col-span-2">
          <div className="grid gap-4 sm:grid-cols-2">
            {PERMISSION_GROUPS.map((g) => {
              const perms = CATALOGUE.filter((p) => p.group === g && can(p.key));
              if (!perms.length) return null;
              return (
                <div key={g}>
                  <h3 className="text-xs font-semibold uppercase tracking-wide text-slate-500">{t(`groups.${g}`)}</h3>
                  <ul className="mt-1 space-y-0.5 text-sm text-slate-700">
                    {perms.map((p) => (
                      <li key={p.key}>✓ {t(`permissions.${p.key}.label`)}</li>
                    ))}
                  </ul>
                </div>
              );
            })}
          </div>
        </Card>
      </div>
      {!me.isOwner ? <LeaveOrganization orgId={orgId} orgName={org?.name ?? ""} /> : null}
      {links.length ? (
        <div className="mt-4 grid gap-3 sm:grid-cols-2">
          {links.map((l) => (
            <Link
              key={l.id}
              to={`/orgs/${orgId}/${l.path}`}
              className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm hover:border-emerald-300 focus-visible:outline-2 focus-visible:outline-emerald-600"
            >
              <p className="font-medium text-slate-900">{t(l.label)}</p>
              <p className="mt-1 text-sm text-slate-500">{t(l.summary)}</p>
            </Link>
          ))}
        </div>
      ) : null}
    </div>
  );
}

/** A member (not the owner: they transfer ownership first) leaves the organization (POST /orgs/:id/leave). */
function LeaveOrganization({ orgId, orgName }: { orgId: string; orgName: string }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const leave = useMutation({
    mutationFn: () => api(`/orgs/${orgId}/leave`, { method: "POST" }),
    onSuccess: async () => {
      localStorage.removeItem(LAST_ORG_KEY);
      setOpen(false);
      toast(t("orgs.left", { org: orgName }));
      qc.removeQueries({ queryKey: qk.org(orgId) });
      await qc.invalidateQueries({ queryKey: qk.orgs });
      navigate("/", { replace: true });
    },
  });
  return (
    <div className="mt-6 flex justify-end">
      <Button variant="ghost" className="text-red-700" onClick={() => setOpen(true)}>
        {t("orgs.leave")}
      </Button>
      <Confirm
        open={open}
        onOpenChange={(o) => {
          setOpen(o);
          if (!o) leave.reset();
        }}
        title={t("orgs.leaveTitle", { org: orgName })}
        body={t("orgs.leaveBody")}
        confirmLabel={t("orgs.leave")}
        onConfirm={() => leave.mutate()}
        pending={leave.isPending}
        error={leave.error}
      />
    </div>
  );
}
