/**
 * The workspace's data as the web app uses it (issue 13): contacts, tags, lists, teams, imports.
 * Shapes follow the API's response schemas (src/server/modules/{contacts,tags,lists,teams}/schemas.ts).
 */
import { useQuery } from "@tanstack/react-query";
import { allPages, api, itemsOf } from "./api.js";
import type { Member } from "./types.js";

export interface Contact {
  id: string;
  phone: string;
  waId: string | null;
  name: string | null;
  attributes: Record<string, string>;
  tagIds: string[];
  listIds: string[];
  optedOut: boolean;
  optedOutAt: string | null;
  optOutSource: string | null;
  lastMessageAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Tag {
  id: string;
  name: string;
  color: string;
  teamId: string | null;
  contactCount: number;
}

export interface ContactList {
  id: string;
  name: string;
  description: string;
  contactCount: number;
}

export interface Team {
  id: string;
  name: string;
  description: string;
  memberIds: string[];
  memberCount: number;
}

export type ImportState = "queued" | "running" | "completed" | "failed";
export interface ContactImport {
  id: string;
  state: ImportState;
  total: number;
  processed: number;
  created: number;
  updated: number;
  failed: number;
  /** `code` and `params` are translated (contacts.importError.<code>); `other`: the message only. */
  errors: { row: number; code: string; params?: Record<string, string | number>; message: string }[];
}

export const CONTACT_SORTS = ["created", "name", "lastMessage"] as const;
export type ContactSort = (typeof CONTACT_SORTS)[number];
export const BULK_ACTIONS = ["add_tag", "remove_tag", "add_to_list", "remove_from_list", "delete"] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

export const wk = {
  contacts: (orgId: string) => ["org", orgId, "contacts"] as const,
  tags: (orgId: string) => ["org", orgId, "tags"] as const,
  lists: (orgId: string) => ["org", orgId, "lists"] as const,
  teams: (orgId: string) => ["org", orgId, "teams"] as const,
  allMembers: (orgId: string) => ["org", orgId, "members", "all"] as const,
  import: (orgId: string, id: string) => ["org", orgId, "contact-import", id] as const,
};

export function useTags(orgId: string, enabled = true) {
  return useQuery({
    queryKey: wk.tags(orgId),
    queryFn: async () => itemsOf<Tag>(await api(`/orgs/${orgId}/tags`)),
    enabled,
  });
}

export function useLists(orgId: string, enabled = true) {
  return useQuery({
    queryKey: wk.lists(orgId),
    queryFn: async () => itemsOf<ContactList>(await api(`/orgs/${orgId}/lists`)),
    enabled,
  });
}

export function useTeams(orgId: string, enabled = true) {
  return useQuery({
    queryKey: wk.teams(orgId),
    queryFn: async () => itemsOf<Team>(await api(`/orgs/${orgId}/teams`)),
    enabled,
  });
}

/** Every member of the organization (pages of 100 followed to the end), for pickers. */
export function useAllMembers(orgId: string, enabled = true) {
  return useQuery({
    queryKey: wk.allMembers(orgId),
    enabled,
    queryFn: () => allPages<Member>(`/orgs/${orgId}/members`, { sort: "name" }),
  });
}

/** The address of the CSV export of the contacts matching `filters` (the browser downloads it). */
export function exportUrl(orgId: string, filters: { q?: string; tagId?: string; listId?: string }): string {
  const q = new URLSearchParams({ format: "csv" });
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  return `/api/v1/orgs/${orgId}/contacts/export?${q.toString()}`;
}

/** The text colour (near-black or white) with the better WCAG contrast on a tag's background. */
export function inkOn(hex: string): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return "#0f172a";
  const lin = (x: string | undefined) => {
    const c = Number.parseInt(x ?? "0", 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(m[1]) + 0.7152 * lin(m[2]) + 0.0722 * lin(m[3]);
  const dark = 0.0137; // #0f172a
  const onDark = (l + 0.05) / (dark + 0.05);
  const onWhite = 1.05 / (l + 0.05);
  return onDark >= onWhite ? "#0f172a" : "#ffffff";
}

/** Presets dark enough for white text at 4.5:1 (WCAG AA); any other colour gets the better ink. */
export const TAG_COLORS = [
  "#64748b",
  "#dc2626",
  "#c2410c",
  "#b45309",
  "#15803d",
  "#0f766e",
  "#2563eb",
  "#7c3aed",
  "#be185d",
] as const;
