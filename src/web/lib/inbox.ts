/**
 * The shared inbox as the web app uses it (issue 15): types from the API's response schemas
 * (src/server/modules/conversations/schemas.ts), TanStack Query keys under ["inbox", orgId, …]
 * (the real-time stream invalidates ["inbox", orgId]; until then the list and the thread poll),
 * and what the caller may do with a conversation, by the server's own rules
 * (src/server/modules/roles/object-rules.ts, pure, imported as is).
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  canAssignConversation,
  canReadConversation,
  canReplyConversation,
  DEFAULT_INBOX_RULE_SETTINGS,
} from "../../server/modules/roles/object-rules.js";
import { PermissionSet } from "../../shared/permissions.js";
import { api } from "./api.js";
import { useEventStreamLive } from "./events.js";

export const CONVERSATION_STATUSES = ["open", "pending", "snoozed", "resolved"] as const;
export type ConversationStatus = (typeof CONVERSATION_STATUSES)[number];
export const INBOX_VIEWS = ["mine", "unassigned", "all"] as const;
export type InboxView = (typeof INBOX_VIEWS)[number];

export interface MemberRef {
  memberId: string;
  name: string;
}

export interface Conversation {
  id: string;
  channelId: string;
  contact: { id: string; name: string | null; phone: string; waId: string | null; optedOut: boolean };
  status: ConversationStatus;
  snoozedUntil: string | null;
  priority: number;
  assignee: MemberRef | null;
  team: { id: string; name: string } | null;
  tagIds: string[];
  tags: { id: string; name: string; color: string }[];
  preview: string | null;
  lastMessageAt: string;
  lastInboundAt: string | null;
  windowClosesAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  /** The caller's unread count (list and single read only), up to 100. */
  unread?: number;
}

export interface ThreadItem {
  id: string;
  kind: "message" | "note" | "system";
  direction: "in" | "out" | null;
  type: string;
  text: string | null;
  status: string | null;
  error: { code: number | null; title: string | null; details: string | null } | null;
  clientMsgId: string | null;
  author: MemberRef | null;
  mentions: string[];
  event: Record<string, unknown> | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  failedAt: string | null;
}

export interface UsableTemplate {
  id: string;
  channelId: string;
  name: string;
  language: string;
  category: string;
  parameterFormat: "POSITIONAL" | "NAMED";
  components: { type: string; text?: string; format?: string }[];
}

export interface Assignee {
  memberId: string;
  name: string;
  readsAll: boolean;
}

export interface InboxFilters {
  view: InboxView;
  teamId: string;
  status: string;
  tagId: string;
  channelId: string;
  q: string;
}

/** While the event stream is down, the list and the open thread poll this often. */
export const POLL_MS = 3000;
/** While it is up, events refetch what changed; a slow poll remains as a safety net. */
export const SAFETY_POLL_MS = 60_000;

/** How often the inbox's queries poll: often only while the event stream is not connected. */
function usePollMs(): number {
  return useEventStreamLive() ? SAFETY_POLL_MS : POLL_MS;
}
const PAGE = 30;

export const ik = {
  all: (orgId: string) => ["inbox", orgId] as const,
  list: (orgId: string, f: InboxFilters) => ["inbox", orgId, "list", f] as const,
  conversation: (orgId: string, id: string) => ["inbox", orgId, "conversation", id] as const,
  thread: (orgId: string, id: string) => ["inbox", orgId, "thread", id] as const,
  templates: (orgId: string, channelId: string) => ["inbox", orgId, "templates", channelId] as const,
  assignees: (orgId: string) => ["inbox", orgId, "assignees"] as const,
  tagOptions: (orgId: string) => ["inbox", orgId, "tag-options"] as const,
};

export function useConversations(orgId: string, f: InboxFilters) {
  const pollMs = usePollMs();
  return useInfiniteQuery({
    queryKey: ik.list(orgId, f),
    queryFn: ({ pageParam }) =>
      api<{ items: Conversation[]; nextCursor: string | null }>(`/orgs/${orgId}/conversations`, {
        query: {
          view: f.view,
          teamId: f.teamId,
          status: f.status,
          tagId: f.tagId,
          channelId: f.channelId,
          q: f.q,
          limit: PAGE,
          cursor: pageParam,
        },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    placeholderData: (prev) => prev,
    refetchInterval: pollMs,
  });
}

export function useConversation(orgId: string, id: string) {
  const pollMs = usePollMs();
  return useQuery({
    queryKey: ik.conversation(orgId, id),
    queryFn: () => api<Conversation>(`/orgs/${orgId}/conversations/${id}`),
    refetchInterval: (q) => (q.state.error ? false : pollMs),
    retry: (n, e) => !(e && "status" in e && (e as { status: number }).status === 404) && n < 2,
  });
}

const THREAD_PAGE = 100;

/**
 * The thread, oldest first for display: the newest 100 items, and older pages of 100 on request
 * (`fetchNextPage`, the server's `before` keyset cursor). Polling refetches every loaded page from
 * the newest, so nothing falls between pages when new messages arrive.
 */
export function useThread(orgId: string, id: string, enabled: boolean) {
  const pollMs = usePollMs();
  return useInfiniteQuery({
    queryKey: ik.thread(orgId, id),
    enabled,
    queryFn: ({ pageParam }) =>
      api<{ items: ThreadItem[]; nextCursor: string | null }>(`/orgs/${orgId}/conversations/${id}/messages`, {
        query: { limit: THREAD_PAGE, before: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    select: (data) => {
      const seen = new Set<string>();
      const items: ThreadItem[] = [];
      for (const page of data.pages)
        for (const item of page.items)
          if (!seen.has(item.id)) {
            seen.add(item.id);
            items.push(item);
          }
      return { items: items.reverse(), more: data.pages.at(-1)?.nextCursor != null };
    },
    refetchInterval: pollMs,
  });
}

export function useUsableTemplates(orgId: string, channelId: string, enabled: boolean) {
  return useQuery({
    queryKey: ik.templates(orgId, channelId),
    enabled,
    queryFn: async () =>
      (
        await api<{ items: UsableTemplate[] }>(`/orgs/${orgId}/conversations/templates`, {
          query: { channelId },
        })
      ).items,
    staleTime: 60_000,
  });
}

/** The tags a conversation may carry (any chat reader: no contacts:read needed), A–Z. */
export function useConversationTagOptions(orgId: string, enabled = true) {
  return useQuery({
    queryKey: ik.tagOptions(orgId),
    enabled,
    queryFn: async () =>
      (
        await api<{ items: { id: string; name: string; color: string; teamId: string | null }[] }>(
          `/orgs/${orgId}/conversations/tags`,
        )
      ).items,
    // Asked again whenever a picker opens: a tag made a moment ago must be there.
    staleTime: 0,
  });
}

export function useAssignees(orgId: string, enabled: boolean) {
  return useQuery({
    queryKey: ik.assignees(orgId),
    enabled,
    queryFn: async () => (await api<{ items: Assignee[] }>(`/orgs/${orgId}/conversations/assignees`)).items,
    staleTime: 60_000,
  });
}

/** Every inbox query of the organization refetches (after a change the caller made). */
export function useInboxRefresh(orgId: string) {
  const qc = useQueryClient();
  return () => qc.invalidateQueries({ queryKey: ik.all(orgId) });
}

/** Marks the thread read up to its newest item (the server keeps the later marker). */
export function useMarkRead(orgId: string, id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (until: string | undefined) =>
      api(`/orgs/${orgId}/conversations/${id}/read`, { method: "POST", body: until ? { until } : {} }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["inbox", orgId, "list"] });
      void qc.invalidateQueries({ queryKey: ik.conversation(orgId, id) });
    },
  });
}

/** A fresh id per message the person composes: a retry or a double click sends it once. */
export function newClientMsgId(): string {
  return `web-${crypto.randomUUID()}`;
}

export interface ConversationActions {
  reply: boolean;
  note: boolean;
  setStatus: boolean;
  /** Assign anyone (chats:assign). */
  assign: boolean;
  /** Take an unassigned conversation for oneself (chats:assign, or read_all + reply). */
  claim: boolean;
  transfer: boolean;
  setTeam: boolean;
}

/** What the caller may do with a conversation: the server's rules on the caller's permissions. */
export function conversationActions(
  me: { memberId?: string | undefined; isOwner: boolean; permissions: string[] },
  c: Pick<Conversation, "assignee">,
): ConversationActions {
  const member = {
    memberId: me.memberId ?? "",
    isOwner: me.isOwner,
    permissions: PermissionSet.of(me.permissions),
  };
  const ref = { assigneeMemberId: c.assignee?.memberId ?? null };
  const settings = DEFAULT_INBOX_RULE_SETTINGS;
  const visible = canReadConversation(member, ref, settings);
  const hasReply = member.isOwner || member.permissions.has("chats:reply");
  const assignAny = member.isOwner || member.permissions.has("chats:assign");
  return {
    reply: canReplyConversation(member, ref, settings),
    note: visible && hasReply,
    setStatus: visible && hasReply,
    assign: visible && assignAny,
    claim: visible && ref.assigneeMemberId === null && canAssignConversation(member, ref, member.memberId),
    transfer: visible && ref.assigneeMemberId !== null && ref.assigneeMemberId === member.memberId,
    setTeam: visible && assignAny,
  };
}
