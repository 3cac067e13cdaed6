import { Readable } from "node:stream";
import type { ListMembersQuery } from "../../../shared/schemas/members.js";
import type { Db } from "../../db/client.js";
import { csvCell } from "../../lib/csv-cell.js";
import { listRoles } from "../roles/repo.js";
import { listMembers } from "./list.js";

export const MEMBER_CSV_COLUMNS = ["name", "email", "roles", "owner", "two_factor", "joined_at", "last_active_at"];

/**
 * The member list as CSV (RFC 4180, a header row, formula-looking cells made text by csvCell), with
 * the list's own filters and order; read a page of 100 at a time through the list's prepared queries.
 * Roles are named (semicolon-separated), never by id.
 */
export function memberCsvStream(db: Db, orgId: string, filters: Omit<ListMembersQuery, "limit" | "cursor">): Readable {
  async function* chunks(): AsyncGenerator<string> {
    const names = new Map((await listRoles(db, orgId)).map((r) => [r.id, r.name]));
    yield `${MEMBER_CSV_COLUMNS.join(",")}\r\n`;
    let cursor: string | undefined;
    do {
      const page = await listMembers(db, orgId, { ...filters, limit: 100, cursor });
      let out = "";
      for (const m of page.items) {
        const roles = m.roleIds.map((id) => names.get(id) ?? id).join("; ");
        out += `${[
          csvCell(m.name),
          csvCell(m.email),
          csvCell(roles),
          m.isOwner ? "yes" : "no",
          m.twoFactorEnabled ? "on" : "off",
          csvCell(m.joinedAt),
          csvCell(m.lastActiveAt),
        ].join(",")}\r\n`;
      }
      if (out) yield out;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
}
