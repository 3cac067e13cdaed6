import { type ComponentType, lazy, type ReactNode, Suspense } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { Spinner, Toaster } from "./components/ui.js";
import { AppShell, ORG_SECTIONS, OrgLayout, RequirePermission } from "./layout.js";
import { useMe } from "./lib/session.js";
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
 */
function lazyPage<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) {
  return lazy(async () => ({ default: (await load())[name] }));
}
const InvitePage = lazyPage(() => import("./pages/InvitePage.js"), "InvitePage");
const CreateOrgPage = lazyPage(() => import("./pages/orgs.js"), "CreateOrgPage");
const ProfilePage = lazyPage(() => import("./pages/ProfilePage.js"), "ProfilePage");
const ActivityPage = lazyPage(() => import("./pages/settings/ActivityPage.js"), "ActivityPage");
const OrganizationPage = lazyPage(() => import("./pages/settings/OrganizationPage.js"), "OrganizationPage");
const RolesPage = lazyPage(() => import("./pages/settings/RolesPage.js"), "RolesPage");
const TeamPage = lazyPage(() => import("./pages/settings/TeamPage.js"), "TeamPage");

/** A lazily loaded page shows the spinner in place (the shell around it stays) while it loads. */
function Loading({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Spinner />}>{children}</Suspense>;
}

const SECTION_PAGES: Record<(typeof ORG_SECTIONS)[number]["id"], ComponentType> = {
  team: TeamPage,
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
  return <>{children}</>;
}

export function App() {
  return (
    <>
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
      <Toaster />
    </>
  );
}
