import * as Tabs from "@radix-ui/react-tabs";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { z } from "zod";
import { nameSchema, passwordSchema } from "../../shared/schemas/common.js";
import { Button, Chip, Confirm, FormError, Notice, Spinner, TextField } from "../components/ui.js";
import { ApiError, api } from "../lib/api.js";
import { useFieldErrors, validate } from "../lib/forms.js";
import { formatDate, setLanguage } from "../lib/i18n.js";
import { qk, roleName, useMe, useSignOut } from "../lib/session.js";
import type { InvitationPreview, User } from "../lib/types.js";
import { AuthFrame, SignInForm } from "./auth/AuthPages.js";

type Preview = InvitationPreview & { state: string };

function stateOf(p: InvitationPreview): string {
  return (p.state ?? p.status ?? "pending").toLowerCase();
}

function inviterName(p: InvitationPreview): string {
  const i = (p.inviter ?? p.invitedBy ?? null) as { name?: string; firstName?: string; lastName?: string } | null;
  if (i?.firstName) return `${i.firstName} ${i.lastName ?? ""}`.trim();
  return i?.name ?? p.inviterName ?? "";
}

const createBody = z.object({ firstName: nameSchema, lastName: nameSchema, password: passwordSchema });

function ClosedInvitation({ state }: { state: string }) {
  const { t } = useTranslation();
  const key =
    state === "expired"
      ? "expired"
      : state === "revoked"
        ? "revoked"
        : state === "accepted"
          ? "used"
          : state === "declined"
            ? "declined"
            : "notFound";
  return (
    <AuthFrame title={t(`invite.${key}Title`)}>
      <div data-testid={`invite-${key}`} className="space-y-4">
        <p className="text-sm text-slate-600">{t(`invite.${key}Body`)}</p>
        <Link to="/signin" className="inline-block font-medium text-emerald-700 hover:underline">
          {t("auth.backToSignIn")}
        </Link>
      </div>
    </AuthFrame>
  );
}

export function InvitePage() {
  const { token = "" } = useParams();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const me = useMe();
  const signOut = useSignOut();
  const [declineOpen, setDeclineOpen] = useState(false);
  const [mode, setMode] = useState<"create" | "signin" | null>(null);
  const [form, setForm] = useState({ firstName: "", lastName: "", password: "" });
  const fe = useFieldErrors();

  const preview = useQuery({
    queryKey: ["invitation", token],
    queryFn: async (): Promise<Preview> => {
      try {
        const p = await api<InvitationPreview>(`/invitations/${encodeURIComponent(token)}`);
        return { ...p, state: stateOf(p) };
      } catch (e) {
        if (e instanceof ApiError && e.status === 410) {
          const body = (e.body ?? {}) as { state?: string; status?: string };
          const fromCode = /expired|revoked|accepted|used|declined/.exec(e.code)?.[0];
          return { email: "", state: (body.state ?? body.status ?? fromCode ?? "expired").replace("used", "accepted") };
        }
        throw e;
      }
    },
    retry: false,
  });

  const joined = async (res: unknown) => {
    const r = (res ?? {}) as {
      orgId?: string;
      organizationId?: string;
      organization?: { id?: string };
      membership?: { orgId?: string };
    };
    const orgId =
      r.orgId ?? r.organizationId ?? r.organization?.id ?? r.membership?.orgId ?? preview.data?.organization?.id;
    // Accepting may have just signed the invitee in (account created on the spot): know the session
    // before leaving, or the signed-in area would still see the cached "signed out" and send them to /signin.
    await qc.refetchQueries({ queryKey: qk.me, exact: true });
    // Not the preview: the token is used now, and re-reading it would flash "invitation already used".
    void qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "invitation" });
    navigate(orgId ? `/orgs/${orgId}` : "/", { replace: true });
  };

  const accept = useMutation({
    mutationFn: (body?: z.output<typeof createBody>) =>
      api(`/invitations/${encodeURIComponent(token)}/accept`, { method: "POST", body: body ?? {} }),
    onSuccess: joined,
    onError: (e) => {
      if (fe.fromServer(e)) return;
      if (e instanceof ApiError && e.status === 409 && mode === "create") setMode("signin");
      if (e instanceof ApiError && e.status === 410) void preview.refetch();
    },
  });
  const decline = useMutation({
    mutationFn: () => api(`/invitations/${encodeURIComponent(token)}/decline`, { method: "POST", body: {} }),
  });

  if (preview.isPending || me.isPending)
    return (
      <AuthFrame title={t("invite.title")}>
        <Spinner label={t("invite.loading")} />
      </AuthFrame>
    );
  if (preview.error) {
    if (preview.error instanceof ApiError && (preview.error.status === 404 || preview.error.status === 400))
      return <ClosedInvitation state="notfound" />;
    return (
      <AuthFrame title={t("invite.title")}>
        <FormError error={preview.error} />
      </AuthFrame>
    );
  }
  const p = preview.data;
  if (decline.isSuccess)
    return (
      <AuthFrame title={t("invite.declinedTitle")}>
        <Notice tone="info">{t("invite.declined")}</Notice>
      </AuthFrame>
    );
  if (p.state !== "pending") return <ClosedInvitation state={p.state} />;

  const orgName = p.organization?.name ?? p.orgName ?? "";
  const user = me.data;
  const sameEmail = user && user.email.toLowerCase() === p.email.toLowerCase();
  const effectiveMode = mode ?? ((p.accountExists ?? p.hasAccount) ? "signin" : "create");

  const submitCreate = (e: FormEvent) => {
    e.preventDefault();
    const v = validate(createBody, {
      firstName: form.firstName || p.firstName || "",
      lastName: form.lastName || p.lastName || "",
      password: form.password,
    });
    fe.setErrors(v.errors);
    if (v.data) accept.mutate(v.data);
  };

  return (
    <AuthFrame
      title={t("invite.title")}
      subtitle={t("invite.summary", { inviter: inviterName(p) || orgName, org: orgName })}
    >
      <div className="space-y-5" data-testid="invite-pending">
        <dl className="space-y-3 rounded-xl bg-slate-50 p-4 text-sm">
          <div>
            <dt className="text-slate-500">{t("invite.invitedEmail")}</dt>
            <dd className="font-medium text-slate-900">{p.email}</dd>
          </div>
          <div>
            <dt className="text-slate-500">{t("invite.roles")}</dt>
            <dd className="mt-1 flex flex-wrap gap-1">
              {p.roles?.length ? (
                p.roles.map((r) => (
                  <Chip key={r.id} tone="emerald">
                    {roleName(r)}
                  </Chip>
                ))
              ) : (
                <span className="text-slate-600">{t("invite.noRoles")}</span>
              )}
            </dd>
          </div>
          {p.expiresAt ? (
            <p className="text-xs text-slate-500">{t("invite.expires", { date: formatDate(p.expiresAt) })}</p>
          ) : null}
        </dl>

        {user && sameEmail ? (
          <div className="space-y-3">
            <FormError error={accept.error} />
            <Button className="w-full" onClick={() => accept.mutate(undefined)} disabled={accept.isPending}>
              {accept.isPending ? t("invite.accepting") : t("invite.accept")}
            </Button>
          </div>
        ) : user ? (
          <div className="space-y-3">
            <Notice tone="warning">{t("invite.wrongAccount", { current: user.email, email: p.email })}</Notice>
            <Button variant="secondary" className="w-full" onClick={() => void signOut()}>
              {t("invite.signOutAndContinue")}
            </Button>
          </div>
        ) : (
          <Tabs.Root value={effectiveMode} onValueChange={(v) => setMode(v as "create" | "signin")}>
            <Tabs.List
              className="mb-4 grid grid-cols-2 rounded-lg bg-slate-100 p-1 text-sm"
              aria-label={t("invite.title")}
            >
              <Tabs.Trigger
                value="create"
                className="rounded-md px-2 py-1.5 font-medium text-slate-600 data-[state=active]:bg-white data-[state=active]:text-slate-900 data-[state=active]:shadow-sm"
              >
                {t("invite.noAccountYet")}
              </Tabs.Trigger>
              <Tabs.Trigger
                value="signin"
                className="rounded-md px-2 py-1.5 font-medium text-slate-600 data-[state=active]:bg-white data-[state=active]:text-slate-900 data-[state=active]:shadow-sm"
              >
                {t("invite.haveAccount")}
              </Tabs.Trigger>
            </Tabs.List>
            <Tabs.Content value="create">
              <p className="mb-3 text-sm text-slate-600">{t("invite.createToAccept")}</p>
              <form onSubmit={submitCreate} noValidate className="space-y-4">
                <div className="grid gap-4 sm:grid-cols-2">
                  <TextField
                    label={t("auth.firstName")}
                    name="firstName"
                    autoComplete="given-name"
                    defaultValue={p.firstName}
                    onChange={(e) => setForm({ ...form, firstName: e.target.value })}
                    error={fe.errors.firstName}
                  />
                  <TextField
                    label={t("auth.lastName")}
                    name="lastName"
                    autoComplete="family-name"
                    defaultValue={p.lastName}
                    onChange={(e) => setForm({ ...form, lastName: e.target.value })}
                    error={fe.errors.lastName}
                  />
                </div>
                <TextField label={t("auth.email")} name="email" value={p.email} readOnly />
                <TextField
                  label={t("auth.password")}
                  name="password"
                  type="password"
                  autoComplete="new-password"
                  value={form.password}
                  onChange={(e) => setForm({ ...form, password: e.target.value })}
                  error={fe.errors.password}
                  help={t("auth.passwordHint")}
                />
                <FormError error={accept.error && !Object.keys(fe.errors).length ? accept.error : null} />
                <Button type="submit" className="w-full" disabled={accept.isPending}>
                  {accept.isPending ? t("invite.accepting") : t("invite.createAndJoin")}
                </Button>
              </form>
            </Tabs.Content>
            <Tabs.Content value="signin">
              <p className="mb-3 text-sm text-slate-600">{t("invite.signInToAccept", { email: p.email })}</p>
              <SignInForm
                fixedEmail={p.email}
                onSignedIn={(u: User) => {
                  qc.setQueryData(qk.me, u);
                  if (u.language) setLanguage(u.language);
                  accept.mutate(undefined);
                }}
              />
              <FormError error={accept.error} />
            </Tabs.Content>
          </Tabs.Root>
        )}

        <div className="border-t border-slate-100 pt-4 text-center">
          <button
            type="button"
            className="text-sm font-medium text-slate-600 hover:text-red-700 hover:underline"
            onClick={() => setDeclineOpen(true)}
          >
            {t("invite.decline")}
          </button>
        </div>
        <Confirm
          open={declineOpen}
          onOpenChange={setDeclineOpen}
          title={t("invite.decline")}
          body={t("invite.declineConfirm")}
          confirmLabel={t("invite.decline")}
          onConfirm={() => decline.mutate(undefined, { onSuccess: () => setDeclineOpen(false) })}
          pending={decline.isPending}
          error={decline.error}
        />
      </div>
    </AuthFrame>
  );
}
