import * as Tabs from "@radix-ui/react-tabs";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router";
import { z } from "zod";
import { nameSchema, passwordSchema } from "../../shared/schemas/common.js";
import { TabList } from "../components/data.js";
import { NameFields, PasswordField, TextField } from "../components/fields.js";
import { Button, Chip, Confirm, FormError, Notice, Spinner } from "../components/ui.js";
import { ApiError, api } from "../lib/api.js";
import { useFormFields, validate } from "../lib/forms.js";
import { formatDate, setLanguage } from "../lib/i18n.js";
import { qk, roleName, useMe, useSignOut } from "../lib/session.js";
import type { InvitationPreview, User } from "../lib/types.js";
import { AuthFrame, AuthOutcome, AuthSubmit, SignInForm } from "./auth/AuthPages.js";

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
      <AuthOutcome testId={`invite-${key}`} to="/signin" linkLabel={t("auth.backToSignIn")}>
        <p className="text-sm text-slate-600">{t(`invite.${key}Body`)}</p>
      </AuthOutcome>
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
  const form = useFormFields<{ firstName?: string; lastName?: string; password: string }>({ password: "" });

  const preview = useQuery({
    queryKey: ["invitation", token],
    queryFn: async (): Promise<Preview> => {
      try {
        const p = await api<InvitationPreview>("/invitations/preview", { method: "POST", body: { token } });
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
      api("/invitations/accept", { method: "POST", body: { ...body, token } }),
    onSuccess: joined,
    onError: (e) => {
      if (form.fromServer(e)) return;
      if (e instanceof ApiError && e.status === 409 && mode === "create") setMode("signin");
      if (e instanceof ApiError && e.status === 410) void preview.refetch();
    },
  });
  const decline = useMutation({
    mutationFn: () => api("/invitations/decline", { method: "POST", body: { token } }),
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
      firstName: form.values.firstName ?? p.firstName ?? "",
      lastName: form.values.lastName ?? p.lastName ?? "",
      password: form.values.password,
    });
    form.setErrors(v.errors);
    if (v.data) accept.mutate(v.data);
  };
  // The names the inviter typed are the starting values until the invitee edits them (even to
  // empty, which then fails validation rather than silently sending the inviter's value).
  const nameField = (k: "firstName" | "lastName") => ({ ...form.field(k), value: form.values[k] ?? p[k] ?? "" });

  return (
    <AuthFrame
      title={t("invite.title")}
      subtitle={t("invite.summary", { inviter: inviterName(p) || orgName, org: orgName })}
    >
      <div className="space-y-5" data-testid="invite-pending">
        <dl className="space-y-3 rounded-xl bg-slate-50 p-4 text-sm">
          <div>
            <dt className="text-slate-600">{t("invite.invitedEmail")}</dt>
            <dd className="font-medium text-slate-900">{p.email}</dd>
          </div>
          <div>
            <dt className="text-slate-600">{t("invite.roles")}</dt>
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
        </dl>
        {p.expiresAt ? (
          <p className="-mt-3 px-4 text-xs text-slate-600">{t("invite.expires", { date: formatDate(p.expiresAt) })}</p>
        ) : null}

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
            <TabList
              variant="segmented"
              label={t("invite.title")}
              tabs={[
                { value: "create", label: t("invite.noAccountYet") },
                { value: "signin", label: t("invite.haveAccount") },
              ]}
            />
            <Tabs.Content value="create">
              <p className="mb-3 text-sm text-slate-600">{t("invite.createToAccept")}</p>
              <form onSubmit={submitCreate} noValidate className="space-y-4">
                <NameFields first={nameField("firstName")} last={nameField("lastName")} personal />
                <TextField label={t("auth.email")} name="email" autoComplete="username" value={p.email} readOnly />
                <PasswordField kind="new" label={t("auth.password")} {...form.field("password")} />
                <AuthSubmit
                  error={accept.error}
                  fieldErrors={form.errors}
                  pending={accept.isPending}
                  label={t("invite.createAndJoin")}
                  pendingLabel={t("invite.accepting")}
                />
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
