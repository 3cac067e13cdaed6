import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router";
import { type Column, DataTable, LoadMore, QueryView } from "../../components/data.js";
import { DeleteConfirm, useDeleteRow } from "../../components/delete-confirm.js";
import { TextField } from "../../components/fields.js";
import {
  Button,
  buttonClass,
  Card,
  Confirm,
  FormError,
  Notice,
  PageHeader,
  TextLink,
  toast,
} from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { API, api } from "../../lib/api.js";
import {
  type BroadcastDetail,
  broadcastKeys,
  isLive,
  type Recipient,
  type TimelineItem,
} from "../../lib/broadcasts.js";
import { useCursorList } from "../../lib/cursor-list.js";
import { BroadcastDialog, BroadcastStatusChip, Progress } from "./BroadcastsPage.js";

const PAGE = 50;

/** One broadcast: counts and progress, send / schedule / pause / resume / cancel, recipients, timeline. */
export function BroadcastDetailPage() {
  const { t, i18n } = useTranslation();
  const { orgId, can } = useOrgContext();
  const { broadcastId = "" } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const [cancelling, setCancelling] = useState(false);
  const [scheduleAt, setScheduleAt] = useState("");
  const live = (b: BroadcastDetail | undefined) => (isLive(b) ? 1500 : false);
  const one = useQuery({
    queryKey: broadcastKeys.one(orgId, broadcastId),
    queryFn: () => api<BroadcastDetail>(`/orgs/${orgId}/broadcasts/${broadcastId}`),
    refetchInterval: (q) => live(q.state.data),
  });
  const status = one.data?.status;
  const recipients = useCursorList<Recipient>({
    queryKey: broadcastKeys.recipients(orgId, broadcastId),
    path: `/orgs/${orgId}/broadcasts/${broadcastId}/recipients`,
    limit: PAGE,
    enabled: Boolean(status && status !== "draft"),
    poll: live(one.data),
  });
  const timeline = useQuery({
    queryKey: broadcastKeys.timeline(orgId, broadcastId),
    queryFn: async () =>
      (await api<{ items: TimelineItem[] }>(`/orgs/${orgId}/broadcasts/${broadcastId}/timeline`)).items,
    refetchInterval: live(one.data),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: broadcastKeys.all(orgId) });
  const act = useMutation({
    mutationFn: ({ verb, body }: { verb: "send" | "pause" | "resume" | "cancel"; body?: unknown }) =>
      api<BroadcastDetail>(`/orgs/${orgId}/broadcasts/${broadcastId}/${verb}`, {
        method: "POST",
        body: body ?? {},
      }),
    onSuccess: (b, { verb }) => {
      qc.setQueryData(broadcastKeys.one(orgId, broadcastId), b);
      toast(t(`broadcasts.done_${verb}`, { name: b.name }));
      refresh();
    },
  });
  // The draft is the page: once it is deleted, back to the list (no longer showing it).
  const remove = useDeleteRow({
    path: (b: BroadcastDetail) => `/orgs/${orgId}/broadcasts/${b.id}`,
    invalidate: [broadcastKeys.all(orgId)],
    onDeleted: () => void navigate(`/orgs/${orgId}/broadcasts`),
  });
  const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString(i18n.language) : "—");
  const columns: Column<Recipient>[] = [
    {
      key: "contact",
      label: t("broadcasts.colContact"),
      cell: (r) => (
        <div className="min-w-0">
          <p className="font-medium break-words text-slate-900">{r.contactName ?? r.recipient}</p>
          {r.contactName ? <p className="text-xs text-slate-500">{r.recipient}</p> : null}
        </div>
      ),
    },
    {
      key: "status",
      label: t("broadcasts.colStatus"),
      cell: (r) => (
        <span data-testid="recipient-status">
          {t(`broadcasts.recipient_${r.status}`)}
          {r.errorTitle ? <span className="block text-xs break-words text-red-700">{r.errorTitle}</span> : null}
        </span>
      ),
    },
    {
      key: "at",
      label: t("broadcasts.colUpdated"),
      from: "md",
      cell: (r) => when(r.readAt ?? r.deliveredAt ?? r.failedAt ?? r.sentAt),
    },
  ];
  return (
    <div>
      <p className="mb-2 text-sm">
        <TextLink to={`/orgs/${orgId}/broadcasts`}>← {t("broadcasts.back")}</TextLink>
      </p>
      <QueryView query={one}>
        {(b) => (
          <div className="space-y-4">
            <PageHeader
              title={b.name}
              subtitle={b.template ? `${b.template.name} (${b.template.language})` : undefined}
            />
            <Card>
              <div className="space-y-3">
                <p className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
                  <BroadcastStatusChip status={b.status} />
                  {b.status === "scheduled" && b.scheduledAt
                    ? t("broadcasts.scheduledFor", { when: when(b.scheduledAt), timezone: b.timezone })
                    : null}
                  {b.statusReason ? <span className="break-words">{b.statusReason}</span> : null}
                </p>
                {b.status !== "draft" ? <Progress broadcast={b} /> : null}
                <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4" data-testid="broadcast-detail-counts">
                  {(["total", "sent", "delivered", "read", "failed", "replied", "queued", "cancelled"] as const).map(
                    (k) => (
                      <div key={k} className="rounded-lg bg-slate-50 p-2" data-count={k}>
                        <dt className="text-xs text-slate-600">{t(`broadcasts.count_${k}`)}</dt>
                        <dd className="text-lg font-semibold text-slate-900">{b.counts[k]}</dd>
                      </div>
                    ),
                  )}
                </dl>
                {b.audienceSize ? (
                  <p className="text-sm text-slate-700" data-testid="audience-size">
                    {t("broadcasts.audienceSize", {
                      count: b.audienceSize.size,
                      optedOut: b.audienceSize.optedOut,
                      duplicates: b.audienceSize.duplicates,
                    })}
                  </p>
                ) : (
                  <p className="text-xs text-slate-600">
                    {t("broadcasts.excluded", { optedOut: b.excluded.optedOut, duplicates: b.excluded.duplicates })}
                  </p>
                )}
                {b.failureReasons.length ? (
                  <ul className="text-sm text-red-700">
                    {b.failureReasons.map((f) => (
                      <li key={`${f.code}-${f.title}`}>
                        {f.title} {f.code !== null ? `(${f.code})` : ""}: {f.count}
                      </li>
                    ))}
                  </ul>
                ) : null}
                <FormError error={act.error} />
                <div className="flex flex-wrap items-end gap-2">
                  {b.status === "draft" && can("broadcasts:manage") ? (
                    <>
                      <Button variant="secondary" onClick={() => setEditing(true)}>
                        {t("common.edit")}
                      </Button>
                      <Button variant="secondary" onClick={() => remove.ask(b)}>
                        {t("common.delete")}
                      </Button>
                    </>
                  ) : null}
                  {b.status === "draft" && can("broadcasts:send") ? (
                    <>
                      <Button disabled={act.isPending} onClick={() => act.mutate({ verb: "send" })}>
                        {t("broadcasts.sendNow")}
                      </Button>
                      <TextField
                        type="datetime-local"
                        label={t("broadcasts.scheduleAt", { timezone: b.timezone })}
                        value={scheduleAt}
                        onChange={(e) => setScheduleAt(e.target.value)}
                      />
                      <Button
                        variant="secondary"
                        disabled={act.isPending || !scheduleAt}
                        onClick={() => act.mutate({ verb: "send", body: { scheduledAt: scheduleAt } })}
                      >
                        {t("broadcasts.schedule")}
                      </Button>
                    </>
                  ) : null}
                  {can("broadcasts:send") && b.status === "sending" ? (
                    <Button variant="secondary" disabled={act.isPending} onClick={() => act.mutate({ verb: "pause" })}>
                      {t("broadcasts.pause")}
                    </Button>
                  ) : null}
                  {can("broadcasts:send") && b.status === "paused" ? (
                    <Button disabled={act.isPending} onClick={() => act.mutate({ verb: "resume" })}>
                      {t("broadcasts.resume")}
                    </Button>
                  ) : null}
                  {can("broadcasts:send") && ["scheduled", "sending", "paused"].includes(b.status) ? (
                    <Button variant="danger" disabled={act.isPending} onClick={() => setCancelling(true)}>
                      {t("broadcasts.cancel")}
                    </Button>
                  ) : null}
                </div>
                {!can("broadcasts:send") && b.status === "draft" ? <Notice>{t("broadcasts.noSend")}</Notice> : null}
              </div>
            </Card>
            {b.status !== "draft" ? (
              <Card className="overflow-hidden">
                <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
                  <h2 className="text-base font-semibold text-slate-900">{t("broadcasts.recipients")}</h2>
                  <a
                    className={buttonClass("secondary", "sm")}
                    href={`${API}/orgs/${orgId}/broadcasts/${broadcastId}/recipients/export`}
                    download
                  >
                    {t("broadcasts.exportCsv")}
                  </a>
                </div>
                <QueryView query={recipients}>
                  {(rows) => (
                    <>
                      <DataTable
                        dense
                        label={t("broadcasts.recipients")}
                        columns={columns}
                        rows={rows}
                        rowKey={(r) => r.id}
                        rowProps={() => ({ "data-testid": "recipient-row" })}
                      />
                      <LoadMore query={recipients} />
                    </>
                  )}
                </QueryView>
              </Card>
            ) : null}
            <Card>
              <h2 className="mb-2 text-base font-semibold text-slate-900">{t("broadcasts.timeline")}</h2>
              <QueryView query={timeline}>
                {(items) => (
                  <ol className="space-y-1 text-sm text-slate-700" data-testid="broadcast-timeline">
                    {items.map((x) => (
                      <li key={x.id} className="break-words">
                        <span className="text-slate-500">{when(x.at)}</span> · {x.actorName} ·{" "}
                        {t(`broadcasts.action_${x.action.replace("broadcast.", "")}`, { defaultValue: x.action })}
                      </li>
                    ))}
                  </ol>
                )}
              </QueryView>
            </Card>
            {editing ? <BroadcastDialog broadcast={b} onClose={() => setEditing(false)} /> : null}
            <Confirm
              open={cancelling}
              onOpenChange={(o) => {
                if (!o) {
                  setCancelling(false);
                  act.reset();
                }
              }}
              title={t("broadcasts.cancelTitle", { name: b.name })}
              body={t("broadcasts.cancelBody", { count: b.counts.queued })}
              confirmLabel={t("broadcasts.cancel")}
              onConfirm={() => act.mutate({ verb: "cancel" }, { onSuccess: () => setCancelling(false) })}
              pending={act.isPending}
              error={act.error}
            />
            <DeleteConfirm
              del={remove}
              title={t("broadcasts.deleteTitle", { name: b.name })}
              body={t("broadcasts.deleteBody")}
            />
          </div>
        )}
      </QueryView>
    </div>
  );
}
