import { useMutation } from "@tanstack/react-query";
import type { TFunction } from "i18next";
import { type FormEvent, type ReactNode, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { SelectField, TextArea, TextField } from "../../components/fields.js";
import { Button, CenteredMessage, cx, ErrorState, FormError, Notice, Spinner, toast } from "../../components/ui.js";
import { useOrgContext } from "../../layout.js";
import { ApiError, api } from "../../lib/api.js";
import { formatDate } from "../../lib/i18n.js";
import {
  type Conversation,
  conversationActions,
  newClientMsgId,
  type ThreadItem,
  type UsableTemplate,
  useConversation,
  useInboxRefresh,
  useMarkRead,
  useThread,
  useUsableTemplates,
} from "../../lib/inbox.js";
import { ConversationActionsBar } from "./actions.js";
import { DetailsSheet } from "./DetailsPane.js";
import { StatusChip } from "./InboxPage.js";

/** The open conversation: its header and actions, the thread, the composer. */
export function ThreadPane({
  orgId,
  conversationId,
  backTo,
}: {
  orgId: string;
  conversationId: string;
  backTo: string;
}) {
  const { t } = useTranslation();
  const conv = useConversation(orgId, conversationId);
  const notFound = conv.error instanceof ApiError && conv.error.status === 404;
  const thread = useThread(orgId, conversationId, !notFound && !conv.isPending);
  const back = (
    <Link
      to={backTo}
      className="inline-flex items-center gap-1 rounded text-sm font-medium text-emerald-700 hover:underline focus-visible:outline-2 focus-visible:outline-emerald-600 md:hidden"
    >
      <span aria-hidden="true">←</span> {t("inbox.back")}
    </Link>
  );
  if (notFound)
    return (
      <div className="p-4">
        {back}
        <CenteredMessage
          testId="conversation-not-found"
          icon="🔍"
          title={t("inbox.notFoundTitle")}
          body={t("inbox.notFoundBody")}
        />
      </div>
    );
  if (conv.isPending)
    return (
      <div className="p-4">
        <Spinner />
      </div>
    );
  if (conv.error)
    return (
      <div className="p-4">
        <ErrorState error={conv.error} onRetry={() => void conv.refetch()} />
      </div>
    );
  return <OpenConversation c={conv.data} thread={thread} back={back} />;
}

function OpenConversation({
  c,
  thread,
  back,
}: {
  c: Conversation;
  thread: ReturnType<typeof useThread>;
  back: ReactNode;
}) {
  const { t } = useTranslation();
  const { orgId, me } = useOrgContext();
  const actions = conversationActions(me, c);
  const markRead = useMarkRead(orgId, c.id);
  const items = thread.data?.items ?? [];
  const newest = items.at(-1);
  const end = useRef<HTMLDivElement>(null);
  const scroller = useRef<HTMLElement>(null);
  // Older items are prepended: what the reader was looking at stays in place (the thread scrolls
  // itself on wide screens, the page scrolls on a phone).
  const kept = useRef<{ height: number; top: number; page: number } | null>(null);
  const oldest = items[0]?.id;
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per new oldest item
  useLayoutEffect(() => {
    const el = scroller.current;
    const was = kept.current;
    if (!el || !was) return;
    kept.current = null;
    const grown = el.scrollHeight - was.height;
    if (el.scrollHeight > el.clientHeight) el.scrollTop = was.top + grown;
    else window.scrollTo({ top: was.page + grown });
  }, [oldest]);
  const loadOlder = () => {
    const el = scroller.current;
    if (el) kept.current = { height: el.scrollHeight, top: el.scrollTop, page: window.scrollY };
    void thread.fetchNextPage();
  };
  // Opening the thread (and every new item while it is open) marks it read up to what is shown.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per newest item
  useEffect(() => {
    if (!newest) return;
    markRead.mutate(newest.createdAt);
    end.current?.scrollIntoView({ block: "end" });
  }, [newest?.id]);
  const name = c.contact.name ?? c.contact.phone;
  const windowOpen = c.windowClosesAt !== null && new Date(c.windowClosesAt).getTime() > Date.now();

  return (
    <>
      <header className="border-b border-slate-100 px-4 py-3">
        {back}
        <div className="mt-1 flex flex-wrap items-start justify-between gap-2 md:mt-0">
          <div className="min-w-0">
            <h2 className="truncate text-lg font-semibold text-slate-900" data-testid="thread-title">
              {name}
            </h2>
            <p className="truncate text-xs tabular-nums text-slate-500">
              {c.contact.name ? `${c.contact.phone} · ` : ""}
              {c.assignee ? t("inbox.assignedTo", { name: c.assignee.name }) : t("inbox.unassigned")}
              {c.team ? ` · ${c.team.name}` : ""}
            </p>
          </div>
          <div className="flex flex-wrap items-center gap-1.5">
            <div className="flex flex-wrap items-center gap-1.5" data-testid="thread-status">
              <StatusChip status={c.status} />
              {c.status === "snoozed" && c.snoozedUntil ? (
                <span className="text-xs text-slate-600">
                  {t("inbox.snoozedUntil", { time: formatDate(c.snoozedUntil) })}
                </span>
              ) : null}
            </div>
            <DetailsSheet c={c} />
          </div>
        </div>
        <ConversationActionsBar c={c} actions={actions} />
      </header>
      {/* Focusable, so a long thread scrolls from the keyboard (axe: scrollable-region-focusable). */}
      <section
        ref={scroller}
        aria-label={t("inbox.threadItems")}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take keyboard focus
        tabIndex={0}
        className="min-h-0 flex-1 overflow-y-auto bg-slate-50 px-3 py-3 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-emerald-600 max-md:min-h-[50dvh]"
      >
        {thread.isPending ? (
          <Spinner />
        ) : thread.error ? (
          <ErrorState error={thread.error} onRetry={() => void thread.refetch()} />
        ) : (
          <ol className="flex flex-col gap-2" aria-label={t("inbox.threadItems")} data-testid="thread">
            {thread.hasNextPage ? (
              <li className="self-center">
                <Button
                  size="sm"
                  variant="secondary"
                  onClick={() => {
                    if (!thread.isFetchingNextPage) loadOlder();
                  }}
                  aria-disabled={thread.isFetchingNextPage}
                  aria-busy={thread.isFetchingNextPage}
                  data-testid="load-older"
                >
                  {thread.isFetchingNextPage ? t("inbox.loadingOlder") : t("inbox.loadOlder")}
                </Button>
              </li>
            ) : null}
            {items.map((m) => (
              <ThreadLine key={m.id} m={m} />
            ))}
          </ol>
        )}
        <div ref={end} />
      </section>
      <Composer c={c} canReply={actions.reply} canNote={actions.note} windowOpen={windowOpen} />
    </>
  );
}

function Ticks({ m }: { m: ThreadItem }) {
  const { t } = useTranslation();
  const label = t(`inbox.delivery.${m.status ?? "queued"}`, { defaultValue: m.status ?? "" });
  const mark =
    m.status === "sent"
      ? "✓"
      : m.status === "delivered"
        ? "✓✓"
        : m.status === "read"
          ? "✓✓"
          : m.status === "failed"
            ? "!"
            : "🕓";
  return (
    <span
      className={cx(
        "ml-1 font-semibold",
        m.status === "read" ? "text-sky-700" : m.status === "failed" ? "text-red-700" : "text-slate-600",
      )}
      data-testid="ticks"
      data-status={m.status ?? ""}
      title={label}
    >
      <span aria-hidden="true">{mark}</span>
      <span className="sr-only">{label}</span>
    </span>
  );
}

/** Note text with each `@Name` of a mentioned member set off. */
function withMentions(text: string): ReactNode[] {
  return text.split(/(@[\p{L}\p{N}._'-]+(?: [\p{L}\p{N}._'-]+)?)/u).map((part, i) =>
    part.startsWith("@") ? (
      // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one fixed string
      <strong key={i} className="font-semibold text-amber-900" data-testid="mention">
        {part}
      </strong>
    ) : (
      part
    ),
  );
}

function ThreadLine({ m }: { m: ThreadItem }) {
  const { t } = useTranslation();
  const time = (
    <time dateTime={m.createdAt} className="text-xs text-slate-600">
      {formatDate(m.createdAt)}
    </time>
  );
  if (m.kind === "system")
    return (
      <li
        className="self-center rounded-full bg-slate-100 px-3 py-1 text-center text-xs text-slate-700 ring-1 ring-slate-200"
        data-testid="system-line"
      >
        {systemText(m, t)} · {time}
      </li>
    );
  if (m.kind === "note")
    return (
      <li
        className="max-w-[85%] self-end rounded-lg border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-slate-900"
        data-testid="note"
      >
        <p className="mb-0.5 text-xs font-semibold text-amber-900">
          {t("inbox.privateNote")} · {m.author?.name ?? ""}
        </p>
        <p className="whitespace-pre-wrap break-words">{withMentions(m.text ?? "")}</p>
        <p className="mt-1 text-right">{time}</p>
      </li>
    );
  const inbound = m.direction === "in";
  return (
    <li
      className={cx(
        "max-w-[85%] rounded-lg px-3 py-2 text-sm shadow-sm",
        inbound ? "self-start bg-white text-slate-900" : "self-end bg-emerald-100 text-slate-900",
      )}
      data-testid={inbound ? "message-in" : "message-out"}
    >
      <span className="sr-only">
        {inbound ? t("inbox.fromCustomer") : t("inbox.fromUs", { name: m.author?.name ?? "" })}
      </span>
      {!inbound && m.type === "template" ? (
        <p className="text-xs font-medium text-emerald-900">{t("inbox.template")}</p>
      ) : null}
      <p className="whitespace-pre-wrap break-words">{m.text ?? `[${m.type}]`}</p>
      <p className="mt-1 text-right">
        {time}
        {!inbound ? <Ticks m={m} /> : null}
      </p>
      {m.status === "failed" && m.error ? (
        <p className="mt-1 text-xs text-red-800" data-testid="failure">
          {t("inbox.failedBecause", {
            reason: [m.error.title, m.error.details].filter(Boolean).join(": ") || "—",
            code: m.error.code ?? "—",
          })}
        </p>
      ) : null}
    </li>
  );
}

function systemText(m: ThreadItem, t: TFunction): string {
  const e = (m.event ?? {}) as {
    type?: string;
    to?: { name?: string } | null;
    by?: { name?: string };
    note?: string;
    via?: string;
    snoozedUntil?: string | null;
  };
  const by = e.by?.name ?? "";
  const note = e.note ? ` — “${e.note}”` : "";
  switch (e.type) {
    case "assigned":
      return e.via === "reply"
        ? t("inbox.sys.tookByReply", { by })
        : `${t("inbox.sys.assigned", { to: e.to?.name ?? "", by })}${note}`;
    case "unassigned":
      return `${t("inbox.sys.unassigned", { by })}${note}`;
    case "transferred":
      return `${t("inbox.sys.transferred", { to: e.to?.name ?? "", by })}${note}`;
    case "team_changed":
      return e.to ? t("inbox.sys.team", { team: e.to.name ?? "", by }) : t("inbox.sys.noTeam", { by });
    case "status_changed": {
      const to = (m.event as { to?: string }).to ?? "";
      if (to === "snoozed" && e.snoozedUntil) return t("inbox.sys.snoozed", { by, time: formatDate(e.snoozedUntil) });
      return t(`inbox.sys.status.${to}`, { by, defaultValue: m.text ?? "" });
    }
    default:
      return m.text ?? "";
  }
}

function Composer({
  c,
  canReply,
  canNote,
  windowOpen,
}: {
  c: Conversation;
  canReply: boolean;
  canNote: boolean;
  windowOpen: boolean;
}) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const refresh = useInboxRefresh(orgId);
  const [mode, setMode] = useState<"reply" | "note">(canReply ? "reply" : "note");
  const [text, setText] = useState("");
  // One id per message being composed: a retry after a failure or a second click reuses it.
  const clientMsgId = useRef(newClientMsgId());
  const resolved = c.status === "resolved";
  const templates = useUsableTemplates(orgId, c.channelId, canReply && !windowOpen && !resolved);
  const send = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      mode === "note"
        ? api(`/orgs/${orgId}/conversations/${c.id}/notes`, { method: "POST", body: { text: body.text } })
        : api(`/orgs/${orgId}/conversations/${c.id}/messages`, {
            method: "POST",
            body: { ...body, clientMsgId: clientMsgId.current },
          }),
    onSuccess: () => {
      setText("");
      clientMsgId.current = newClientMsgId();
      void refresh();
    },
    onError: (e) => {
      if (e instanceof ApiError && (e.code === "conversation_changed" || e.code === "assigned_to_someone_else"))
        void refresh();
    },
  });
  if (!canReply && !canNote) return null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim() || send.isPending) return;
    send.mutate({ text });
  };
  const replyBlocked = mode === "reply" && (resolved || !windowOpen);
  return (
    <div className="border-t border-slate-100 p-3" data-testid="composer">
      <fieldset className="min-w-0 mb-2 flex gap-1 text-sm">
        <legend className="sr-only">{t("inbox.composeAs")}</legend>
        {(canReply ? (["reply", "note"] as const) : (["note"] as const)).map((m) => (
          <button
            key={m}
            type="button"
            aria-pressed={mode === m}
            onClick={() => {
              setMode(m);
              send.reset();
            }}
            className={cx(
              "rounded-md px-2.5 py-1 font-medium focus-visible:outline-2 focus-visible:outline-emerald-600",
              mode === m
                ? m === "note"
                  ? "bg-amber-100 text-amber-900"
                  : "bg-emerald-100 text-emerald-900"
                : "text-slate-600 hover:bg-slate-100",
            )}
          >
            {t(`inbox.mode.${m}`)}
          </button>
        ))}
      </fieldset>
      {!canReply ? <p className="mb-2 text-xs text-slate-600">{t("inbox.cannotReply")}</p> : null}
      {mode === "reply" && resolved ? (
        <Notice>{t("inbox.resolvedReopen")}</Notice>
      ) : mode === "reply" && !windowOpen ? (
        <TemplateComposer c={c} templates={templates.data ?? []} loading={templates.isPending} />
      ) : null}
      {!replyBlocked ? (
        <form onSubmit={submit} className="flex flex-col gap-2 sm:flex-row sm:items-end">
          <TextArea
            className="min-w-0 flex-1"
            label={mode === "note" ? t("inbox.noteLabel") : t("inbox.replyLabel")}
            rows={2}
            value={text}
            maxLength={mode === "note" ? 10000 : 4096}
            placeholder={mode === "note" ? t("inbox.notePlaceholder") : t("inbox.replyPlaceholder")}
            onChange={(e) => setText(e.target.value)}
            data-composer=""
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) submit(e);
            }}
          />
          <Button
            type="submit"
            disabled={send.isPending || !text.trim()}
            variant={mode === "note" ? "secondary" : "primary"}
          >
            {mode === "note" ? t("inbox.addNote") : t("inbox.send")}
          </Button>
        </form>
      ) : null}
      {send.error ? (
        <div className="mt-2">
          <FormError error={send.error} />
        </div>
      ) : null}
    </div>
  );
}

/** The variables a template needs, in the order the server's builder asks for them. */
function variablesOf(tpl: UsableTemplate): string[] {
  const out: string[] = [];
  for (const comp of tpl.components) {
    if (!comp.text) continue;
    const prefix = comp.type === "HEADER" ? "header." : "";
    if (comp.type !== "BODY" && comp.type !== "HEADER") continue;
    for (const m of comp.text.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)) {
      const key = `${prefix}${m[1]}`;
      if (!out.includes(key)) out.push(key);
    }
  }
  return out;
}

/** Outside the 24-hour window: say why, and offer the channel's approved templates. */
function TemplateComposer({
  c,
  templates,
  loading,
}: {
  c: Conversation;
  templates: UsableTemplate[];
  loading: boolean;
}) {
  const { t } = useTranslation();
  const { orgId } = useOrgContext();
  const refresh = useInboxRefresh(orgId);
  const [templateId, setTemplateId] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const clientMsgId = useRef(newClientMsgId());
  const tpl = templates.find((x) => x.id === templateId);
  const keys = useMemo(() => (tpl ? variablesOf(tpl) : []), [tpl]);
  const body = tpl?.components.find((x) => x.type === "BODY")?.text ?? "";
  const send = useMutation({
    mutationFn: () =>
      api(`/orgs/${orgId}/conversations/${c.id}/messages`, {
        method: "POST",
        body: { clientMsgId: clientMsgId.current, template: { templateId, variables: values } },
      }),
    onSuccess: () => {
      clientMsgId.current = newClientMsgId();
      setTemplateId("");
      setValues({});
      toast(t("inbox.templateSent"));
      void refresh();
    },
  });
  return (
    <div className="flex flex-col gap-2" data-testid="window-closed">
      <Notice tone="warning">{t("inbox.windowClosed")}</Notice>
      {loading ? (
        <Spinner />
      ) : templates.length === 0 ? (
        <p className="text-sm text-slate-600">{t("inbox.noTemplates")}</p>
      ) : (
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            if (templateId && !send.isPending) send.mutate();
          }}
        >
          <SelectField label={t("inbox.template")} value={templateId} onChange={(e) => setTemplateId(e.target.value)}>
            <option value="">{t("inbox.pickTemplate")}</option>
            {templates.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name} ({x.language})
              </option>
            ))}
          </SelectField>
          {tpl ? <p className="rounded-lg bg-slate-50 p-2 text-sm whitespace-pre-wrap text-slate-700">{body}</p> : null}
          {keys.map((k) => (
            <TextField
              key={k}
              label={t("inbox.variable", { name: k })}
              value={values[k] ?? ""}
              required
              onChange={(e) => setValues((v) => ({ ...v, [k]: e.target.value }))}
            />
          ))}
          <FormError error={send.error} />
          <div>
            <Button type="submit" disabled={!templateId || send.isPending}>
              {t("inbox.sendTemplate")}
            </Button>
          </div>
        </form>
      )}
    </div>
  );
}
