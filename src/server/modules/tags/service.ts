import { and, asc, eq, sql } from "drizzle-orm";
import type { CreateTagInput, UpdateTagInput } from "../../../shared/schemas/contacts.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { pgCode } from "../../db/pg-errors.js";
import { contactTags, tags, teams } from "../../db/schema/index.js";
import { AppError, badRequest, conflict, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import type { TagDto } from "./schemas.js";

type Acting = Pick<OrgMember, "orgId">;
type TagRow = typeof tags.$inferSelect;

/** Tags an organization may have: they are listed whole (no pages). */
export const MAX_TAGS = 1_000;

export const tagDto = (r: TagRow, contactCount = 0): TagDto => ({
  id: r.id,
  name: r.name,
  color: r.color,
  teamId: r.teamId,
  contactCount,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

const nameTaken = (name: string) =>
  conflict("tag_name_taken", `A tag named "${name}" already exists in this organization.`, { field: "name" });

/** Contacts per tag: an index-only count over contact_tags_tag_idx (org_id, tag_id, contact_id). */
async function counts(db: DbOrTx, orgId: string, tagId?: string): Promise<Map<string, number>> {
  const rows = await db
    .select({ tagId: contactTags.tagId, n: sql<number>`count(*)::int` })
    .from(contactTags)
    .where(and(eq(contactTags.orgId, orgId), tagId ? eq(contactTags.tagId, tagId) : undefined))
    .groupBy(contactTags.tagId);
  return new Map(rows.map((r) => [r.tagId, r.n]));
}

/** A tag with its contact count. */
export async function tagWithCount(db: DbOrTx, row: TagRow): Promise<TagDto> {
  return tagDto(row, (await counts(db, row.orgId, row.id)).get(row.id) ?? 0);
}

export async function listTags(db: DbOrTx, orgId: string, teamId?: string): Promise<TagDto[]> {
  const [rows, n] = await Promise.all([
    db
      .select()
      .from(tags)
      .where(and(eq(tags.orgId, orgId), teamId ? eq(tags.teamId, teamId) : undefined))
      .orderBy(asc(sql`lower(${tags.name})`), asc(tags.id)),
    counts(db, orgId),
  ]);
  return rows.map((r) => tagDto(r, n.get(r.id) ?? 0));
}

export async function getTag(db: DbOrTx, orgId: string, tagId: string): Promise<TagRow> {
  const [row] = await db
    .select()
    .from(tags)
    .where(and(eq(tags.orgId, orgId), eq(tags.id, tagId)));
  if (!row) throw notFound("tag", "tag_not_found");
  return row;
}

/** A team of this organization, or 400 `unknown_team`. */
export async function assertTeam(db: DbOrTx, orgId: string, teamId: string): Promise<{ id: string; name: string }> {
  const [team] = await db
    .select({ id: teams.id, name: teams.name })
    .from(teams)
    .where(and(eq(teams.orgId, orgId), eq(teams.id, teamId)));
  if (!team) {
    throw badRequest("unknown_team", `No such team in this organization: ${teamId}.`, [
      { path: "teamId", message: "Unknown team.", in: "body" },
    ]);
  }
  return team;
}

function mapErrors(err: unknown, name: string | undefined): never {
  if (!(err instanceof AppError)) {
    if (pgCode(err) === "23505") throw nameTaken(name ?? "");
    if (pgCode(err) === "23503") throw badRequest("unknown_team", "The team no longer exists.");
  }
  throw err;
}

export async function createTag(db: Db, actor: Acting, by: Actor, input: CreateTagInput): Promise<TagDto> {
  try {
    return await db.transaction(async (tx) => {
      if (input.teamId) await assertTeam(tx, actor.orgId, input.teamId);
      const [count] = await tx.select({ n: sql<number>`count(*)::int` }).from(tags).where(eq(tags.orgId, actor.orgId));
      if ((count?.n ?? 0) >= MAX_TAGS) {
        throw conflict("tag_limit_reached", `An organization has at most ${MAX_TAGS} tags.`);
      }
      const [row] = await tx
        .insert(tags)
        .values({
          orgId: actor.orgId,
          name: input.name,
          ...(input.color ? { color: input.color } : {}),
          teamId: input.teamId ?? null,
        })
        .onConflictDoNothing()
        .returning();
      if (!row) throw nameTaken(input.name);
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "tag.created",
        target: { type: "tag", id: row.id, label: row.name },
        changes: asCreated({ name: row.name, color: row.color, teamId: row.teamId ?? undefined }),
      });
      return tagDto(row);
    });
  } catch (err) {
    mapErrors(err, input.name);
  }
}

export async function updateTag(
  db: Db,
  actor: Acting,
  by: Actor,
  tagId: string,
  input: UpdateTagInput,
): Promise<TagDto> {
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .select()
        .from(tags)
        .where(and(eq(tags.orgId, actor.orgId), eq(tags.id, tagId)))
        .for("update");
      if (!row) throw notFound("tag", "tag_not_found");
      if (input.teamId) await assertTeam(tx, actor.orgId, input.teamId);
      const changes = diff({ name: row.name, color: row.color, teamId: row.teamId }, input);
      if (!changes) return tagWithCount(tx, row);
      const [updated] = await tx
        .update(tags)
        .set({ ...input, updatedAt: sql`now()` })
        .where(and(eq(tags.orgId, actor.orgId), eq(tags.id, tagId)))
        .returning();
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "tag.updated",
        target: { type: "tag", id: tagId, label: updated!.name },
        changes,
      });
      return tagWithCount(tx, updated!);
    });
  } catch (err) {
    mapErrors(err, input.name);
  }
}

export async function deleteTag(db: Db, actor: Acting, by: Actor, tagId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .delete(tags)
      .where(and(eq(tags.orgId, actor.orgId), eq(tags.id, tagId)))
      .returning();
    if (!row) throw notFound("tag", "tag_not_found");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "tag.deleted",
      target: { type: "tag", id: tagId, label: row.name },
      changes: { name: { before: row.name }, color: { before: row.color }, teamId: { before: row.teamId } },
    });
  });
}
