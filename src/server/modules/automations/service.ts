import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import {
  type AutomationAction,
  type AutomationConditions,
  type AutomationTrigger,
  type CreateAutomationInput,
  MAX_AUTOMATIONS,
  type UpdateAutomationInput,
} from "../../../shared/schemas/automations.js";
import type { Db, DbOrTx } from "../../db/client.js";
import {
  automationRuns,
  automations,
  memberships,
  messageTemplates,
  tags,
  teams,
  waChannels,
} from "../../db/schema/index.js";
import { decodeCursor, encodeCursor, uuidKeyset } from "../../http/cursor.js";
import { AppError, badRequest, conflict, type FieldError, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { isoMicros } from "../activity/query.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { memberAccessOf } from "../conversations/visibility.js";
import { holdsChatRead } from "../roles/object-rules.js";
import { buildTemplateMessage, exampleValues } from "../templates/render.js";
import { asTemplate } from "../templates/service.js";
import type { AutomationDto, AutomationRunDto } from "./schemas.js";

type Acting = Pick<OrgMember, "orgId">;
export type AutomationRow = typeof automations.$inferSelect;

const automationNotFound = () => notFound("automation", "automation_not_found");

function dto(r: AutomationRow, last: { at: Date; status: "ok" | "error" } | undefined): AutomationDto {
  return {
    id: r.id,
    name: r.name,
    enabled: r.enabled,
    priority: r.priority,
    trigger: r.trigger,
    conditions: r.conditions,
    actions: r.actions,
    lastRun: last ? { at: last.at.toISOString(), status: last.status } : null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

async function lastRuns(db: DbOrTx, orgId: string, ids: string[]) {
  if (ids.length === 0) return new Map<string, { at: Date; status: "ok" | "error" }>();
  const rows = await db
    .selectDistinctOn([automationRuns.automationId], {
      automationId: automationRuns.automationId,
      at: automationRuns.createdAt,
      status: automationRuns.status,
    })
    .from(automationRuns)
    .where(and(eq(automationRuns.orgId, orgId), inArray(automationRuns.automationId, ids)))
    .orderBy(automationRuns.automationId, desc(automationRuns.createdAt), desc(automationRuns.id));
  return new Map(rows.map((r) => [r.automationId, { at: r.at, status: r.status }]));
}

/** Every automation of the organization in the order they run (at most MAX_AUTOMATIONS). */
export async function listAutomations(db: DbOrTx, orgId: string): Promise<AutomationDto[]> {
  const rows = await db
    .select()
    .from(automations)
    .where(eq(automations.orgId, orgId))
    .orderBy(asc(automations.priority), asc(automations.createdAt), asc(automations.id));
  const last = await lastRuns(
    db,
    orgId,
    rows.map((r) => r.id),
  );
  return rows.map((r) => dto(r, last.get(r.id)));
}

async function loadAutomation(db: DbOrTx, orgId: string, id: string, lock = false): Promise<AutomationRow> {
  const q = db
    .select()
    .from(automations)
    .where(and(eq(automations.orgId, orgId), eq(automations.id, id)));
  const [row] = lock ? await q.for("update") : await q;
  if (!row) throw automationNotFound();
  return row;
}

export async function getAutomation(db: DbOrTx, orgId: string, id: string): Promise<AutomationDto> {
  const row = await loadAutomation(db, orgId, id);
  return dto(row, (await lastRuns(db, orgId, [id])).get(id));
}

/**
 * Every id the automation names must be an object of this organization: 400
 * `automation_unknown_reference` naming each bad field (`conditions.channelIds.1`,
 * `actions.2.teamId`). A template's variables must fill it (`actions.0.variables.1`).
 */
async function checkReferences(
  db: DbOrTx,
  orgId: string,
  conditions: AutomationConditions,
  actions: AutomationAction[],
): Promise<void> {
  const errors: FieldError[] = [];
  const exists = async (table: typeof tags | typeof teams | typeof waChannels | typeof memberships, ids: string[]) => {
    if (ids.length === 0) return new Set<string>();
    const rows = await db
      .select({ id: table.id })
      .from(table)
      .where(and(eq(table.orgId, orgId), inArray(table.id, [...new Set(ids)])));
    return new Set(rows.map((r) => r.id));
  };
  const channelIds = conditions.channelIds ?? [];
  const tagIds = [conditions.contactHasTag, conditions.contactLacksTag].filter((x): x is string => !!x);
  for (const a of actions) if (a.type === "add_tag") tagIds.push(a.tagId);
  const teamIds = actions.flatMap((a) => (a.type === "assign_team" ? [a.teamId] : []));
  const memberIds = actions.flatMap((a) => (a.type === "assign_member" ? [a.memberId] : []));
  const [okChannels, okTags, okTeams] = await Promise.all([
    exists(waChannels, channelIds),
    exists(tags, tagIds),
    exists(teams, teamIds),
  ]);
  const access = await memberAccessOf(db, orgId, memberIds);
  channelIds.forEach((id, i) => {
    if (!okChannels.has(id))
      errors.push({ path: `conditions.channelIds.${i}`, message: "Unknown channel.", in: "body" });
  });
  for (const key of ["contactHasTag", "contactLacksTag"] as const) {
    const id = conditions[key];
    if (id && !okTags.has(id)) errors.push({ path: `conditions.${key}`, message: "Unknown tag.", in: "body" });
  }
  for (const [i, a] of actions.entries()) {
    if (a.type === "add_tag" && !okTags.has(a.tagId)) {
      errors.push({ path: `actions.${i}.tagId`, message: "Unknown tag.", in: "body" });
    } else if (a.type === "assign_team" && !okTeams.has(a.teamId)) {
      errors.push({ path: `actions.${i}.teamId`, message: "Unknown team.", in: "body" });
    } else if (a.type === "assign_member") {
      const m = access.get(a.memberId);
      if (!m) errors.push({ path: `actions.${i}.memberId`, message: "Unknown member.", in: "body" });
      else if (!holdsChatRead(m)) {
        errors.push({ path: `actions.${i}.memberId`, message: "This member cannot read conversations.", in: "body" });
      }
    } else if (a.type === "send_template") {
      const [t] = await db
        .select()
        .from(messageTemplates)
        .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, a.templateId)));
      if (!t) {
        errors.push({ path: `actions.${i}.templateId`, message: "Unknown template.", in: "body" });
        continue;
      }
      try {
        buildTemplateMessage(asTemplate(t), a.variables);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        for (const e of err.extra.errors ?? []) errors.push({ ...e, path: `actions.${i}.${e.path}` });
      }
    }
  }
  if (errors.length) {
    throw badRequest(
      "automation_unknown_reference",
      "The automation names something that is not in this organization, or a template value is missing.",
      errors,
    );
  }
}

const summary = (r: {
  name: string;
  enabled: boolean;
  priority: number;
  trigger: AutomationTrigger;
  conditions: AutomationConditions;
  actions: AutomationAction[];
}) => ({
  name: r.name,
  enabled: r.enabled,
  priority: r.priority,
  trigger: r.trigger,
  conditions: r.conditions,
  actions: r.actions,
});

export async function createAutomation(
  db: Db,
  actor: Acting,
  by: Actor,
  input: CreateAutomationInput,
): Promise<AutomationDto> {
  return db.transaction(async (tx) => {
    // Serialises creations per organization, so the limit holds under concurrency.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('automations:' || ${actor.orgId}))`);
    const [count] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(automations)
      .where(eq(automations.orgId, actor.orgId));
    if ((count?.n ?? 0) >= MAX_AUTOMATIONS) {
      throw conflict("automation_limit_reached", `An organization has at most ${MAX_AUTOMATIONS} automations.`);
    }
    await checkReferences(tx, actor.orgId, input.conditions, input.actions);
    const [row] = await tx
      .insert(automations)
      .values({ orgId: actor.orgId, ...summary(input) })
      .returning();
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "automation.created",
      target: { type: "automation", id: row!.id, label: row!.name },
      changes: asCreated(summary(row!)),
    });
    return dto(row!, undefined);
  });
}

export async function updateAutomation(
  db: Db,
  actor: Acting,
  by: Actor,
  id: string,
  input: UpdateAutomationInput,
): Promise<AutomationDto> {
  return db.transaction(async (tx) => {
    const before = await loadAutomation(tx, actor.orgId, id, true);
    const next = {
      ...summary(before),
      ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
    };
    if (input.conditions !== undefined || input.actions !== undefined) {
      await checkReferences(tx, actor.orgId, next.conditions, next.actions);
    }
    const changes = diff(summary(before), summary(next as AutomationRow));
    if (!changes) return dto(before, (await lastRuns(tx, actor.orgId, [id])).get(id));
    const [row] = await tx
      .update(automations)
      .set({ ...summary(next as AutomationRow), updatedAt: new Date() })
      .where(and(eq(automations.orgId, actor.orgId), eq(automations.id, id)))
      .returning();
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action:
        Object.keys(changes).length === 1 && changes.enabled
          ? row!.enabled
            ? "automation.enabled"
            : "automation.disabled"
          : "automation.updated",
      target: { type: "automation", id, label: row!.name },
      changes,
    });
    return dto(row!, (await lastRuns(tx, actor.orgId, [id])).get(id));
  });
}

export async function deleteAutomation(db: Db, actor: Acting, by: Actor, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const before = await loadAutomation(tx, actor.orgId, id, true);
    await tx.delete(automations).where(and(eq(automations.orgId, actor.orgId), eq(automations.id, id)));
    const changes: Record<string, { before: unknown }> = {};
    for (const [k, v] of Object.entries(summary(before))) changes[k] = { before: v };
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "automation.deleted",
      target: { type: "automation", id, label: before.name },
      changes,
    });
  });
}

/** An automation's runs, newest first, keyset pages on (created_at, id). */
export async function listRuns(
  db: DbOrTx,
  orgId: string,
  automationId: string,
  q: { limit: number; cursor?: string | undefined },
): Promise<{ items: AutomationRunDto[]; nextCursor: string | null }> {
  await loadAutomation(db, orgId, automationId);
  const after = decodeCursor(q.cursor, uuidKeyset);
  const rows = await db
    .select({
      id: automationRuns.id,
      conversationId: automationRuns.conversationId,
      messageId: automationRuns.messageId,
      status: automationRuns.status,
      results: automationRuns.results,
      at: isoMicros(automationRuns.createdAt),
    })
    .from(automationRuns)
    .where(
      and(
        eq(automationRuns.orgId, orgId),
        eq(automationRuns.automationId, automationId),
        after
          ? sql`(${automationRuns.createdAt}, ${automationRuns.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(automationRuns.createdAt), desc(automationRuns.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      id: r.id,
      at: r.at,
      conversationId: r.conversationId,
      messageId: r.messageId,
      status: r.status,
      results: r.results,
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ at: last.at, id: last.id }) : null,
  };
}

/**
 * What the editor may name, id and label only, under automations:read (an Automation Manager
 * holds neither members:read nor contacts:read, yet picks teams, members and tags here).
 */
export async function automationOptions(db: DbOrTx, orgId: string) {
  const [chs, ts, tg, ms, tpl] = await Promise.all([
    db
      .select({ id: waChannels.id, name: waChannels.name })
      .from(waChannels)
      .where(eq(waChannels.orgId, orgId))
      .orderBy(asc(waChannels.name)),
    db.select({ id: teams.id, name: teams.name }).from(teams).where(eq(teams.orgId, orgId)).orderBy(asc(teams.name)),
    db.select({ id: tags.id, name: tags.name }).from(tags).where(eq(tags.orgId, orgId)).orderBy(asc(tags.name)),
    db
      .select({ id: memberships.id, firstName: memberships.firstName, lastName: memberships.lastName })
      .from(memberships)
      .where(eq(memberships.orgId, orgId))
      .orderBy(asc(memberships.firstName), asc(memberships.lastName)),
    db
      .select()
      .from(messageTemplates)
      .where(eq(messageTemplates.orgId, orgId))
      .orderBy(asc(messageTemplates.name), asc(messageTemplates.language)),
  ]);
  const access = await memberAccessOf(
    db,
    orgId,
    ms.map((m) => m.id),
  );
  return {
    channels: chs,
    teams: ts,
    tags: tg,
    members: ms
      .filter((m) => {
        const a = access.get(m.id);
        return a ? holdsChatRead(a) : false;
      })
      .map((m) => ({ id: m.id, name: `${m.firstName} ${m.lastName}`.trim() })),
    templates: tpl.map((t) => ({
      id: t.id,
      name: t.name,
      language: t.language,
      status: t.status,
      channelId: t.channelId,
      variables: Object.keys(exampleValues(asTemplate(t))),
    })),
  };
}
