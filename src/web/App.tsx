import type { ComponentType } from "react";
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
import { InvitePage } from "./pages/InvitePage.js";
import { HomeRedirect, NotFoundPage, OrgHomePage } from "./pages/misc.js";
import { CreateOrgPage } from "./pages/orgs.js";
import { ProfilePage } from "./pages/ProfilePage.js";
import { ActivityPage } from "./pages/settings/ActivityPage.js";
import { OrganizationPage } from "./pages/settings/OrganizationPage.js";
import { RolesPage } from "./pages/settings/RolesPage.js";
import { TeamPage } from "./pages/settings/TeamPage.js";

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
        <Route path="/invite/:token" element={<InvitePage />} />
        <Route
          element={
            <RequireAuth>
              <AppShell />
            </RequireAuth>
          }
        >
          <Route index element={<HomeRedirect />} />
          <Route path="/orgs/new" element={<CreateOrgPage />} />
          <Route path="/profile" element={<ProfilePage />} />
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
                      <Page />
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
