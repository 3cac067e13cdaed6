import * as Menu from "@radix-ui/react-dropdown-menu";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { type AppNotification, useMarkRead, useNotifications, useUnreadCount } from "../lib/events.js";
import { relativeTime } from "../lib/i18n.js";
import { cx } from "./ui.js";

function linkOf(orgId: string, n: AppNotification): string {
  if (n.kind === "broadcast_finished" && n.broadcastId) return `/orgs/${orgId}/broadcasts/${n.broadcastId}`;
  return n.conversationId ? `/orgs/${orgId}/inbox?conversation=${n.conversationId}` : `/orgs/${orgId}`;
}

/** The header's bell: unread count, the latest notifications, mark one or all read. */
export function NotificationBell({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const unread = useUnreadCount(orgId);
  const list = useNotifications(orgId);
  const markRead = useMarkRead(orgId);
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const label = unread > 0 ? t("notifications.bellUnread", { count: unread }) : t("notifications.bell");
  return (
    <Menu.Root>
      <Menu.Trigger asChild>
        <button
          type="button"
          data-testid="notification-bell"
          className="relative flex h-9 w-9 items-center justify-center rounded-full text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-emerald-600"
        >
          <svg
            aria-hidden="true"
            viewBox="0 0 24 24"
            className="h-5 w-5"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
          >
            <path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
            <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
          </svg>
          {unread > 0 ? (
            <span
              aria-hidden="true"
              className="absolute -right-0.5 -top-0.5 min-w-5 rounded-full bg-red-700 px-1 text-center text-xs font-semibold leading-5 text-white"
            >
              {unread > 99 ? "99+" : unread}
            </span>
          ) : null}
          <span className="sr-only">{label}</span>
        </button>
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="end"
          sideOffset={6}
          className="z-50 w-[min(22rem,calc(100vw-1.5rem))] rounded-xl border border-slate-200 bg-white p-1 shadow-lg"
        >
          <div className="flex items-center justify-between gap-2 px-2 py-1.5">
            <Menu.Label className="text-sm font-semibold text-slate-900">{t("notifications.title")}</Menu.Label>
            {unread > 0 ? (
              <Menu.Item
                onSelect={(e) => {
                  e.preventDefault();
                  markRead.mutate({ all: true });
                }}
                className="cursor-pointer rounded px-1.5 py-0.5 text-xs font-medium text-emerald-800 outline-none data-[highlighted]:bg-emerald-50"
              >
                {t("notifications.markAllRead")}
              </Menu.Item>
            ) : null}
          </div>
          <Menu.Separator className="my-1 h-px bg-slate-100" />
          {list.isPending ? (
            <p className="px-2 py-3 text-sm text-slate-600">{t("common.loading")}</p>
          ) : items.length === 0 ? (
            <p className="px-2 py-3 text-sm text-slate-600">{t("notifications.empty")}</p>
          ) : (
            <div className="max-h-96 overflow-y-auto">
              {items.map((n) => (
                <Menu.Item key={n.id} asChild>
                  <Link
                    to={linkOf(orgId, n)}
                    onClick={() => {
                      if (!n.read) markRead.mutate({ ids: [n.id] });
                    }}
                    className={cx(
                      "block rounded-md px-2 py-2 text-sm outline-none data-[highlighted]:bg-slate-100",
                      n.read ? "text-slate-600" : "text-slate-900",
                    )}
                  >
                    <span className="flex items-start gap-2">
                      <span
                        aria-hidden="true"
                        className={cx(
                          "mt-1.5 h-2 w-2 shrink-0 rounded-full",
                          n.read ? "bg-transparent" : "bg-emerald-600",
                        )}
                      />
                      <span className="min-w-0">
                        <span className={cx("block break-words", !n.read && "font-medium")}>
                          {t(`notifications.kinds.${n.kind}`, {
                            by: n.by?.name ?? t("notifications.rules"),
                            name: n.subjectName ?? "",
                            defaultValue: n.kind,
                          })}
                          {n.read ? null : <span className="sr-only"> ({t("notifications.unread")})</span>}
                        </span>
                        {n.excerpt ? <span className="block truncate text-xs text-slate-600">{n.excerpt}</span> : null}
                        <span className="block text-xs text-slate-600">{relativeTime(n.createdAt)}</span>
                      </span>
                    </span>
                  </Link>
                </Menu.Item>
              ))}
              {list.hasNextPage ? (
                <Menu.Item
                  onSelect={(e) => {
                    e.preventDefault();
                    void list.fetchNextPage();
                  }}
                  className="cursor-pointer rounded-md px-2 py-1.5 text-center text-sm font-medium text-emerald-800 outline-none data-[highlighted]:bg-slate-100"
                >
                  {t("notifications.more")}
                </Menu.Item>
              ) : null}
            </div>
          )}
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}
