import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { CreateListInput, UpdateListInput } from "../../../shared/schemas/contacts.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { pgCode } from "../../db/pg-errors.js";
import { contactLists, contacts, listContacts } from "../../db/schema/index.js";
import { AppError, conflict, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import type { ContactListDto } from "./schemas.js";

type Acting = Pick<OrgMember, "orgId">;
type ListRow = typeof contactLists.$inferSelect;

export const MAX_LISTS = 1_000;

const listDto = (r: ListRow, contactCount: number): ContactListDto => ({
  id: r.id,
  name: r.name,
  description: r.description,
  contactCount,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

const nameTaken = (name: string) =>
  conflict("list_name_taken", `A list named "${name}" already exists in this organization.`, { field: "name" });

/** Contacts per list: an index-only count over list_contacts' primary key (org_id, list_id, contact_id). */
async function counts(db: DbOrTx, orgId: string, listId?: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ listId: listContacts.listId, n: sql<number>`count(*)::int` })
    .from(listContacts)
    .where(and(eq(listContacts.orgId, orgId), listId ? eq(listContacts.listId, listId) : undefined))
    .groupBy(listContacts.listId);
  return new Map(rows.map((r) => [r.listId, r.n]));
}

export async function listLists(db: DbOrTx, orgId: string): Promise<ContactListDto[]> {
  const [rows, n] = await Promise.all([
    db
      .select()
      .from(contactLists)
      .where(eq(contactLists.orgId, orgId))
      .orderBy(asc(sql`lower(${contactLists.name})`), asc(contactLists.id)),
    counts(db, orgId),
  ]);
  return rows.map((r) => listDto(r, n.get(r.id) ?? 0));
}

async function findList(db: DbOrTx, orgId: string, listId: string, lock = false): Promise<ListRow> {
  const q = db
    .select()
    .from(contactLists)
    .where(and(eq(contactLists.orgId, orgId), eq(contactLists.id, listId)));
  const [row] = lock ? await q.for("update") : await q;
  if (!row) throw notFound("list", "list_not_found");
  return row;
}

export async function getList(db: DbOrTx, orgId: string, listId: string): Promise<ContactListDto> {
  const row = await findList(db, orgId, listId);
  return listDto(row, (await counts(db, orgId, listId)).get(listId) ?? 0);
}

function mapErrors(err: unknown, name: string | undefined): never {
  if (!(err instanceof AppError) && pgCode(err) === "23505") throw nameTaken(name ?? "");
  throw err;
}

export async function createList(db: Db, actor: Acting, by: Actor, input: CreateListInput): Promise<ContactListDto> {
  try {
    return await db.transaction(async (tx) => {
      const [count] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(contactLists)
        .where(eq(contactLists.orgId, actor.orgId));
      if ((count?.n ?? 0) >= MAX_LISTS) {
        throw conflict("list_limit_reached", `An organization has at most ${MAX_LISTS} lists.`);
      }
      const [row] = await tx
        .insert(contactLists)
        .values({ orgId: actor.orgId, name: input.name, description: input.description ?? "" })
        .onConflictDoNothing()
        .returning();
      if (!row) throw nameTaken(input.name);
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "list.created",
        target: { type: "list", id: row.id, label: row.name },
        changes: asCreated({ name: row.name, description: row.description || undefined }),
      });
      return listDto(row, 0);
    });
  } catch (err) {
    mapErrors(err, input.name);
  }
}

export async function updateList(
  db: Db,
  actor: Acting,
  by: Actor,
  listId: string,
  input: UpdateListInput,
): Promise<ContactListDto> {
  try {
    return await db.transaction(async (tx) => {
      const row = await findList(tx, actor.orgId, listId, true);
      const changes = diff({ name: row.name, description: row.description }, input);
      const n = (await counts(tx, actor.orgId, listId)).get(listId) ?? 0;
      if (!changes) return listDto(row, n);
      const [updated] = await tx
        .update(contactLists)
        .set({ ...input, updatedAt: sql`now()` })
        .where(and(eq(contactLists.orgId, actor.orgId), eq(contactLists.id, listId)))
        .returning();
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "list.updated",
        target: { type: "list", id: listId, label: updated!.name },
        changes,
      });
      return listDto(updated!, n);
    });
  } catch (err) {
    mapErrors(err, input.name);
  }
}

export async function deleteList(db: Db, actor: Acting, by: Actor, listId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(contactLists)
      .where(and(eq(contactLists.orgId, actor.orgId), eq(contactLists.id, listId)))
      .returning();
    if (!row) throw notFound("list", "list_not_found");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "list.deleted",
      target: { type: "list", id: listId, label: row.name },
      changes: { name: { before: row.name }, description: { before: row.description } },
    });
  });
}

/**
 * Adds (or removes) contacts to a list in one statement; ids that are not the organization's
 * contacts are ignored. One activity record with the count.
 */
export async function changeListContacts(
  db: Db,
  actor: Acting,
  by: Actor,
  listId: string,
  contactIds: string[],
  op: "add" | "remove",
): Promise<{ listId: string; touched: number; contactCount: number }> {
  const ids = [...new Set(contactIds)];
  return db.transaction(async (tx) => {
    const list = await findList(tx, actor.orgId, listId, true);
    const done =
      op === "add"
        ? await tx
            .insert(listContacts)
            .select(
              tx
                .select({
                  orgId: contacts.orgId,
                  listId: sql<string>`${listId}::uuid`.as("list_id"),
                  contactId: contacts.id,
                  addedAt: sql<Date>`now()`.as("added_at"),
                })
                .from(contacts)
                .where(and(eq(contacts.orgId, actor.orgId), inArray(contacts.id, ids))),
            )
            .onConflictDoNothing()
            .returning({ id: listContacts.contactId })
        : await tx
            .delete(listContacts)
            .where(
              and(
                eq(listContacts.orgId, actor.orgId),
                eq(listContacts.listId, listId),
                inArray(listContacts.contactId, ids),
              ),
            )
            .returning({ id: listContacts.contactId });
    const touched = done.length;
    if (touched) {
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: op === "add" ? "list.contacts_added" : "list.contacts_removed",
        target: { type: "list", id: listId, label: list.name },
        changes: { count: { after: touched } },
      });
    }
    const n = (await counts(tx, actor.orgId, listId)).get(listId) ?? 0;
    return { listId, touched, contactCount: n };
  });
}
