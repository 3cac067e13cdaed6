import { and, asc, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { CreateTeamInput, UpdateTeamInput } from "../../../shared/schemas/contacts.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { pgCode } from "../../db/pg-errors.js";
import { memberships, teamMembers, teams } from "../../db/schema/index.js";
import { AppError, badRequest, conflict, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import type { TeamDto } from "./schemas.js";

type Acting = Pick<OrgMember, "orgId">;
type TeamRow = typeof teams.$inferSelect;

export const MAX_TEAMS = 200;

const teamDto = (r: TeamRow, memberIds: string[]): TeamDto => ({
  id: r.id,
  name: r.name,
  description: r.description,
  memberIds: [...memberIds].sort(),
  memberCount: memberIds.length,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

const nameTaken = (name: string) =>
  conflict("team_name_taken", `A team named "${name}" already exists in this organization.`, { field: "name" });

async function membersOf(db: DbOrTx, orgId: string, teamId?: string): Promise<Map<string, string[]>> {
  const rows = await db
    .select({ teamId: teamMembers.teamId, memberId: teamMembers.memberId })
    .from(teamMembers)
    .where(and(eq(teamMembers.orgId, orgId), teamId ? eq(teamMembers.teamId, teamId) : undefined));
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.teamId, [...(out.get(r.teamId) ?? []), r.memberId]);
  return out;
}

export async function listTeams(db: DbOrTx, orgId: string): Promise<TeamDto[]> {
  const [rows, members] = await Promise.all([
    db
      .select()
      .from(teams)
      .where(eq(teams.orgId, orgId))
      .orderBy(asc(sql`lower(${teams.name})`), asc(teams.id)),
    membersOf(db, orgId),
  ]);
  return rows.map((r) => teamDto(r, members.get(r.id) ?? []));
}

async function findTeam(db: DbOrTx, orgId: string, teamId: string, lock = false): Promise<TeamRow> {
  const q = db
    .select()
    .from(teams)
    .where(and(eq(teams.orgId, orgId), eq(teams.id, teamId)));
  const [row] = lock ? await q.for("update") : await q;
  if (!row) throw notFound("team", "team_not_found");
  return row;
}

export async function getTeam(db: DbOrTx, orgId: string, teamId: string): Promise<TeamDto> {
  const row = await findTeam(db, orgId, teamId);
  return teamDto(row, (await membersOf(db, orgId, teamId)).get(teamId) ?? []);
}

/** Member ids of this organization, or 400 `unknown_member` naming the others. Rows are locked (FOR KEY SHARE). */
async function assertMembers(tx: DbOrTx, orgId: string, ids: readonly string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  if (!unique.length) return [];
  const found = await tx
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), inArray(memberships.id, unique)))
    .for("key share");
  const known = new Set(found.map((r) => r.id));
  const unknown = unique.filter((id) => !known.has(id));
  if (unknown.length) {
    throw badRequest(
      "unknown_member",
      `Not a member of this organization: ${unknown.join(", ")}.`,
      unknown.map((id) => ({ path: `memberIds.${ids.indexOf(id)}`, message: `Unknown member ${id}.`, in: "body" })),
    );
  }
  return unique;
}

async function setMembers(tx: DbOrTx, orgId: string, teamId: string, memberIds: string[]) {
  await tx
    .delete(teamMembers)
    .where(
      and(
        eq(teamMembers.orgId, orgId),
        eq(teamMembers.teamId, teamId),
        ...(memberIds.length ? [notInArray(teamMembers.memberId, memberIds)] : []),
      ),
    );
  if (memberIds.length) {
    await tx
      .insert(teamMembers)
      .values(memberIds.map((memberId) => ({ orgId, teamId, memberId })))
      .onConflictDoNothing();
  }
}

function mapErrors(err: unknown, name: string | undefined): never {
  if (!(err instanceof AppError)) {
    if (pgCode(err) === "23505") throw nameTaken(name ?? "");
    if (pgCode(err) === "23503")
      throw badRequest("unknown_member", "A member was removed meanwhile; reload and retry.");
  }
  throw err;
}

export async function createTeam(db: Db, actor: Acting, by: Actor, input: CreateTeamInput): Promise<TeamDto> {
  try {
    return await db.transaction(async (tx) => {
      const memberIds = await assertMembers(tx, actor.orgId, input.memberIds);
      const [count] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(teams)
        .where(eq(teams.orgId, actor.orgId));
      if ((count?.n ?? 0) >= MAX_TEAMS) {
        throw conflict("team_limit_reached", `An organization has at most ${MAX_TEAMS} teams.`);
      }
      const [row] = await tx
        .insert(teams)
        .values({ orgId: actor.orgId, name: input.name, description: input.description ?? "" })
        .onConflictDoNothing()
        .returning();
      if (!row) throw nameTaken(input.name);
      await setMembers(tx, actor.orgId, row.id, memberIds);
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "team.created",
        target: { type: "team", id: row.id, label: row.name },
        changes: asCreated({
          name: row.name,
          description: row.description || undefined,
          memberIds: memberIds.length ? [...memberIds].sort() : undefined,
        }),
      });
      return teamDto(row, memberIds);
    });
  } catch (err) {
    mapErrors(err, input.name);
  }
}

export async function updateTeam(
  db: Db,
  actor: Acting,
  by: Actor,
  teamId: string,
  input: UpdateTeamInput,
): Promise<TeamDto> {
  try {
    return await db.transaction(async (tx) => {
      const row = await findTeam(tx, actor.orgId, teamId, true);
      const memberIds = input.memberIds && (await assertMembers(tx, actor.orgId, input.memberIds));
      const before = ((await membersOf(tx, actor.orgId, teamId)).get(teamId) ?? []).sort();
      const changes = diff(
        { name: row.name, description: row.description, memberIds: before },
        { name: input.name, description: input.description, memberIds: memberIds ? [...memberIds].sort() : undefined },
      );
      if (!changes) return teamDto(row, before);
      const { memberIds: _m, ...fields } = input;
      const [updated] = await tx
        .update(teams)
        .set({ ...fields, updatedAt: sql`now()` })
        .where(and(eq(teams.orgId, actor.orgId), eq(teams.id, teamId)))
        .returning();
      if (memberIds) await setMembers(tx, actor.orgId, teamId, memberIds);
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "team.updated",
        target: { type: "team", id: teamId, label: updated!.name },
        changes,
      });
      return teamDto(updated!, memberIds ?? before);
    });
  } catch (err) {
    mapErrors(err, input.name);
  }
}

export async function deleteTeam(db: Db, actor: Acting, by: Actor, teamId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const before = ((await membersOf(tx, actor.orgId, teamId)).get(teamId) ?? []).sort();
    const [row] = await tx
      .delete(teams)
      .where(and(eq(teams.orgId, actor.orgId), eq(teams.id, teamId)))
      .returning();
    if (!row) throw notFound("team", "team_not_found");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "team.deleted",
      target: { type: "team", id: teamId, label: row.name },
      changes: { name: { before: row.name }, description: { before: row.description }, memberIds: { before } },
    });
  });
}
