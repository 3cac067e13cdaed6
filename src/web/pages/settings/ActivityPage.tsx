import * as Tabs from "@radix-ui/react-tabs";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { type Column, DataTable, LoadMore, QueryView, TabList, useTabParam } from "../../components/data.js";
import { SelectField, TextField } from "../../components/fields.js";
import { Button, buttonClass, Card, Chip, cx, ErrorState, PageHeader, Spinner } from "../../components/ui.js";
import { OwnerBadge, useOrgContext } from "../../layout.js";
import { api } from "../../lib/api.js";
import { formatDate, relativeTime } from "../../lib/i18n.js";
import { describeUserAgent, problemText } from "../../lib/problems.js";
import { roleName } from "../../lib/session.js";
import type { LoginAttempt } from "../../lib/types.js";
import { useLists, useTags, useTeams } from "../../lib/workspace.js";

interface ActivityItem {
  id: string;
  at: string;
  actor: { type: string; id: string | null; name: string };
  action: string;
  target: { type: string; id: string | null; label: string | null };
  changes: Record<string, { before?: unknown; after?: unknown }> | null;
  ip: string | null;
}

interface ReviewMember {
  memberId: string;
  userId: string;
  name: string;
  email: string;
  isOwner: boolean;
  roles: { id: string; name: string }[];
  permissionCount: number;
  lastSignInAt: string | null;
  lastActiveAt: string | null;
  daysSinceActive: number;
  inactive: boolean;
  twoFactorEnabled: boolean;
  blockedByTwoFactorPolicy: boolean;
}
interface Review {
  inactiveDays: number;
  permissionCatalogueSize: number;
  members: ReviewMember[];
  pendingInvitations: {
    id: string;
    email: string;
    name: string;
    ageDays: number;
    expired: boolean;
    invitedByName: string;
  }[];
}

const ACTIONS = [
  "member.",
  "member.invited",
  "member.roles_changed",
  "member.removed",
  "invitation.",
  "role.",
  "org.updated",
  "ownership.transferred",
  "contact.",
  "conversation.",
  "conversation.assigned",
  "member.presence_changed",
  "template.",
  "broadcast.",
  "automation.",
  "channel.",
] as const;

function useActionLabel() {
  const { t, i18n } = useTranslation();
  return (action: string) => {
    const key = `activity.actions.${action}`;
    return i18n.exists(key) ? t(key) : action;
  };
}

const ROLE_FIELDS = new Set(["roleIds", "previousOwnerRoles", "replacedWith"]);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Shows a recorded value the way the rest of the app does: role and permission names, dates, yes/no. */
function useChangeFormat() {
  const { t, i18n } = useTranslation();
  const { orgId, roleLabel, can } = useOrgContext();
  // People by name, not by id: the access review lists every member (user and membership ids).
  const review = useReview(orgId, 90);
  const names = new Map<string, string>();
  for (const m of review.data?.members ?? []) names.set(m.userId, m.name).set(m.memberId, m.name);
  // Tags, lists and teams by name too, where the reader may list them.
  const tags = useTags(orgId, can("contacts:read"));
  const lists = useLists(orgId, can("contacts:read"));
  const teams = useTeams(orgId, can("members:read"));
  for (const x of [...(tags.data ?? []), ...(lists.data ?? []), ...(teams.data ?? [])]) names.set(x.id, x.name);
  const one = (field: string, v: unknown): string | null => {
    if (v === null || v === undefined || v === "") return "—";
    if (typeof v === "boolean") return v ? t("common.yes") : t("common.no");
    if (ROLE_FIELDS.has(field) && typeof v === "string") return roleLabel(v);
    if (typeof v === "string" && UUID.test(v)) return names.get(v) ?? null; // an id says nothing to a person
    if (field === "permissions" && typeof v === "string")
      return i18n.exists(`permissions.${v}.label`) ? t(`permissions.${v}.label`) : v;
    if (field === "state" && typeof v === "string")
      return i18n.exists(`activity.states.${v}`) ? t(`activity.states.${v}`) : v;
    if (field === "status" && typeof v === "string")
      return i18n.exists(`activity.statuses.${v}`) ? t(`activity.statuses.${v}`) : v;
    if ((field === "reason" || field === "via") && typeof v === "string")
      return i18n.exists(`activity.reasons.${v}`) ? t(`activity.reasons.${v}`) : v;
    if (field === "defaultLanguage" && typeof v === "string")
      return i18n.exists(`languages.${v}`) ? t(`languages.${v}`) : v;
    if (typeof v === "string" && ISO_DATE.test(v)) return formatDate(v);
    if (typeof v === "object" && !Array.isArray(v)) return JSON.stringify(v);
    return String(v);
  };
  return {
    label: (field: string) => (i18n.exists(`activity.fields.${field}`) ? t(`activity.fields.${field}`) : field),
    /** null: nothing to show a person (an id of something gone); the line is left out. */
    value: (field: string, v: unknown): string | null =>
      Array.isArray(v) ? v.map((x) => one(field, x) ?? "—").join(", ") || "—" : one(field, v),
  };
}

function Change({
  field,
  change,
  f,
}: {
  field: string;
  change: { before?: unknown; after?: unknown };
  f: ReturnType<typeof useChangeFormat>;
}) {
  const has = (v: unknown) => v !== undefined && v !== null;
  // A created list that is empty (a note without mentions) says nothing.
  if (!has(change.before) && Array.isArray(change.after) && change.after.length === 0) return null;
  if ((has(change.before) ? f.value(field, change.before) : null) === null && f.value(field, change.after) === null)
    return null;
  return (
    <li className="break-words">
      <span className="font-medium">{f.label(field)}</span>:{" "}
      {has(change.before) ? (
        <span className="line-through decoration-slate-400">{f.value(field, change.before)}</span>
      ) : null}
      {has(change.before) && has(change.after) ? " → " : null}
      {has(change.after) || !has(change.before) ? f.value(field, change.after) : null}
    </li>
  );
}

function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function useReview(orgId: string, inactiveDays: number) {
  return useQuery({
    queryKey: ["org", orgId, "access-review", inactiveDays],
    queryFn: () => api<Review>(`/orgs/${orgId}/access-review`, { query: { inactiveDays, sort: "risk" } }),
  });
}

function ActivityLog() {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const label = useActionLabel();
  const changeFormat = useChangeFormat();
  const review = useReview(orgId, 90);
  const [draft, setDraft] = useState({ actorId: "", action: "", from: "", to: "" });
  const [filters, setFilters] = useState(draft);
  const query = {
    actorId: filters.actorId || undefined,
    action: filters.action || undefined,
    from: localToIso(filters.from),
    to: localToIso(filters.to),
  };
  const log = useInfiniteQuery({
    queryKey: ["org", orgId, "activity", query],
    queryFn: ({ pageParam }) =>
      api<{ items: ActivityItem[]; nextCursor: string | null }>(`/orgs/${orgId}/activity`, {
        query: { ...query, limit: 50, cursor: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.nextCursor ?? undefined,
  });
  const exportUrl = (format: "csv" | "jsonl") => {
    const q = new URLSearchParams({ format });
    for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
    return `/api/v1/orgs/${orgId}/activity/export?${q}`;
  };
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };
  const items = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="space-y-4">
      <form
        onSubmit={apply}
        className="grid gap-3 rounded-xl border border-slate-200 bg-white p-4 sm:grid-cols-2 lg:grid-cols-[repeat(4,minmax(0,1fr))_auto] lg:items-end"
        aria-label={t("activity.apply")}
      >
        <SelectField
          label={t("activity.member")}
          value={draft.actorId}
          onChange={(e) => setDraft({ ...draft, actorId: e.target.value })}
        >
          <option value="">{t("activity.anyMember")}</option>
          {review.data?.members.map((m) => (
            <option key={m.userId} value={m.userId}>
              {m.name}
            </option>
          ))}
        </SelectField>
        <SelectField
          label={t("activity.action")}
          value={draft.action}
          onChange={(e) => setDraft({ ...draft, action: e.target.value })}
        >
          <option value="">{t("activity.anyAction")}</option>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a.endsWith(".") ? t(`activity.actionGroups.${a.slice(0, -1)}`) : label(a)}
            </option>
          ))}
        </SelectField>
        <TextField
          label={t("activity.from")}
          type="datetime-local"
          value={draft.from}
          onChange={(e) => setDraft({ ...draft, from: e.target.value })}
        />
        <TextField
          label={t("activity.to")}
          type="datetime-local"
          value={draft.to}
          onChange={(e) => setDraft({ ...draft, to: e.target.value })}
        />
        <div className="flex gap-2">
          <Button type="submit" className="whitespace-nowrap">
            {t("activity.apply")}
          </Button>
          <Button
            variant="ghost"
            onClick={() => {
              const empty = { actorId: "", action: "", from: "", to: "" };
              setDraft(empty);
              setFilters(empty);
            }}
          >
            {t("activity.reset")}
          </Button>
        </div>
      </form>
      <div className="flex flex-wrap justify-end gap-2">
        {(["csv", "jsonl"] as const).map((format) => (
          <a key={format} href={exportUrl(format)} download className={buttonClass("secondary", "sm")}>
            {t(format === "csv" ? "activity.exportCsv" : "activity.exportJsonl")}
          </a>
        ))}
      </div>
      <Card>
        <QueryView query={log}>
          {() =>
            !items.length ? (
              <p className="py-6 text-center text-sm text-slate-500">{t("activity.empty")}</p>
            ) : (
              <ol className="divide-y divide-slate-100" aria-label={t("activity.tabLog")}>
                {items.map((a) => (
                  <li key={a.id} className="flex flex-col gap-1 py-3 sm:flex-row sm:gap-4" data-testid="activity-row">
                    <time dateTime={a.at} className="w-40 shrink-0 text-xs text-slate-500">
                      {formatDate(a.at)}
                    </time>
                    <div className="min-w-0 text-sm">
                      <p>
                        <span className="font-medium text-slate-900">{a.actor.name}</span>{" "}
                        <span className="text-slate-600">{label(a.action)}</span>{" "}
                        {a.target.label ? <span className="font-medium text-slate-900">{a.target.label}</span> : null}
                      </p>
                      {a.changes && Object.keys(a.changes).length ? (
                        <ul className="mt-1 space-y-0.5 text-xs text-slate-600">
                          {Object.entries(a.changes).map(([k, c]) => (
                            <Change key={k} field={k} change={c} f={changeFormat} />
                          ))}
                        </ul>
                      ) : null}
                    </div>
                  </li>
                ))}
              </ol>
            )
          }
        </QueryView>
        <LoadMore query={log} />
      </Card>
    </div>
  );
}

export function LoginAttemptsTable({ items }: { items: LoginAttempt[] }) {
  const { t } = useTranslation();
  if (!items.length) return <p className="py-6 text-center text-sm text-slate-600">{t("activity.loginsEmpty")}</p>;
  const columns: Column<LoginAttempt>[] = [
    {
      key: "time",
      label: t("activity.colTime"),
      className: "whitespace-nowrap text-slate-700",
      cell: (a) => formatDate(a.at ?? a.createdAt),
    },
    ...(items[0]?.member
      ? [{ key: "member", label: t("activity.member"), cell: (a: LoginAttempt) => a.member?.name ?? "—" }]
      : []),
    {
      key: "result",
      label: t("activity.colResult"),
      cell: (a) =>
        a.success ? (
          <Chip tone="emerald">{t("activity.success")}</Chip>
        ) : (
          <Chip tone="red">
            {a.failureReason ? problemText(a.failureReason, t("activity.failure")) : t("activity.failure")}
          </Chip>
        ),
    },
    { key: "ip", label: t("activity.colIp"), from: "sm", className: "text-slate-700", cell: (a) => a.ip ?? "—" },
    {
      key: "device",
      label: t("activity.colDevice"),
      from: "md",
      className: "text-slate-700",
      cell: (a) => <span title={a.userAgent ?? ""}>{describeUserAgent(a.userAgent)}</span>,
    },
    {
      key: "2fa",
      label: t("activity.col2fa"),
      cell: (a) => (a.twoFactorUsed ? t("common.yes") : t("common.no")),
    },
  ];
  return <DataTable columns={columns} rows={items} rowKey={(a) => a.id} dense label={t("activity.tabLogins")} />;
}

function LoginActivity() {
  const { orgId } = useOrgContext();
  const q = useQuery({
    queryKey: ["org", orgId, "login-activity"],
    queryFn: () => api<{ items: LoginAttempt[] }>(`/orgs/${orgId}/login-activity`, { query: { limit: 100 } }),
  });
  return (
    <Card>
      <QueryView query={q}>{(data) => <LoginAttemptsTable items={data.items} />}</QueryView>
    </Card>
  );
}

function AccessReview() {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const [days, setDays] = useState(90);
  const q = useReview(orgId, days);
  if (q.isPending) return <Spinner />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  const r = q.data;
  const inactive = r.members.filter((m) => m.inactive).length;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <p className="text-sm text-slate-600">
          {t("activity.reviewSummary", { inactive, total: r.members.length, days: r.inactiveDays })}
        </p>
        <SelectField
          className="w-48"
          label={t("activity.reviewInactiveDays")}
          value={days}
          onChange={(e) => setDays(Number(e.target.value))}
        >
          {[30, 60, 90, 180, 365].map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </SelectField>
      </div>
      <Card>
        <DataTable
          dense
          label={t("activity.tabReview")}
          rows={r.members}
          rowKey={(m) => m.memberId}
          rowProps={(m) => ({
            className: cx(m.inactive && "bg-amber-50"),
            "data-testid": "review-row",
            "data-inactive": m.inactive,
          })}
          columns={[
            {
              key: "member",
              label: t("team.colMember"),
              cell: (m) => (
                <>
                  <p className="flex flex-wrap items-center gap-1.5 font-medium text-slate-900">
                    <span className="min-w-0 break-words">{m.name}</span> {m.isOwner ? <OwnerBadge /> : null}{" "}
                    {m.inactive ? <Chip tone="amber">{t("activity.reviewInactive")}</Chip> : null}
                  </p>
                  <p className="truncate text-xs text-slate-600">{m.email}</p>
                </>
              ),
            },
            {
              key: "roles",
              label: t("team.colRoles"),
              cell: (m) => (
                <div className="flex flex-wrap gap-1">
                  {m.roles.map((x) => (
                    <Chip key={x.id}>{roleName(x)}</Chip>
                  ))}
                </div>
              ),
            },
            {
              key: "permissions",
              label: t("activity.reviewPermissions"),
              from: "sm",
              className: "text-slate-700",
              cell: (m) => `${m.permissionCount}/${r.permissionCatalogueSize}`,
            },
            {
              key: "lastSignIn",
              label: t("activity.reviewLastSignIn"),
              from: "md",
              className: "text-slate-700",
              cell: (m) => relativeTime(m.lastSignInAt),
            },
            {
              key: "lastActive",
              label: t("activity.reviewLastActive"),
              from: "sm",
              className: "text-slate-700",
              cell: (m) => relativeTime(m.lastActiveAt),
            },
            {
              key: "2fa",
              label: t("team.col2fa"),
              from: "sm",
              cell: (m) =>
                m.twoFactorEnabled ? (
                  <Chip tone="emerald">{t("team.twoFaOn")}</Chip>
                ) : (
                  <Chip tone={m.blockedByTwoFactorPolicy ? "red" : "amber"}>
                    {m.blockedByTwoFactorPolicy ? t("activity.reviewBlocked") : t("team.twoFaOff")}
                  </Chip>
                ),
            },
          ]}
        />
      </Card>
      {r.pendingInvitations.length ? (
        <Card title={t("activity.reviewPending")}>
          <ul className="divide-y divide-slate-100 text-sm">
            {r.pendingInvitations.map((i) => (
              <li key={i.id} className="flex flex-wrap items-center justify-between gap-2 py-2">
                <span>
                  {i.name} · <span className="text-slate-500">{i.email}</span>
                </span>
                <span className="flex items-center gap-2 text-xs text-slate-500">
                  {i.expired ? <Chip tone="red">{t("team.expired")}</Chip> : null}
                  {t("activity.reviewAge", { count: i.ageDays })}
                </span>
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
    </div>
  );
}

export function ActivityPage() {
  const { t } = useTranslation();
  const [tab, setTab] = useTabParam("log");
  return (
    <>
      <PageHeader title={t("activity.title")} subtitle={t("activity.subtitle")} />
      <Tabs.Root value={tab} onValueChange={setTab}>
        <TabList
          label={t("activity.title")}
          tabs={[
            { value: "log", label: t("activity.tabLog") },
            { value: "logins", label: t("activity.tabLogins") },
            { value: "review", label: t("activity.tabReview") },
          ]}
        />
        <Tabs.Content value="log">
          <ActivityLog />
        </Tabs.Content>
        <Tabs.Content value="logins">
          <LoginActivity />
        </Tabs.Content>
        <Tabs.Content value="review">
          <AccessReview />
        </Tabs.Content>
      </Tabs.Root>
    </>
  );
}
