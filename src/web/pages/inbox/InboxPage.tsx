import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { LoadMore, useUrlFilters } from "../../components/data.js";
import { SelectField, TextField } from "../../components/fields.js";
import { CenteredMessage, Chip, cx, ErrorState, Spinner, useDebounced } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { useChannelOptions } from "../../lib/channels.js";
import { relativeTime } from "../../lib/i18n.js";
import {
  CONVERSATION_STATUSES,
  type Conversation,
  type ConversationStatus,
  INBOX_VIEWS,
  type InboxView,
  useConversations,
  useConversationTagOptions,
} from "../../lib/inbox.js";
import { useTeams } from "../../lib/workspace.js";
import { DetailsAside } from "./DetailsPane.js";
import { ThreadPane } from "./ThreadPane.js";

/** Typing in a field, a menu or a dialog keeps its keys: the shortcuts are for the page itself. */
function typingOrInDialog(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  if (e.metaKey || e.ctrlKey || e.altKey) return true;
  if (el?.closest("input, textarea, select, [contenteditable], [role='menu'], [role='listbox']")) return true;
  return Boolean(document.querySelector("[role='dialog'], [role='alertdialog']"));
}

/**
 * Keyboard (issue 15): j / k open the next / previous conversation of the list, r moves to the
 * reply box, Escape goes back to the list. Plain letters, as in mail clients, never inside a field.
 */
function useInboxKeys(orgId: string, rows: Conversation[], selectedId: string | undefined, search: string) {
  const navigate = useNavigate();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typingOrInDialog(e)) return;
      // The address is the truth: a key pressed right after a move, before this page re-rendered
      // with the new selection, still moves from where the reader now is.
      const current = /\/inbox\/([0-9a-f-]{36})/.exec(window.location.pathname)?.[1] ?? selectedId;
      const at = rows.findIndex((c) => c.id === current);
      const go = (c: Conversation | undefined) => {
        if (!c) return;
        e.preventDefault();
        navigate(`/orgs/${orgId}/inbox/${c.id}${search}`);
      };
      if (e.key === "j") go(rows[at + 1]);
      else if (e.key === "k") go(at > 0 ? rows[at - 1] : at === -1 ? rows[0] : undefined);
      else if (e.key === "r" && current) {
        const box = document.querySelector<HTMLTextAreaElement>("textarea[data-composer]");
        if (box) {
          e.preventDefault();
          box.focus();
        }
      } else if (e.key === "Escape" && current) {
        e.preventDefault();
        navigate(`/orgs/${orgId}/inbox${search}`);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [orgId, rows, selectedId, search, navigate]);
}

export const STATUS_TONE: Record<ConversationStatus, "emerald" | "amber" | "violet" | "slate"> = {
  open: "emerald",
  pending: "amber",
  snoozed: "violet",
  resolved: "slate",
};

/** Chips for a conversation's status, in the reader's language. */
export function StatusChip({ status }: { status: ConversationStatus }) {
  const { t } = useTranslation();
  return <Chip tone={STATUS_TONE[status]}>{t(`inbox.status.${status}`)}</Chip>;
}

/**
 * The shared inbox (issue 15, DESIGN §7.1, §7.3): the list of conversations with its views and
 * filters, the open conversation's thread, and (from 1280 px) its contact and conversation details;
 * narrower, the details open from the thread's "Details" button. A phone: one screen at a time
 * (the list, then the thread with a way back). The filters live in the address, so going back to
 * the list keeps them.
 */
export function InboxPage() {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const { conversationId } = useParams();
  const readsAll = can("chats:read_all");
  const readsAssigned = can("chats:read_assigned");
  const [search] = useSearchParams();
  if (!readsAll && !readsAssigned)
    return (
      <CenteredMessage
        testId="forbidden"
        title={t("forbidden.title")}
        body={t("forbidden.body", { permission: t("permissions.chats:read_assigned.label") })}
      />
    );
  const qs = search.toString();
  return (
    <div>
      <h1
        className={cx("mb-3 text-2xl font-semibold tracking-tight text-slate-900", conversationId && "max-md:sr-only")}
      >
        {t("inbox.title")}
      </h1>
      <p className="mb-3 -mt-2 hidden text-xs text-slate-600 md:block" data-testid="inbox-keys">
        {t("inbox.keys")}
      </p>
      <div className="flex min-w-0 gap-4 md:h-[calc(100dvh-11rem)] md:min-h-[32rem]">
        <section
          aria-label={t("inbox.listLabel")}
          className={cx(
            "flex min-w-0 flex-col rounded-xl border border-slate-200 bg-white shadow-sm md:w-80 md:shrink-0 lg:w-96 xl:w-80",
            conversationId ? "max-md:hidden" : "w-full",
          )}
        >
          <ConversationList selectedId={conversationId} readsAll={readsAll} />
        </section>
        <section
          aria-label={t("inbox.threadLabel")}
          className={cx(
            "min-w-0 flex-1 flex-col rounded-xl border border-slate-200 bg-white shadow-sm",
            conversationId ? "flex" : "max-md:hidden md:flex",
          )}
        >
          {conversationId ? (
            <ThreadPane
              key={conversationId}
              orgId={orgId}
              conversationId={conversationId}
              backTo={`/orgs/${orgId}/inbox${qs ? `?${qs}` : ""}`}
            />
          ) : (
            <p className="m-auto p-6 text-center text-sm text-slate-500">{t("inbox.pickOne")}</p>
          )}
        </section>
        {conversationId ? <DetailsAside key={conversationId} orgId={orgId} conversationId={conversationId} /> : null}
      </div>
    </div>
  );
}

function ConversationList({ selectedId, readsAll }: { selectedId: string | undefined; readsAll: boolean }) {
  const { t } = useTranslation();
  const { orgId, can } = useOrgContext();
  const [filters, setFilter] = useUrlFilters({
    view: readsAll ? "all" : "mine",
    status: "",
    tagId: "",
    teamId: "",
    channelId: "",
    q: "",
  });
  const [searchText, setSearchText] = useState(filters.q);
  const q = useDebounced(searchText.trim(), 300);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the debounced search goes to the address
  useEffect(() => {
    if (q !== filters.q) setFilter("q", q);
  }, [q]);
  const view = (INBOX_VIEWS.includes(filters.view as InboxView) ? filters.view : "mine") as InboxView;
  const views: InboxView[] = readsAll ? ["mine", "unassigned", "all"] : ["mine"];
  const tags = useConversationTagOptions(orgId);
  const teams = useTeams(orgId, can("members:read"));
  const channels = useChannelOptions(orgId);
  const list = useConversations(orgId, { ...filters, view });
  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const [params] = useSearchParams();
  const search = params.size ? `?${params.toString()}` : "";
  useInboxKeys(orgId, rows, selectedId, search);

  return (
    <>
      <div className="border-b border-slate-100 p-3">
        {views.length > 1 ? (
          <fieldset className="min-w-0 mb-3 grid grid-cols-3 rounded-lg bg-slate-100 p-1 text-sm">
            <legend className="sr-only">{t("inbox.views")}</legend>
            {views.map((v) => (
              <button
                key={v}
                type="button"
                aria-pressed={view === v}
                onClick={() => setFilter("view", v)}
                className={cx(
                  "rounded-md px-2 py-1.5 font-medium focus-visible:outline-2 focus-visible:outline-emerald-600",
                  view === v ? "bg-white text-slate-900 shadow-sm" : "text-slate-600 hover:text-slate-900",
                )}
              >
                {t(`inbox.view.${v}`)}
              </button>
            ))}
          </fieldset>
        ) : null}
        <TextField
          label={t("common.search")}
          type="search"
          placeholder={t("inbox.searchPlaceholder")}
          value={searchText}
          onChange={(e) => setSearchText(e.target.value)}
        />
        <div className="mt-2 grid grid-cols-2 gap-2">
          <SelectField
            label={t("inbox.filterStatus")}
            value={filters.status}
            onChange={(e) => setFilter("status", e.target.value)}
          >
            <option value="">{t("inbox.anyStatus")}</option>
            {CONVERSATION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`inbox.status.${s}`)}
              </option>
            ))}
          </SelectField>
          {teams.data?.length ? (
            <SelectField
              label={t("inbox.filterTeam")}
              value={filters.teamId}
              onChange={(e) => setFilter("teamId", e.target.value)}
            >
              <option value="">{t("inbox.anyTeam")}</option>
              {teams.data.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </SelectField>
          ) : null}
          {tags.data?.length ? (
            <SelectField
              label={t("inbox.filterTag")}
              value={filters.tagId}
              onChange={(e) => setFilter("tagId", e.target.value)}
            >
              <option value="">{t("inbox.anyTag")}</option>
              {tags.data.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </SelectField>
          ) : null}
          {channels.length > 1 ? (
            <SelectField
              label={t("inbox.filterChannel")}
              value={filters.channelId}
              onChange={(e) => setFilter("channelId", e.target.value)}
            >
              <option value="">{t("inbox.anyChannel")}</option>
              {channels.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name}
                </option>
              ))}
            </SelectField>
          ) : null}
        </div>
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto">
        {list.isPending ? (
          <div className="px-4">
            <Spinner />
          </div>
        ) : list.error ? (
          <div className="p-3">
            <ErrorState error={list.error} onRetry={() => void list.refetch()} />
          </div>
        ) : rows.length === 0 ? (
          <p className="p-6 text-center text-sm text-slate-500" data-testid="inbox-empty">
            {t(`inbox.empty.${view}`)}
          </p>
        ) : (
          <ul className="divide-y divide-slate-100" data-testid="conversation-list">
            {rows.map((c) => (
              <ConversationRow
                key={c.id}
                c={c}
                selected={c.id === selectedId}
                to={`/orgs/${orgId}/inbox/${c.id}${search}`}
              />
            ))}
          </ul>
        )}
        <div className="p-3">
          <LoadMore query={list} />
        </div>
      </div>
    </>
  );
}

function ConversationRow({ c, selected, to }: { c: Conversation; selected: boolean; to: string }) {
  const { t } = useTranslation();
  const name = c.contact.name ?? c.contact.phone;
  const unread = c.unread ?? 0;
  return (
    <li data-testid="conversation-row" data-id={c.id} data-name={name}>
      <Link
        to={to}
        aria-current={selected ? "page" : undefined}
        className={cx(
          "block px-3 py-2.5 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-emerald-600",
          selected ? "bg-emerald-50" : "hover:bg-slate-50",
        )}
      >
        <div className="flex items-baseline justify-between gap-2">
          <span
            className={cx(
              "min-w-0 truncate text-sm",
              unread ? "font-semibold text-slate-900" : "font-medium text-slate-800",
            )}
          >
            {name}
          </span>
          <time dateTime={c.lastMessageAt} className="shrink-0 text-xs text-slate-500">
            {relativeTime(c.lastMessageAt)}
          </time>
        </div>
        {c.contact.name ? <p className="truncate text-xs tabular-nums text-slate-500">{c.contact.phone}</p> : null}
        <div className="mt-1 flex items-center gap-2">
          <p className="min-w-0 flex-1 truncate text-sm text-slate-600">{c.preview ?? "—"}</p>
          {unread ? (
            <span
              className="shrink-0 rounded-full bg-emerald-700 px-1.5 py-0.5 text-xs font-semibold text-white"
              data-testid="unread"
            >
              <span aria-hidden="true">{unread > 99 ? "99+" : unread}</span>
              <span className="sr-only">{t("inbox.unread", { count: unread })}</span>
            </span>
          ) : null}
        </div>
        <div className="mt-1 flex flex-wrap items-center gap-1.5 text-xs text-slate-600">
          <StatusChip status={c.status} />
          <span className="truncate">{c.assignee ? c.assignee.name : t("inbox.unassigned")}</span>
          {c.team ? <span className="truncate">· {c.team.name}</span> : null}
        </div>
      </Link>
    </li>
  );
}
