import type {
  AudienceInput,
  BroadcastStatusName,
  RECIPIENT_STATUSES,
  VariableSourceInput,
} from "../../shared/schemas/broadcasts.js";

export interface BroadcastCounts {
  total: number;
  queued: number;
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  cancelled: number;
  replied: number;
}

/** A broadcast as GET /orgs/:orgId/broadcasts(/:id) answers it. */
export interface Broadcast {
  id: string;
  name: string;
  channelId: string;
  templateId: string | null;
  template: { id: string; name: string; language: string; status: string } | null;
  variables: Record<string, VariableSourceInput>;
  audience: AudienceInput;
  scheduledAt: string | null;
  timezone: string;
  status: BroadcastStatusName;
  statusReason: string | null;
  version: number;
  counts: BroadcastCounts;
  excluded: { optedOut: number; duplicates: number };
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface AudienceSize {
  size: number;
  optedOut: number;
  duplicates: number;
}

export interface BroadcastDetail extends Broadcast {
  failureReasons: { code: number | null; title: string; count: number }[];
  audienceSize: AudienceSize | null;
}

export interface Recipient {
  id: string;
  contactId: string;
  recipient: string;
  contactName: string | null;
  status: (typeof RECIPIENT_STATUSES)[number];
  errorCode: number | null;
  errorTitle: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  failedAt: string | null;
}

export interface TimelineItem {
  id: string;
  action: string;
  actorName: string;
  at: string;
}

export interface BroadcastPreview {
  header: { format: string; text: string | null; mediaUrl: string | null } | null;
  body: string;
  footer: string | null;
  buttons: { type: string; text: string }[];
  missing: string[];
  optedOut: boolean;
}

export const broadcastKeys = {
  all: (orgId: string) => ["orgs", orgId, "broadcasts"] as const,
  one: (orgId: string, id: string) => ["orgs", orgId, "broadcasts", id] as const,
  recipients: (orgId: string, id: string) => ["orgs", orgId, "broadcasts", id, "recipients"] as const,
  timeline: (orgId: string, id: string) => ["orgs", orgId, "broadcasts", id, "timeline"] as const,
};

/** Statuses whose counts still move: the page polls while the broadcast is in one. */
export const LIVE_STATUSES: readonly BroadcastStatusName[] = ["scheduled", "sending"];

/**
 * Whether a broadcast's numbers may still move: while it is scheduled or sending, and for a minute
 * after it finished (delivery and read statuses keep arriving from Meta).
 */
export function isLive(b: Pick<Broadcast, "status" | "finishedAt"> | undefined): boolean {
  if (!b) return false;
  if (LIVE_STATUSES.includes(b.status)) return true;
  return b.finishedAt !== null && Date.now() - Date.parse(b.finishedAt) < 60_000;
}

/** The share of the recipients done with (sent, failed or cancelled), 0–100. */
export function progressOf(c: BroadcastCounts): number {
  if (!c.total) return 0;
  return Math.min(100, Math.round(((c.sent + c.failed + c.cancelled) / c.total) * 100));
}

/** The editor's row for one template variable. */
export interface MappingRow {
  kind: "name" | "first_name" | "phone" | "attribute" | "text";
  value: string;
  fallback: string;
}

export function sourceOf(row: MappingRow): VariableSourceInput {
  if (row.kind === "text") return { text: row.value };
  const fallback = row.fallback.trim() ? { fallback: row.fallback } : {};
  if (row.kind === "attribute") return { attribute: row.value, ...fallback };
  return { field: row.kind, ...fallback };
}

export function rowOf(s: VariableSourceInput | undefined): MappingRow {
  if (!s) return { kind: "first_name", value: "", fallback: "" };
  if ("text" in s) return { kind: "text", value: s.text, fallback: "" };
  if ("attribute" in s) return { kind: "attribute", value: s.attribute, fallback: s.fallback ?? "" };
  return { kind: s.field, value: "", fallback: s.fallback ?? "" };
}
