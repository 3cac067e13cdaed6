import type { QueryClient } from "@tanstack/react-query";
import { type ReactNode, useEffect } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { type LazyPage, lazyPage, RouteBoundary } from "./components/route-error.js";
import { Spinner, Toaster } from "./components/ui.js";
import { AppShell, ORG_SECTIONS, OrgLayout, RequirePermission } from "./layout.js";
import { orgMeQuery, probablySignedIn, useMe } from "./lib/session.js";
import {
  ForgotPasswordPage,
  ResetPasswordPage,
  SignInPage,
  SignUpPage,
  VerifyEmailPage,
} from "./pages/auth/AuthPages.js";
import { HomeRedirect, NotFoundPage, OrgHomePage } from "./pages/misc.js";

/**
 * Pages past sign-in load with their route: the sign-in page (the first thing most visitors
 * see) does not download the settings pages, their dialogs, or the 2FA QR code library.
 * Once signed in, they are fetched in idle time (PreloadPages), so a first visit to Team or
 * Activity waits only for its data. A failed load shows Retry (components/route-error.tsx).
 */
const InvitePage = lazyPage(() => import("./pages/InvitePage.js"), "InvitePage");
const CreateOrgPage = lazyPage(() => import("./pages/orgs.js"), "CreateOrgPage");
const ProfilePage = lazyPage(() => import("./pages/ProfilePage.js"), "ProfilePage");
const ActivityPage = lazyPage(() => import("./pages/settings/ActivityPage.js"), "ActivityPage");
const OrganizationPage = lazyPage(() => import("./pages/settings/OrganizationPage.js"), "OrganizationPage");
const RolesPage = lazyPage(() => import("./pages/settings/RolesPage.js"), "RolesPage");
const TeamPage = lazyPage(() => import("./pages/settings/TeamPage.js"), "TeamPage");
const WhatsAppPage = lazyPage(() => import("./pages/settings/WhatsAppPage.js"), "WhatsAppPage");
const TeamsPage = lazyPage(() => import("./pages/settings/TeamsPage.js"), "TeamsPage");
const ContactsPage = lazyPage(() => import("./pages/contacts/ContactsPage.js"), "ContactsPage");
const TagsPage = lazyPage(() => import("./pages/contacts/TagsPage.js"), "TagsPage");
const ListsPage = lazyPage(() => import("./pages/contacts/ListsPage.js"), "ListsPage");
const AutomationsPage = lazyPage(() => import("./pages/automations/AutomationsPage.js"), "AutomationsPage");
const BusinessHoursPage = lazyPage(() => import("./pages/settings/BusinessHoursPage.js"), "BusinessHoursPage");
const TemplatesPage = lazyPage(() => import("./pages/templates/TemplatesPage.js"), "TemplatesPage");
const BroadcastsPage = lazyPage(() => import("./pages/broadcasts/BroadcastsPage.js"), "BroadcastsPage");
const BroadcastDetailPage = lazyPage(() => import("./pages/broadcasts/BroadcastDetailPage.js"), "BroadcastDetailPage");
const InboxPage = lazyPage(() => import("./pages/inbox/InboxPage.js"), "InboxPage");

/** Workspace pages: the Contacts entry of the workspace navigation covers its Tags and Lists tabs. */
const WORKSPACE_ROUTES = [
  { path: "contacts", permission: "contacts:read", Page: ContactsPage },
  { path: "contacts/tags", permission: "contacts:read", Page: TagsPage },
  { path: "contacts/lists", permission: "contacts:read", Page: ListsPage },
  { path: "automations", permission: "automations:read", Page: AutomationsPage },
  { path: "templates", permission: "templates:read", Page: TemplatesPage },
  { path: "broadcasts", permission: "broadcasts:read", Page: BroadcastsPage },
  { path: "broadcasts/:broadcastId", permission: "broadcasts:read", Page: BroadcastDetailPage },
] as const;

/** A lazily loaded page shows the spinner in place (the shell around it stays) while it loads, its failure with Retry. */
function Loading({ children }: { children: ReactNode }) {
  return <RouteBoundary>{children}</RouteBoundary>;
}

/**
 * At start, what the address will need, all at once: the membership (GET /orgs/:id/me) and the
 * page's code load alongside GET /me instead of one after the other (issue 18, Medium 9).
 */
export function prefetchForAddress(qc: QueryClient, pathname: string): void {
  const m = /^\/orgs\/([0-9a-f-]{36})(?:\/settings\/([a-z]+))?/i.exec(pathname);
  if (!m?.[1]) return;
  // Only when this browser was signed in last time: signed out, the membership answers 401 (a
  // console error on a signed-out page); the session answer leads to sign-in instead.
  if (probablySignedIn()) void qc.prefetchQuery(orgMeQuery(m[1]));
  const section = ORG_SECTIONS.find((s) => s.path === `settings/${m[2]}`);
  if (section) void SECTION_PAGES[section.id].preload();
}

const SIGNED_IN_PAGES = [
  ProfilePage,
  ActivityPage,
  OrganizationPage,
  RolesPage,
  TeamPage,
  CreateOrgPage,
  ContactsPage,
  TeamsPage,
  InboxPage,
];

/** Signed in: download the pages' code while the browser is idle (a failure is retried on visit). */
function PreloadPages() {
  useEffect(() => {
    const start = () => {
      for (const page of SIGNED_IN_PAGES) void page.preload();
    };
    if ("requestIdleCallback" in window) {
      const id = window.requestIdleCallback(start, { timeout: 2000 });
      return () => window.cancelIdleCallback(id);
    }
    const timer = setTimeout(start, 500);
    return () => clearTimeout(timer);
  }, []);
  return null;
}

const SECTION_PAGES: Record<(typeof ORG_SECTIONS)[number]["id"], LazyPage> = {
  team: TeamPage,
  teams: TeamsPage,
  whatsapp: WhatsAppPage,
  workspace: BusinessHoursPage,
  roles: RolesPage,
  activity: ActivityPage,
  organization: OrganizationPage,
};

function RequireAuth({ children }: { children: React.ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Spinner />;
  if (!me.data)
    return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return (
    <>
      <PreloadPages />
      {children}
    </>
  );
}

export function App() {
  return (
    <>
      <RouteBoundary>
        <Routes>
          <Route path="/signin" element={<SignInPage />} />
          <Route path="/signup" element={<SignUpPage />} />
          <Route path="/forgot-password" element={<ForgotPasswordPage />} />
          <Route path="/reset-password" element={<ResetPasswordPage />} />
          <Route path="/verify-email" element={<VerifyEmailPage />} />
          <Route
            path="/invite/:token"
            element={
              <Loading>
                <InvitePage />
              </Loading>
            }
          />
          <Route
            element={
              <RequireAuth>
                <AppShell />
              </RequireAuth>
            }
          >
            <Route index element={<HomeRedirect />} />
            <Route
              path="/orgs/new"
              element={
                <Loading>
                  <CreateOrgPage />
                </Loading>
              }
            />
            <Route
              path="/profile"
              element={
                <Loading>
                  <ProfilePage />
                </Loading>
              }
            />
            <Route path="/orgs/:orgId" element={<OrgLayout />}>
              <Route index element={<OrgHomePage />} />
              <Route path="settings" element={<Navigate to="team" replace />} />
              {/* The inbox checks its two permissions (either chat-read one) itself. */}
              {["inbox", "inbox/:conversationId"].map((path) => (
                <Route
                  key={path}
                  path={path}
                  element={
                    <Loading>
                      <InboxPage />
                    </Loading>
                  }
                />
              ))}
              {WORKSPACE_ROUTES.map(({ path, permission, Page }) => (
                <Route
                  key={path}
                  path={path}
                  element={
                    <RequirePermission permission={permission}>
                      <Loading>
                        <Page />
                      </Loading>
                    </RequirePermission>
                  }
                />
              ))}
              {ORG_SECTIONS.map(({ id, path, permission }) => {
                const Page = SECTION_PAGES[id];
                return (
                  <Route
                    key={id}
                    path={path}
                    element={
                      <RequirePermission permission={permission}>
                        <Loading>
                          <Page />
                        </Loading>
                      </RequirePermission>
                    }
                  />
                );
              })}
            </Route>
          </Route>
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </RouteBoundary>
      <Toaster />
    </>
  );
}
