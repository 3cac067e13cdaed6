import { type QueryClient, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useSyncExternalStore } from "react";
import { API, api } from "./api.js";

/** Query keys of the notifications bell (every key starts with ["notifications", orgId]). */
export const notificationKeys = {
  all: (orgId: string) => ["notifications", orgId] as const,
  list: (orgId: string) => ["notifications", orgId, "list"] as const,
};

/** The inbox's keys start with ["inbox", orgId] (the Inbox page's hooks); events invalidate by that prefix. */
export const inboxPrefix = (orgId: string) => ["inbox", orgId] as const;

export interface AppNotification {
  id: string;
  kind: "conversation_assigned" | "mentioned" | "broadcast_finished" | string;
  conversationId: string | null;
  broadcastId: string | null;
  by: { memberId: string | null; name: string } | null;
  subjectName: string | null;
  excerpt: string | null;
  read: boolean;
  createdAt: string;
}

interface NotificationPage {
  items: AppNotification[];
  nextCursor: string | null;
  unreadCount: number;
}

const CONVERSATION_EVENTS = [
  "conversation.created",
  "conversation.updated",
  "conversation.assigned",
  "message.created",
  "message.status",
] as const;

/** What an event invalidates: the inbox for conversation and message events, the bell for notifications. */
export function invalidateFor(qc: QueryClient, orgId: string, kind: string): void {
  if (kind === "notification.created") void qc.invalidateQueries({ queryKey: notificationKeys.all(orgId) });
  else void qc.invalidateQueries({ queryKey: inboxPrefix(orgId) });
}

// Whether the organization's event stream is connected now: while it is, events refetch what
// changed and the inbox polls only as a safety net; while it is not, the inbox polls often.
let streamLive = false;
const liveListeners = new Set<() => void>();
function setStreamLive(live: boolean): void {
  if (streamLive === live) return;
  streamLive = live;
  for (const l of liveListeners) l();
}
const subscribeLive = (l: () => void) => {
  liveListeners.add(l);
  return () => liveListeners.delete(l);
};

/** True while the organization's event stream is open (useOrgEvents). */
export function useEventStreamLive(): boolean {
  return useSyncExternalStore(subscribeLive, () => streamLive);
}

/**
 * The organization's real-time stream (GET /orgs/:orgId/events), opened once by the org layout:
 * each event refetches the queries it concerns (by key prefix), a `resync` or a reconnection
 * refetches both (events may have been missed). EventSource reconnects by itself and sends
 * `Last-Event-ID`; a refused reconnect (removed from the organization) ends it.
 */
export function useOrgEvents(orgId: string | undefined): void {
  const qc = useQueryClient();
  useEffect(() => {
    if (!orgId || typeof EventSource === "undefined") return;
    const source = new EventSource(`${API}/orgs/${orgId}/events`, { withCredentials: true });
    let opened = false;
    const everything = () => {
      void qc.invalidateQueries({ queryKey: inboxPrefix(orgId) });
      void qc.invalidateQueries({ queryKey: notificationKeys.all(orgId) });
    };
    source.onopen = () => {
      // A reconnection: whatever happened in between is refetched.
      if (opened) everything();
      opened = true;
      setStreamLive(true);
    };
    // Lost (EventSource retries by itself) or refused: the inbox polls until it is back.
    source.onerror = () => setStreamLive(false);
    const onEvent = (e: MessageEvent) => invalidateFor(qc, orgId, e.type);
    for (const kind of CONVERSATION_EVENTS) source.addEventListener(kind, onEvent);
    source.addEventListener("notification.created", onEvent);
    source.addEventListener("resync", everything);
    return () => {
      source.close();
      setStreamLive(false);
    };
  }, [orgId, qc]);
}

/** The bell's list (newest first, paged) and unread count. */
export function useNotifications(orgId: string | undefined) {
  return useInfiniteQuery({
    queryKey: notificationKeys.list(orgId ?? ""),
    enabled: Boolean(orgId),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      api<NotificationPage>(`/orgs/${orgId}/notifications`, { query: { limit: 20, cursor: pageParam } }),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
}

/** Only the unread count (the badge), from the first page. */
export function useUnreadCount(orgId: string | undefined): number {
  const q = useQuery({
    queryKey: [...notificationKeys.all(orgId ?? ""), "unread"],
    enabled: Boolean(orgId),
    queryFn: () => api<NotificationPage>(`/orgs/${orgId}/notifications`, { query: { limit: 1, unread: "true" } }),
  });
  return q.data?.unreadCount ?? 0;
}

export function useMarkRead(orgId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { ids: string[] } | { all: true }) =>
      api<{ updated: number; unreadCount: number }>(`/orgs/${orgId}/notifications/read`, { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: notificationKeys.all(orgId) }),
  });
}
