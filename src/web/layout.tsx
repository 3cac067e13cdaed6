import * as Menu from "@radix-ui/react-dropdown-menu";
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation, useMatch, useNavigate, useParams } from "react-router";
import type { Permission } from "../shared/permissions.js";
import { Avatar, Chip, cx, ErrorState, Notice, Spinner } from "./components/ui.js";
import { ApiError } from "./lib/api.js";
import {
  forgetLost,
  LAST_ORG_KEY,
  permissionsOf,
  qk,
  useLostAccess,
  useMe,
  useOrgMe,
  useOrgs,
  useSignOut,
} from "./lib/session.js";
import type { Org, OrgMe } from "./lib/types.js";

export interface OrgContextValue {
  orgId: string;
  me: OrgMe;
  org: Org | undefined;
  can: (p: Permission) => boolean;
}
const OrgContext = createContext<OrgContextValue | null>(null);
export function useOrgContext(): OrgContextValue {
  const v = useContext(OrgContext);
  if (!v) throw new Error("useOrgContext outside OrgLayout");
  return v;
}

function Logo() {
  return (
    <Link
      to="/"
      className="flex items-center gap-2 rounded-md font-semibold text-slate-900 focus-visible:outline-2 focus-visible:outline-emerald-600"
    >
      <span
        aria-hidden="true"
        className="inline-flex size-8 items-center justify-center rounded-lg bg-emerald-600 text-white"
      >
        <svg viewBox="0 0 24 24" className="size-5" aria-hidden="true">
          <path
            d="M4 12a8 8 0 1 1 3.3 6.5L4 20l1.2-3.6A8 8 0 0 1 4 12z"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
          />
          <path d="M9 10.5h6M9 13.5h4" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
      </span>
      <span className="hidden sm:inline">Chorus</span>
    </Link>
  );
}

function currentOrgIdFrom(match: string | undefined, orgs: Org[] | undefined): string | undefined {
  if (match) return match;
  const last = globalThis.localStorage?.getItem(LAST_ORG_KEY);
  if (last && orgs?.some((o) => o.id === last)) return last;
  return orgs?.[0]?.id;
}

function OrgSwitcher({ currentId }: { currentId: string | undefined }) {
  const { t } = useTranslation();
  const orgs = useOrgs();
  const current = orgs.data?.find((o) => o.id === currentId);
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <button
          type="button"
          aria-label={t("nav.switchOrg")}
          className="flex max-w-[12rem] items-center gap-2 rounded-lg border border-slate-200 bg-white px-2.5 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-emerald-600 sm:max-w-xs"
        >
          {current?.logoUrl ? <img src={current.logoUrl} alt="" className="size-5 rounded" /> : null}
          <span className="truncate" data-testid="current-org">
            {current?.name ?? t("nav.organizations")}
          </span>
          <svg viewBox="0 0 20 20" className="size-4 shrink-0 text-slate-400" aria-hidden="true">
            <path d="M6 8l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
        </button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="start"
          sideOffset={6}
          className="z-50 min-w-56 rounded-xl border border-slate-200 bg-white p-1 shadow-lg"
        >
          <Menu.Label className="px-2 py-1.5 text-xs font-semibold uppercase tracking-wide text-slate-500">
            {t("nav.organizations")}
          </Menu.Label>
          {orgs.data?.map((o) => (
            <Menu.Item key={o.id} asChild>
              <Link
                to={`/orgs/${o.id}`}
                className={cx(
                  "flex items-center justify-between gap-3 rounded-md px-2 py-1.5 text-sm outline-none data-[highlighted]:bg-slate-100",
                  o.id === currentId ? "font-semibold text-emerald-700" : "text-slate-800",
                )}
              >
                <span className="truncate">{o.name}</span>
                {o.id === currentId ? <span aria-hidden="true">✓</span> : null}
              </Link>
            </Menu.Item>
          ))}
          <Menu.Separator className="my-1 h-px bg-slate-100" />
          <Menu.Item asChild>
            <Link
              to="/orgs/new"
              className="block rounded-md px-2 py-1.5 text-sm text-slate-800 outline-none data-[highlighted]:bg-slate-100"
            >
              + {t("nav.createOrg")}
            </Link>
          </Menu.Item>
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}

function UserMenu() {
  const { t } = useTranslation();
  const me = useMe();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const user = me.data;
  if (!user) return null;
  const name = `${user.firstName} ${user.lastName}`.trim();
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <button
          type="button"
          aria-label={t("nav.account")}
          className="flex items-center gap-2 rounded-full focus-visible:outline-2 focus-visible:outline-emerald-600"
        >
          <Avatar name={name} url={user.pictureUrl} />
        </button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="end"
          sideOffset={6}
          className="z-50 min-w-56 rounded-xl border border-slate-200 bg-white p-1 shadow-lg"
        >
          <div className="px-2 py-1.5">
            <p className="text-sm font-medium text-slate-900">{name}</p>
            <p className="truncate text-xs text-slate-500">{user.email}</p>
          </div>
          <Menu.Separator className="my-1 h-px bg-slate-100" />
          <Menu.Item asChild>
            <Link
              to="/profile"
              className="block rounded-md px-2 py-1.5 text-sm text-slate-800 outline-none data-[highlighted]:bg-slate-100"
            >
              {t("nav.profile")}
            </Link>
          </Menu.Item>
          <Menu.Item
            className="cursor-pointer rounded-md px-2 py-1.5 text-sm text-slate-800 outline-none data-[highlighted]:bg-slate-100"
            onSelect={async () => {
              await signOut();
              navigate("/signin");
            }}
          >
            {t("nav.signOut")}
          </Menu.Item>
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}

function SideNav({ orgId }: { orgId: string | undefined }) {
  const { t } = useTranslation();
  const orgMe = useOrgMe(orgId ?? "");
  const lostAccess = useLostAccess(orgId ?? "");
  const can = permissionsOf(orgMe.data);
  const link = ({ isActive }: { isActive: boolean }) =>
    cx(
      "block whitespace-nowrap rounded-lg px-3 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-emerald-600",
      isActive ? "bg-emerald-50 text-emerald-800" : "text-slate-700 hover:bg-slate-100",
    );
  const showOrg = orgId && orgMe.data && !lostAccess;
  const { pathname } = useLocation();
  const list = useRef<HTMLUListElement>(null);
  // Phone: the links are one scrolling row; bring the current one into view (desktop: a column, no-op).
  // biome-ignore lint/correctness/useExhaustiveDependencies: on navigation and when the links change
  useEffect(() => {
    const ul = list.current;
    if (!ul) return;
    const reveal = () => {
      const active = ul.querySelector<HTMLElement>('[aria-current="page"]');
      if (!active || ul.scrollWidth <= ul.clientWidth) return;
      const left = active.offsetLeft; // the list is the offset parent (relative)
      if (left < ul.scrollLeft || left + active.offsetWidth > ul.scrollLeft + ul.clientWidth)
        ul.scrollLeft = Math.max(0, left - 16);
    };
    reveal();
    const observer = new ResizeObserver(reveal);
    observer.observe(ul);
    return () => observer.disconnect();
  }, [pathname, showOrg]);
  return (
    <nav aria-label={t("nav.settings")} className="md:w-56 md:shrink-0">
      <p className="hidden px-3 pb-2 text-xs font-semibold uppercase tracking-wide text-slate-500 md:block">
        {t("nav.settings")}
      </p>
      <ul
        ref={list}
        className="relative -mx-1 flex gap-1 overflow-x-auto px-1 pb-1 md:mx-0 md:flex-col md:overflow-visible md:px-0"
      >
        {showOrg ? (
          <>
            <li>
              <NavLink end to={`/orgs/${orgId}`} className={link}>
                {t("nav.overview")}
              </NavLink>
            </li>
            {can("members:read") ? (
              <li>
                <NavLink to={`/orgs/${orgId}/settings/team`} className={link}>
                  {t("nav.team")}
                </NavLink>
              </li>
            ) : null}
            {can("roles:read") ? (
              <li>
                <NavLink to={`/orgs/${orgId}/settings/roles`} className={link}>
                  {t("nav.roles")}
                </NavLink>
              </li>
            ) : null}
            {can("audit:read") ? (
              <li>
                <NavLink to={`/orgs/${orgId}/settings/activity`} className={link}>
                  {t("nav.activity")}
                </NavLink>
              </li>
            ) : null}
            {can("org:update") ? (
              <li>
                <NavLink to={`/orgs/${orgId}/settings/organization`} className={link}>
                  {t("nav.organization")}
                </NavLink>
              </li>
            ) : null}
          </>
        ) : null}
        <li>
          <NavLink to="/profile" className={link}>
            {t("nav.profile")}
          </NavLink>
        </li>
      </ul>
    </nav>
  );
}

export function AppShell() {
  const { t } = useTranslation();
  const match = useMatch("/orgs/:orgId/*");
  const param = match?.params.orgId;
  const orgs = useOrgs();
  const me = useMe();
  const orgId = param && param !== "new" ? param : currentOrgIdFrom(undefined, orgs.data);
  const onCreate = useMatch("/orgs/new");
  const onHome = useMatch("/");
  const showNav = !onCreate && !onHome;
  return (
    <div className="min-h-dvh bg-slate-50">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        {t("nav.skip")}
      </a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex h-14 max-w-7xl items-center justify-between gap-3 px-3 sm:px-6">
          <div className="flex min-w-0 items-center gap-3">
            <Logo />
            <OrgSwitcher currentId={orgId} />
          </div>
          <UserMenu />
        </div>
      </header>
      {me.data && !me.data.emailVerified ? (
        <div className="border-b border-amber-200 bg-amber-50 px-4 py-2 text-center text-sm text-amber-900">
          {t("auth.unverifiedBanner", { email: me.data.email })}
        </div>
      ) : null}
      <div className="mx-auto flex max-w-7xl flex-col gap-4 px-3 py-4 sm:px-6 md:flex-row md:gap-8 md:py-8">
        {showNav ? <SideNav orgId={orgId} /> : null}
        <main id="main" className="min-w-0 flex-1" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}

export function NoAccessPage() {
  const { t } = useTranslation();
  return (
    <div className="mx-auto max-w-lg py-12 text-center" data-testid="no-access">
      <div
        aria-hidden="true"
        className="mx-auto mb-4 flex size-12 items-center justify-center rounded-full bg-amber-100 text-2xl"
      >
        🔒
      </div>
      <h1 className="text-xl font-semibold text-slate-900">{t("orgs.noAccessTitle")}</h1>
      <p className="mt-2 text-sm text-slate-600">{t("orgs.noAccessBody")}</p>
      <Link
        to="/"
        className="mt-6 inline-block rounded-lg bg-emerald-600 px-4 py-2 text-sm font-medium text-white hover:bg-emerald-700"
      >
        {t("orgs.goHome")}
      </Link>
    </div>
  );
}

export function OrgLayout() {
  const { orgId = "" } = useParams();
  const qc = useQueryClient();
  const location = useLocation();
  const orgMe = useOrgMe(orgId);
  const orgs = useOrgs();
  const lostAccess = useLostAccess(orgId);
  const me = useMe();
  const { t } = useTranslation();

  // Permissions are re-read on every navigation: a role change shows on the next page view.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation on purpose
  useEffect(() => {
    void qc.invalidateQueries({ queryKey: qk.orgMe(orgId), exact: true });
  }, [location.pathname, orgId, qc]);

  useEffect(() => {
    if (orgMe.data) {
      localStorage.setItem(LAST_ORG_KEY, orgId);
      forgetLost(orgId);
    }
  }, [orgMe.data, orgId]);

  if (lostAccess || (orgMe.error instanceof ApiError && orgMe.error.status === 404)) return <NoAccessPage />;
  if (orgMe.isPending) return <Spinner />;
  if (orgMe.error) return <ErrorState error={orgMe.error} onRetry={() => void orgMe.refetch()} />;
  const org = orgMe.data.organization ?? orgs.data?.find((o) => o.id === orgId);
  const value: OrgContextValue = { orgId, me: orgMe.data, org, can: permissionsOf(orgMe.data) };
  const blocked =
    orgMe.data.twoFactorBlocked ??
    orgMe.data.blockedByTwoFactorPolicy ??
    Boolean(org?.requireTwoFactor && me.data && !me.data.twoFactorEnabled);
  return (
    <OrgContext.Provider value={value}>
      {blocked ? (
        <div className="mb-4">
          <Notice tone="warning">
            <p className="font-medium">{t("orgs.twoFactorRequiredTitle")}</p>
            <p>{t("orgs.twoFactorRequiredBody", { org: org?.name ?? "" })}</p>
            <Link to="/profile?tab=security" className="mt-1 inline-block font-medium underline">
              {t("orgs.setUp2fa")}
            </Link>
          </Notice>
        </div>
      ) : null}
      <Outlet />
    </OrgContext.Provider>
  );
}

/** Pages a member cannot open say so plainly. */
export function RequirePermission({ permission, children }: { permission: Permission; children: React.ReactNode }) {
  const { can } = useOrgContext();
  const { t } = useTranslation();
  if (can(permission)) return <>{children}</>;
  return (
    <div className="mx-auto max-w-lg py-12 text-center" data-testid="forbidden">
      <h1 className="text-xl font-semibold text-slate-900">{t("forbidden.title")}</h1>
      <p className="mt-2 text-sm text-slate-600">
        {t("forbidden.body", { permission: t(`permissions.${permission}.label`) })}
      </p>
    </div>
  );
}

export function OwnerBadge() {
  const { t } = useTranslation();
  return <Chip tone="violet">{t("orgs.owner")}</Chip>;
}
