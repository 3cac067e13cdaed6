import { csvCell } from "../../lib/csv-cell.js";
import type { ChatAnalyticsDto } from "./schemas.js";

export const CHAT_ANALYTICS_CSV_COLUMNS = [
  "group",
  "name",
  "conversations_handled",
  "conversations_resolved",
  "messages_sent",
  "median_first_response_seconds",
  "first_responses",
  "median_resolution_seconds",
  "resolutions",
];

/** The name of the row for conversations without a team. */
export const NO_TEAM_LABEL = "(no team)";

type Figures = ChatAnalyticsDto["totals"];

const line = (group: string, name: string, x: Figures) =>
  `${[
    group,
    csvCell(name),
    x.conversationsHandled,
    x.conversationsResolved,
    x.messagesSent,
    x.medianFirstResponseSeconds ?? "",
    x.firstResponses,
    x.medianResolutionSeconds ?? "",
    x.resolutions,
  ].join(",")}\r\n`;

/**
 * The figures as CSV (RFC 4180, a header row): one row per member (`group` member, by name), one
 * per team then "(no team)" (`group` team), and the organization's total (`group` total, empty
 * name). Names go through csvCell (a name starting with `=` is text in a spreadsheet); an empty
 * median cell means there was nothing to take the median of.
 */
export function chatAnalyticsCsv(dto: ChatAnalyticsDto): string {
  let out = `${CHAT_ANALYTICS_CSV_COLUMNS.join(",")}\r\n`;
  for (const m of dto.items) out += line("member", m.name, m);
  for (const t of dto.teams) out += line("team", t.name ?? NO_TEAM_LABEL, t);
  out += line("total", "", dto.totals);
  return out;
}

/**
 * `chat-analytics-<from>_<to>.csv`: a period of whole UTC days is named by its first and last
 * day (`to` included, as the query says it), other periods by their bounds to the second.
 */
export function chatAnalyticsFilename(from: string, to: string): string {
  const midnight = (iso: string) => iso.endsWith("T00:00:00.000Z");
  const stamp = (iso: string) => iso.slice(0, 19).replaceAll(":", "-");
  const days = midnight(from) && midnight(to);
  const last = new Date(Date.parse(to) - 86_400_000).toISOString().slice(0, 10);
  return days ? `chat-analytics-${from.slice(0, 10)}_${last}.csv` : `chat-analytics-${stamp(from)}_${stamp(to)}.csv`;
}
