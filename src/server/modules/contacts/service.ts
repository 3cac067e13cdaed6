import { and, eq, inArray, notInArray, type SQL, sql } from "drizzle-orm";
import { normalizePhone } from "../../../shared/phone.js";
import {
  type BulkContactsInput,
  type CreateContactInput,
  MAX_ATTRIBUTES,
  MAX_BULK_FILTER,
  type UpdateContactInput,
} from "../../../shared/schemas/contacts.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { pgCode } from "../../db/pg-errors.js";
import { contactLists, contacts, contactTags, listContacts, tags } from "../../db/schema/index.js";
import { AppError, badRequest, conflict, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { contactDto, filterWhere, getContactRow, membershipsOf } from "./query.js";
import type { ContactDto } from "./schemas.js";

type Acting = Pick<OrgMember, "orgId" | "memberId">;

/** The E.164 form of `input`, or 400 `invalid_phone` saying why (`reason`: too_short, invalid_country, …). */
export function phoneOrThrow(input: string, country: string | undefined | null, field = "phone"): string {
  const r = normalizePhone(input, country);
  if (r.ok) return r.e164;
  throw new AppError(400, "invalid_phone", r.message, {
    reason: r.reason,
    errors: [{ path: field, message: r.message, in: "body" }],
  });
}

export const contactLabel = (c: { name: string | null; phone: string }) => c.name ?? c.phone;

/** The contact holding `phone` (or `waId`) in the organization: the other side of a 409. */
async function existingId(db: DbOrTx, orgId: string, phone: string, waId?: string | null): Promise<string | null> {
  const [byPhone] = await db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.phone, phone)));
  if (byPhone) return byPhone.id;
  if (!waId) return null;
  const [byWa] = await db
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.waId, waId)));
  return byWa?.id ?? null;
}

const contactExists = (contactId: string | null, what = "phone number") =>
  conflict("contact_exists", `A contact with this ${what} already exists in this organization.`, {
    contactId,
    field: what === "phone number" ? "phone" : "waId",
  });

/** Ids of the organization's tags (or lists): 400 `unknown_tag` / `unknown_list` naming the others. */
export async function assertOwned(
  db: DbOrTx,
  orgId: string,
  kind: "tag" | "list",
  ids: readonly string[],
  field: string,
): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return [];
  const table = kind === "tag" ? tags : contactLists;
  const found = await db
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.orgId, orgId), inArray(table.id, unique)));
  const known = new Set(found.map((r) => r.id));
  const unknown = unique.filter((id) => !known.has(id));
  if (unknown.length) {
    throw badRequest(
      kind === "tag" ? "unknown_tag" : "unknown_list",
      `No such ${kind} in this organization: ${unknown.join(", ")}.`,
      unknown.map((id) => ({ path: `${field}.${ids.indexOf(id)}`, message: `Unknown ${kind} ${id}.`, in: "body" })),
    );
  }
  return unique;
}

async function setTags(tx: DbOrTx, orgId: string, contactId: string, tagIds: string[]) {
  await tx
    .delete(contactTags)
    .where(
      and(
        eq(contactTags.orgId, orgId),
        eq(contactTags.contactId, contactId),
        ...(tagIds.length ? [notInArray(contactTags.tagId, tagIds)] : []),
      ),
    );
  if (tagIds.length) {
    await tx
      .insert(contactTags)
      .values(tagIds.map((tagId) => ({ orgId, contactId, tagId })))
      .onConflictDoNothing();
  }
}

async function setLists(tx: DbOrTx, orgId: string, contactId: string, listIds: string[]) {
  await tx
    .delete(listContacts)
    .where(
      and(
        eq(listContacts.orgId, orgId),
        eq(listContacts.contactId, contactId),
        ...(listIds.length ? [notInArray(listContacts.listId, listIds)] : []),
      ),
    );
  if (listIds.length) {
    await tx
      .insert(listContacts)
      .values(listIds.map((listId) => ({ orgId, contactId, listId })))
      .onConflictDoNothing();
  }
}

export async function createContact(db: Db, actor: Acting, by: Actor, input: CreateContactInput): Promise<ContactDto> {
  const phone = phoneOrThrow(input.phone, input.country);
  return db.transaction(async (tx) => {
    const tagIds = await assertOwned(tx, actor.orgId, "tag", input.tagIds ?? [], "tagIds");
    const listIds = await assertOwned(tx, actor.orgId, "list", input.listIds ?? [], "listIds");
    // ON CONFLICT DO NOTHING: of two concurrent creations of one phone, the second waits for the
    // first to commit and then inserts nothing (409), instead of failing the transaction.
    const [row] = await tx
      .insert(contacts)
      .values({
        orgId: actor.orgId,
        phone,
        name: input.name ?? null,
        waId: input.waId ?? null,
        attributes: input.attributes ?? {},
        ...(input.optedOut ? { optedOutAt: new Date(), optOutSource: "manual" } : {}),
        createdByMemberId: actor.memberId,
        updatedByMemberId: actor.memberId,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) {
      const byPhone = await existingId(tx, actor.orgId, phone);
      throw byPhone
        ? contactExists(byPhone)
        : contactExists(await existingId(tx, actor.orgId, "", input.waId), "WhatsApp id");
    }
    await setTags(tx, actor.orgId, row.id, tagIds);
    await setLists(tx, actor.orgId, row.id, listIds);
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "contact.created",
      target: { type: "contact", id: row.id, label: contactLabel(row) },
      changes: asCreated({
        phone,
        name: row.name ?? undefined,
        waId: row.waId ?? undefined,
        attributes: Object.keys(row.attributes).length ? row.attributes : undefined,
        optedOut: row.optedOutAt ? true : undefined,
        tagIds: tagIds.length ? tagIds : undefined,
        listIds: listIds.length ? listIds : undefined,
      }),
    });
    return contactDto(row, tagIds, listIds);
  });
}

export async function updateContact(
  db: Db,
  actor: Acting,
  by: Actor,
  contactId: string,
  input: UpdateContactInput,
): Promise<ContactDto> {
  const phone = input.phone !== undefined ? phoneOrThrow(input.phone, input.country) : undefined;
  try {
    return await db.transaction(async (tx) => {
      const row = await getContactRow(tx, actor.orgId, contactId, true);
      if (!row) throw notFound("contact", "contact_not_found");
      const tagIds = input.tagIds && (await assertOwned(tx, actor.orgId, "tag", input.tagIds, "tagIds"));
      const listIds = input.listIds && (await assertOwned(tx, actor.orgId, "list", input.listIds, "listIds"));
      let attributes: Record<string, string> | undefined;
      if (input.attributes) {
        attributes = { ...row.attributes };
        for (const [k, v] of Object.entries(input.attributes)) {
          if (v === null) delete attributes[k];
          else attributes[k] = v;
        }
        if (Object.keys(attributes).length > MAX_ATTRIBUTES) {
          throw badRequest("too_many_attributes", `A contact has at most ${MAX_ATTRIBUTES} attributes.`, [
            { path: "attributes", message: `At most ${MAX_ATTRIBUTES} attributes.`, in: "body" },
          ]);
        }
      }
      const optedOut =
        input.optedOut === undefined || input.optedOut === (row.optedOutAt !== null) ? undefined : input.optedOut;
      const before = await membershipsOf(tx, actor.orgId, [contactId]);
      const beforeTags = (before.tags.get(contactId) ?? []).sort();
      const beforeLists = (before.lists.get(contactId) ?? []).sort();
      const changes = diff(
        {
          phone: row.phone,
          name: row.name,
          waId: row.waId,
          attributes: row.attributes,
          optedOut: row.optedOutAt !== null,
          tagIds: beforeTags,
          listIds: beforeLists,
        },
        {
          phone,
          name: input.name,
          waId: input.waId,
          attributes,
          optedOut,
          tagIds: tagIds ? [...tagIds].sort() : undefined,
          listIds: listIds ? [...listIds].sort() : undefined,
        },
      );
      if (!changes) return contactDto(row, beforeTags, beforeLists);
      const [updated] = await tx
        .update(contacts)
        .set({
          ...(phone !== undefined ? { phone } : {}),
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.waId !== undefined ? { waId: input.waId } : {}),
          ...(attributes ? { attributes } : {}),
          ...(optedOut === true ? { optedOutAt: new Date(), optOutSource: "manual" } : {}),
          ...(optedOut === false ? { optedOutAt: null, optOutSource: null } : {}),
          updatedByMemberId: actor.memberId,
          updatedAt: sql`now()`,
        })
        .where(and(eq(contacts.orgId, actor.orgId), eq(contacts.id, contactId)))
        .returning();
      if (tagIds) await setTags(tx, actor.orgId, contactId, tagIds);
      if (listIds) await setLists(tx, actor.orgId, contactId, listIds);
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "contact.updated",
        target: { type: "contact", id: contactId, label: contactLabel(updated!) },
        changes,
      });
      return contactDto(updated!, tagIds ?? beforeTags, listIds ?? beforeLists);
    });
  } catch (err) {
    if (!(err instanceof AppError) && pgCode(err) === "23505") {
      const other = await existingId(db, actor.orgId, phone ?? "", input.waId);
      throw phone && other ? contactExists(other) : contactExists(other, "WhatsApp id");
    }
    throw err;
  }
}

export async function deleteContact(db: Db, actor: Acting, by: Actor, contactId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(contacts)
      .where(and(eq(contacts.orgId, actor.orgId), eq(contacts.id, contactId)))
      .returning();
    if (!row) throw notFound("contact", "contact_not_found");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "contact.deleted",
      target: { type: "contact", id: contactId, label: contactLabel(row) },
      changes: { phone: { before: row.phone }, name: { before: row.name } },
    });
  });
}

const countOf = (res: unknown) => Number((res as { rows: { n: number | string }[] }).rows[0]?.n ?? 0);

/**
 * A bulk action in set-based SQL, in one transaction with its one activity record: the
 * selection is `contactIds` (at most 1,000) or a filter (at most MAX_BULK_FILTER contacts;
 * more answers 400 `selection_too_large`, narrow the filter). `matched` counts the contacts
 * of the selection that exist, `touched` those the action changed.
 */
export async function bulkContacts(
  db: Db,
  actor: Acting,
  by: Actor,
  input: BulkContactsInput,
): Promise<{ action: BulkContactsInput["action"]; matched: number; touched: number }> {
  const orgId = actor.orgId;
  return db.transaction(async (tx) => {
    let subject: { type: "tag" | "list"; id: string; name: string } | null = null;
    if (input.action === "add_tag" || input.action === "remove_tag") {
      const [t] = await tx
        .select({ id: tags.id, name: tags.name })
        .from(tags)
        .where(and(eq(tags.orgId, orgId), eq(tags.id, input.tagId!)));
      if (!t) throw notFound("tag", "tag_not_found");
      subject = { type: "tag", ...t };
    } else if (input.action === "add_to_list" || input.action === "remove_from_list") {
      const [l] = await tx
        .select({ id: contactLists.id, name: contactLists.name })
        .from(contactLists)
        .where(and(eq(contactLists.orgId, orgId), eq(contactLists.id, input.listId!)));
      if (!l) throw notFound("list", "list_not_found");
      subject = { type: "list", ...l };
    }
    const where: SQL[] = input.contactIds
      ? [eq(contacts.orgId, orgId), inArray(contacts.id, [...new Set(input.contactIds)])]
      : filterWhere(orgId, input.filter ?? {});
    const target = sql`select ${contacts.id} as id from ${contacts} where ${sql.join(where, sql` and `)}`;
    const matched = countOf(
      await tx.execute(sql`select count(*)::int as n from (${target} limit ${MAX_BULK_FILTER + 1}) s`),
    );
    if (matched > MAX_BULK_FILTER) {
      throw badRequest(
        "selection_too_large",
        `The filter matches more than ${MAX_BULK_FILTER.toLocaleString("en")} contacts; narrow it down.`,
      );
    }
    let statement: SQL;
    switch (input.action) {
      case "add_tag":
        statement = sql`insert into ${contactTags} (org_id, contact_id, tag_id)
          select ${orgId}::uuid, s.id, ${subject!.id}::uuid from (${target}) s on conflict do nothing returning 1`;
        break;
      case "remove_tag":
        statement = sql`delete from ${contactTags} where org_id = ${orgId} and tag_id = ${subject!.id}
          and contact_id in (${target}) returning 1`;
        break;
      case "add_to_list":
        statement = sql`insert into ${listContacts} (org_id, list_id, contact_id)
          select ${orgId}::uuid, ${subject!.id}::uuid, s.id from (${target}) s on conflict do nothing returning 1`;
        break;
      case "remove_from_list":
        statement = sql`delete from ${listContacts} where org_id = ${orgId} and list_id = ${subject!.id}
          and contact_id in (${target}) returning 1`;
        break;
      case "delete":
        statement = sql`delete from ${contacts} where org_id = ${orgId} and id in (${target}) returning 1`;
        break;
    }
    const touched = countOf(await tx.execute(sql`with done as (${statement}) select count(*)::int as n from done`));
    const given = input.filter
      ? Object.fromEntries(Object.entries(input.filter).filter(([, v]) => v !== undefined))
      : undefined;
    await recordActivity(tx, by, {
      orgId,
      action: `contact.bulk_${input.action}`,
      target: { type: "contact", id: null, label: `${touched} contact${touched === 1 ? "" : "s"}` },
      changes: {
        count: { after: touched },
        matched: { after: matched },
        ...(subject ? { [subject.type]: { after: { id: subject.id, name: subject.name } } } : {}),
        ...(given ? { filter: { after: given } } : { contactIds: { after: input.contactIds!.length } }),
      },
    });
    return { action: input.action, matched, touched };
  });
}
