import { useTranslation } from "react-i18next";
import { Link, Navigate } from "react-router";
import { CATALOGUE, PERMISSION_GROUPS } from "../../shared/permissions.js";
import { ButtonLink, Card, Chip, ErrorState, PageHeader, Spinner } from "../components/ui.js";
import { ORG_SECTIONS, OwnerBadge, useOrgContext } from "../layout.js";
import { LAST_ORG_KEY, roleName, useOrgs } from "../lib/session.js";

export function HomeRedirect() {
  const orgs = useOrgs();
  if (orgs.isPending) return <Spinner />;
  if (orgs.error) return <ErrorState error={orgs.error} onRetry={() => void orgs.refetch()} />;
  const list = orgs.data;
  if (!list.length) return <Navigate to="/orgs/new" replace />;
  const last = localStorage.getItem(LAST_ORG_KEY);
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

/** The organization's landing page: who you are here and what you can do. */
export function OrgHomePage() {
  const { t } = useTranslation();
  const { orgId, org, me, can } = useOrgContext();
  const roles = me.roles ?? (me.roleIds ?? []).map((id) => ({ id, name: id }));
  const links = ORG_SECTIONS.filter((sec) => can(sec.permission));
  return (
    <div>
      <PageHeader title={org?.name ?? ""} />
      <div className="grid gap-4 lg:grid-cols-3">
        <Card title={t("invite.roles")} className="lg:col-span-1">
          <div className="flex flex-wrap gap-1.5" data-testid="my-roles">
            {me.isOwner ? <OwnerBadge /> : null}
            {roles.map((r) => (
              <Chip key={r.id} tone="emerald">
                {roleName(r)}
              </Chip>
            ))}
            {!me.isOwner && !roles.length ? (
              <span className="text-sm text-slate-500">{t("team.noRolesChip")}</span>
            ) : null}
          </div>
        </Card>
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
