import * as Menu from "@radix-ui/react-dropdown-menu";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useLocation, useMatch, useNavigate, useParams } from "react-router";
import type { Permission } from "../shared/permissions.js";
import { Logo } from "./components/Logo.js";
import { MenuAction, MenuButton, MenuLink, MenuPanel, MenuSeparator } from "./components/menu.js";
import { NotificationBell } from "./components/notifications.js";
import { PresenceSwitch } from "./components/presence.js";
import { Avatar, ButtonLink, CenteredMessage, Chip, cx, ErrorState, Notice, Spinner } from "./components/ui.js";
import { ApiError, api } from "./lib/api.js";
import { useOrgEvents } from "./lib/events.js";
import { type MemberActions, type MemberLike, memberActionsOf, roleLabeller } from "./lib/member-rules.js";
import { describeError } from "./lib/problems.js";
import {
  forgetLost,
  LAST_ORG_KEY,
  LAST_ORG_NAME_KEY,
  permissionsOf,
  qk,
  useLostAccess,
  useMe,
  useOrgMe,
  useOrgs,
  useRoles,
  useSignOut,
} from "./lib/session.js";
import type { Org, OrgMe } from "./lib/types.js";

export interface OrgContextValue {
  orgId: string;
  me: OrgMe;
  org: Org | undefined;
  can: (p: Permission) => boolean;
  /** A role's display name from its id, whatever the caller may read (never the raw id). */
  roleLabel: (id: string) => string;
  /** What the caller may do to a member, by the server's rules: offer nothing it would refuse. */
  memberActions: (m: MemberLike) => MemberActions;
}
const OrgContext = createContext<OrgContextValue | null>(null);
export function useOrgContext(): OrgContextValue {
  const v = useContext(OrgContext);
  if (!v) throw new Error("useOrgContext outside OrgLayout");
  return v;
}

/** An organization's settings sections: the side navigation, the overview's shortcuts and the routes' permission. */
export const ORG_SECTIONS = [
  { id: "team", path: "settings/team", permission: "members:read", label: "nav.team", summary: "team.subtitle" },
  {
    id: "teams",
    path: "settings/teams",
    permission: "members:read",
    label: "workspace.teams",
    summary: "teams.subtitle",
  },
  {
    id: "whatsapp",
    path: "settings/whatsapp",
    permission: "settings:read",
    label: "workspace.whatsapp",
    summary: "whatsapp.subtitle",
  },
  {
    id: "workspace",
    path: "settings/workspace",
    permission: "settings:read",
    label: "workspace.businessHours",
    summary: "workspaceSettings.subtitle",
  },
  { id: "roles", path: "settings/roles", permission: "roles:read", label: "nav.roles", summary: "roles.subtitle" },
  {
    id: "activity",
    path: "settings/activity",
    permission: "audit:read",
    label: "nav.activity",
    summary: "activity.subtitle",
  },
  {
    id: "organization",
    path: "settings/organization",
    permission: "org:update",
    label: "nav.organization",
    summary: "orgSettings.subtitle",
  },
] as const satisfies readonly { id: string; path: string; permission: Permission; label: string; summary: string }[];

/**
 * The workspace: what members work in, beside Settings. Each entry shows only to members holding its
 * permission; Inbox, Templates, Broadcasts and Automations join this list (one line each).
 */
export const WORKSPACE_SECTIONS = [
  // The inbox: either chat-read permission (`also`: another permission that shows the entry too).
  { id: "inbox", path: "inbox", permission: "chats:read_all", also: ["chats:read_assigned"], label: "workspace.inbox" },
  { id: "contacts", path: "contacts", permission: "contacts:read", label: "workspace.contacts" },
  { id: "automations", path: "automations", permission: "automations:read", label: "workspace.automations" },
  { id: "templates", path: "templates", permission: "templates:read", label: "workspace.templates" },
  { id: "broadcasts", path: "broadcasts", permission: "broadcasts:read", label: "workspace.broadcasts" },
] as const satisfies readonly {
  id: string;
  path: string;
  permission: Permission;
  also?: readonly Permission[];
  label: string;
}[];

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
      <MenuButton
        label={`, ${t("nav.switchOrg")}`}
        className="max-w-[12rem] rounded-lg border border-slate-200 bg-white px-2.5 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 sm:max-w-xs"
      >
        {current?.logoUrl ? <img src={current.logoUrl} alt="" className="size-5 rounded" /> : null}
        <span className="truncate" data-testid="current-org">
          {current?.name ?? t("nav.organizations")}
        </span>
        <svg viewBox="0 0 20 20" className="size-4 shrink-0 text-slate-400" aria-hidden="true">
          <path d="M6 8l4 4 4-4" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
      </MenuButton>
      <MenuPanel align="start">
        <Menu.Label className="px-2 py-1.5 text-xs font-semibold uppercase tracking-wide text-slate-500">
          {t("nav.organizations")}
        </Menu.Label>
        {orgs.data?.map((o) => (
          <MenuLink
            key={o.id}
            to={`/orgs/${o.id}`}
            className={cx(
              "flex items-center justify-between gap-3",
              o.id === currentId ? "font-semibold text-emerald-700" : "text-slate-800",
            )}
          >
            <span className="truncate">{o.name}</span>
            {o.id === currentId ? <span aria-hidden="true">✓</span> : null}
          </MenuLink>
        ))}
        <MenuSeparator />
        <MenuLink to="/orgs/new">+ {t("nav.createOrg")}</MenuLink>
      </MenuPanel>
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
      <MenuButton label={t("nav.account")} className="rounded-full">
        <Avatar name={name} url={user.pictureUrl} />
      </MenuButton>
      <MenuPanel align="end">
        <div className="px-2 py-1.5">
          <p className="text-sm font-medium text-slate-900">{name}</p>
          <p className="truncate text-xs text-slate-500">{user.email}</p>
        </div>
        <MenuSeparator />
        <MenuLink to="/profile">{t("nav.profile")}</MenuLink>
        <MenuAction
          onSelect={async () => {
            await signOut();
            navigate("/signin");
          }}
        >
          {t("nav.signOut")}
        </MenuAction>
      </MenuPanel>
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
  const workspace = showOrg
    ? WORKSPACE_SECTIONS.filter((sec) => can(sec.permission) || ("also" in sec && sec.also.some(can)))
    : [];
  return (
    <div className="flex flex-col gap-2 md:w-56 md:shrink-0 md:gap-6">
      {workspace.length ? (
        <nav aria-label={t("workspace.nav")}>
          <p className="hidden px-3 pb-2 text-xs font-semibold uppercase tracking-wide text-slate-500 md:block">
            {t("workspace.nav")}
          </p>
          <ul className="-mx-1 flex gap-1 overflow-x-auto px-1 pb-1 md:mx-0 md:flex-col md:overflow-visible md:px-0">
            {workspace.map((sec) => (
              <li key={sec.id}>
                <NavLink to={`/orgs/${orgId}/${sec.path}`} className={link}>
                  {t(sec.label)}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      <nav aria-label={t("nav.settings")}>
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
              {ORG_SECTIONS.filter((sec) => can(sec.permission)).map((sec) => (
                <li key={sec.id}>
                  <NavLink to={`/orgs/${orgId}/${sec.path}`} className={link}>
                    {t(sec.label)}
                  </NavLink>
                </li>
              ))}
            </>
          ) : null}
          <li>
            <NavLink to="/profile" className={link}>
              {t("nav.profile")}
            </NavLink>
          </li>
        </ul>
      </nav>
    </div>
  );
}

/** Until the email is verified: say so, and offer the link again (POST /auth/verify-email/resend). */
function UnverifiedBanner({ email }: { email: string }) {
  const { t } = useTranslation();
  const resend = useMutation({ mutationFn: () => api("/auth/verify-email/resend", { method: "POST" }) });
  return (
    <div className="border-b border-amber-200 bg-amber-50 px-4 py-2 text-center text-sm text-amber-900" role="status">
      {t("auth.unverifiedBanner", { email })}{" "}
      {resend.isSuccess ? (
        <span className="font-medium">{t("auth.verificationResent", { email })}</span>
      ) : (
        <button
          type="button"
          onClick={() => resend.mutate()}
          disabled={resend.isPending}
          className="font-medium underline focus-visible:outline-2 focus-visible:outline-emerald-600"
        >
          {t("auth.resendVerification")}
        </button>
      )}
      {resend.isError ? <span className="block text-red-800">{describeError(resend.error)}</span> : null}
    </div>
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
            <Logo nameFromSm />
            <OrgSwitcher currentId={orgId} />
          </div>
          <div className="flex items-center gap-1">
            {param && param !== "new" && orgs.data?.some((o) => o.id === param) ? (
              <>
                <PresenceSwitch orgId={param} />
                <NotificationBell orgId={param} />
              </>
            ) : null}
            <UserMenu />
          </div>
        </div>
      </header>
      {me.data && !me.data.emailVerified ? <UnverifiedBanner email={me.data.email} /> : null}
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
    <CenteredMessage
      testId="no-access"
      icon="🔒"
      title={t("orgs.noAccessTitle")}
      body={t("orgs.noAccessBody")}
      action={<ButtonLink to="/">{t("orgs.goHome")}</ButtonLink>}
    />
  );
}

export function OrgLayout() {
  const { orgId = "" } = useParams();
  const qc = useQueryClient();
  const location = useLocation();
  const orgMe = useOrgMe(orgId);
  const orgs = useOrgs();
  // Names of roles the caller does not hold nor grant (only with roles:read; others get a generic label).
  const roles = useRoles(orgId, permissionsOf(orgMe.data)("roles:read"));
  const lostAccess = useLostAccess(orgId);
  const me = useMe();
  const { t } = useTranslation();
  // Live updates of the inbox and the bell (one stream per open organization).
  useOrgEvents(orgMe.data ? orgId : undefined);

  // Permissions are re-read on every navigation: a role change shows on the next page view.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation on purpose
  useEffect(() => {
    void qc.invalidateQueries({ queryKey: qk.orgMe(orgId), exact: true });
  }, [location.pathname, orgId, qc]);

  useEffect(() => {
    if (orgMe.data) {
      localStorage.setItem(LAST_ORG_KEY, orgId);
      if (orgMe.data.organization?.name) localStorage.setItem(LAST_ORG_NAME_KEY, orgMe.data.organization.name);
      forgetLost(orgId);
    }
  }, [orgMe.data, orgId]);

  if (lostAccess || (orgMe.error instanceof ApiError && orgMe.error.status === 404)) return <NoAccessPage />;
  if (orgMe.isPending) return <Spinner />;
  if (orgMe.error) return <ErrorState error={orgMe.error} onRetry={() => void orgMe.refetch()} />;
  const org = orgMe.data.organization ?? orgs.data?.find((o) => o.id === orgId);
  const value: OrgContextValue = {
    orgId,
    me: orgMe.data,
    org,
    can: permissionsOf(orgMe.data),
    roleLabel: roleLabeller(orgMe.data, roles.data),
    memberActions: memberActionsOf(orgMe.data),
  };
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
    <CenteredMessage
      testId="forbidden"
      title={t("forbidden.title")}
      body={t("forbidden.body", { permission: t(`permissions.${permission}.label`) })}
    />
  );
}

export function OwnerBadge() {
  const { t } = useTranslation();
  return <Chip tone="violet">{t("orgs.owner")}</Chip>;
}
