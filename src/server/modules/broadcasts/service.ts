import { and, desc, eq, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type {
  AudienceInput,
  CreateBroadcastInput,
  UpdateBroadcastInput,
  VariableSourceInput,
} from "../../../shared/schemas/broadcasts.js";
import type { TemplateVariables } from "../../../shared/schemas/templates.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { rowsOf } from "../../db/rows.js";
import {
  activity,
  type BroadcastAudience,
  type BroadcastStatus,
  broadcastRecipients,
  broadcasts,
  contactLists,
  contacts,
  messageTemplates,
  type RecipientStatus,
  tags,
  type VariableSource,
} from "../../db/schema/index.js";
import { decodeCursor, encodeCursor } from "../../http/cursor.js";
import { AppError, badRequest, conflict, type FieldError, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { getChannel } from "../channels/repo.js";
import { getWorkspaceSettings } from "../settings/service.js";
import { buildTemplateMessage, renderPreview, type TemplatePreview } from "../templates/render.js";
import { asTemplate, type TemplateRow } from "../templates/service.js";
import { broadcastSendJob } from "./jobs.js";
import { zonedToUtc } from "./time.js";

export type BroadcastRow = typeof broadcasts.$inferSelect;
type Acting = Pick<OrgMember, "orgId" | "memberId">;

export interface BroadcastCounts {
  total: number;
  queued: number;
  /** Cumulative: sent, delivered or read. */
  sent: number;
  /** Cumulative: delivered or read. */
  delivered: number;
  read: number;
  failed: number;
  cancelled: number;
  replied: number;
}

export interface BroadcastDto {
  id: string;
  name: string;
  channelId: string;
  templateId: string | null;
  template: { id: string; name: string; language: string; status: string } | null;
  variables: Record<string, VariableSource>;
  audience: BroadcastAudience;
  scheduledAt: string | null;
  timezone: string;
  status: BroadcastStatus;
  statusReason: string | null;
  version: number;
  counts: BroadcastCounts;
  excluded: { optedOut: number; duplicates: number };
  createdByMemberId: string | null;
  updatedByMemberId: string | null;
  sentByMemberId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const broadcastNotFound = () => notFound("broadcast", "broadcast_not_found");

export const emptyCounts = (): BroadcastCounts => ({
  total: 0,
  queued: 0,
  sent: 0,
  delivered: 0,
  read: 0,
  failed: 0,
  cancelled: 0,
  replied: 0,
});

// ---- templates and variables ----

/** The variable keys a template needs a value for (as buildTemplateMessage asks them), and the optional ones. */
export function templateVariableKeys(t: TemplateRow): { required: string[]; optional: string[] } {
  const like = asTemplate(t);
  let required: string[] = [];
  try {
    buildTemplateMessage(like, {});
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    required = (err.extra.errors ?? []).map((e) => e.path.replace(/^variables\./, ""));
  }
  // Quick-reply payloads may be given (buildTemplateMessage sends them when present).
  const optional: string[] = [];
  const buttons = like.components.find((c) => c.type === "BUTTONS") as { buttons?: { type: string }[] } | undefined;
  buttons?.buttons?.forEach((b, i) => {
    if (b.type === "QUICK_REPLY") optional.push(`button.${i}`);
  });
  return { required, optional };
}

async function templateOr400(
  db: DbOrTx,
  orgId: string,
  templateId: string,
  channelId: string,
  path = "templateId",
): Promise<TemplateRow> {
  const [t] = await db
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, templateId)));
  if (!t)
    throw badRequest("unknown_template", "No such template in this organization.", [field(path, "Unknown template.")]);
  if (t.channelId !== channelId) {
    throw badRequest("template_channel_mismatch", "The template belongs to another channel.", [
      field(path, "Pick a template of the broadcast's channel."),
    ]);
  }
  if (t.status !== "APPROVED") {
    throw badRequest("template_not_approved", `The template is ${t.status}: only an approved template can be sent.`, [
      field(path, `The template is ${t.status}; pick an approved one.`),
    ]);
  }
  return t;
}

const field = (path: string, message: string): FieldError => ({ path, message, in: "body" });

/** Unknown keys are refused; `complete` also refuses a missing required key (at send). */
function checkVariables(t: TemplateRow, variables: Record<string, VariableSourceInput>, complete: boolean): void {
  const { required, optional } = templateVariableKeys(t);
  const known = new Set([...required, ...optional]);
  const errors: FieldError[] = [];
  for (const key of Object.keys(variables)) {
    if (!known.has(key)) errors.push(field(`variables.${key}`, `The template has no variable "${key}".`));
  }
  if (complete) {
    for (const key of required) if (!variables[key]) errors.push(field(`variables.${key}`, "Map this variable."));
  }
  if (errors.length) {
    throw badRequest(
      complete && errors.some((e) => e.message === "Map this variable.")
        ? "broadcast_variables_missing"
        : "unknown_variable",
      errors.map((e) => `${e.path}: ${e.message}`).join(" "),
      errors,
    );
  }
}

// ---- audience ----

async function checkAudience(db: DbOrTx, orgId: string, a: AudienceInput): Promise<void> {
  const errors: FieldError[] = [];
  // Each id list is checked against its own table, within the organization.
  const check = async (
    ids: string[] | undefined,
    key: string,
    table: typeof contactLists | typeof tags | typeof contacts,
  ) => {
    if (!ids?.length) return;
    const rows = await db
      .select({ id: table.id })
      .from(table)
      .where(and(eq(table.orgId, orgId), inArray(table.id, ids)));
    const have = new Set(rows.map((x) => x.id));
    ids.forEach((id, i) => {
      if (!have.has(id)) errors.push(field(`audience.${key}.${i}`, "Unknown in this organization."));
    });
  };
  await check(a.listIds, "listIds", contactLists);
  await check(a.tagIds, "tagIds", tags);
  await check(a.contactIds, "contactIds", contacts);
  if (errors.length)
    throw badRequest("unknown_audience", "The audience names lists, tags or contacts that do not exist.", errors);
}

const uuidList = (ids: string[]) =>
  sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  );

/** Every reference to a contact the audience makes (a contact in two lists appears twice). */
function audienceRefs(orgId: string, a: BroadcastAudience): SQL | null {
  const parts: SQL[] = [];
  if (a.listIds?.length) {
    parts.push(
      sql`select contact_id from list_contacts where org_id = ${orgId}::uuid and list_id in (${uuidList(a.listIds)})`,
    );
  }
  if (a.tagIds?.length) {
    parts.push(
      sql`select contact_id from contact_tags where org_id = ${orgId}::uuid and tag_id in (${uuidList(a.tagIds)})`,
    );
  }
  if (a.contactIds?.length) {
    parts.push(
      sql`select id as contact_id from contacts where org_id = ${orgId}::uuid and id in (${uuidList(a.contactIds)})`,
    );
  }
  return parts.length ? sql.join(parts, sql` union all `) : null;
}

export interface AudienceSize {
  /** Distinct contacts that will receive it. */
  size: number;
  optedOut: number;
  duplicates: number;
}

export async function audienceSize(db: DbOrTx, orgId: string, a: BroadcastAudience): Promise<AudienceSize> {
  const refs = audienceRefs(orgId, a);
  if (!refs) return { size: 0, optedOut: 0, duplicates: 0 };
  const [r] = rowsOf(
    await db.execute(sql`
      with refs as (${refs})
      select count(*)::int as refs,
        count(distinct c.id)::int as distinct_contacts,
        count(distinct c.id) filter (where c.opted_out_at is not null)::int as opted_out
      from refs join contacts c on c.org_id = ${orgId}::uuid and c.id = refs.contact_id`),
  );
  const distinct = Number(r?.distinct_contacts ?? 0);
  const optedOut = Number(r?.opted_out ?? 0);
  return { size: distinct - optedOut, optedOut, duplicates: Number(r?.refs ?? 0) - distinct };
}

/** The SQL value of one variable for the contact `c` (null when it has none and no fallback). */
function sourceSql(s: VariableSource): SQL {
  const fb =
    "fallback" in s && s.fallback !== undefined && s.fallback !== "" ? sql`${s.fallback}::text` : sql`null::text`;
  if ("text" in s) return sql`${s.text}::text`;
  if ("attribute" in s) return sql`coalesce(nullif(btrim(c.attributes ->> ${s.attribute}::text), ''), ${fb})`;
  switch (s.field) {
    case "name":
      return sql`coalesce(nullif(btrim(c.name), ''), ${fb})`;
    case "first_name":
      return sql`coalesce(nullif(split_part(btrim(coalesce(c.name, '')), ' ', 1), ''), ${fb})`;
    case "phone":
      return sql`c.phone`;
  }
}

/** A contact's values for a mapping (the preview for one contact; the freeze does the same in SQL). */
async function valuesFor(
  db: DbOrTx,
  orgId: string,
  contactId: string,
  variables: Record<string, VariableSource>,
): Promise<{ values: TemplateVariables; missing: string[] } | null> {
  const keys = Object.keys(variables);
  const cols = keys.length
    ? sql.join(
        keys.map((k, i) => sql`${sourceSql(variables[k]!)} as ${sql.identifier(`v${i}`)}`),
        sql`, `,
      )
    : sql`1 as one`;
  const [r] = rowsOf(
    await db.execute(sql`select ${cols} from contacts c where c.org_id = ${orgId}::uuid and c.id = ${contactId}::uuid`),
  );
  if (!r) return null;
  const values: TemplateVariables = {};
  const missing: string[] = [];
  keys.forEach((k, i) => {
    const v = r[`v${i}`];
    if (v === null || v === undefined) missing.push(k);
    else values[k] = String(v);
  });
  return { values, missing };
}

// ---- read ----

async function countsOf(db: DbOrTx, orgId: string, ids: string[]): Promise<Map<string, BroadcastCounts>> {
  const out = new Map<string, BroadcastCounts>();
  if (!ids.length) return out;
  const res = rowsOf(
    await db.execute(sql`
      select broadcast_id, status, count(*)::int as n, count(replied_at)::int as replied
      from broadcast_recipients
      where org_id = ${orgId}::uuid and broadcast_id in (${uuidList(ids)})
      group by broadcast_id, status`),
  );
  for (const r of res) {
    const id = String(r.broadcast_id);
    const c = out.get(id) ?? emptyCounts();
    const n = Number(r.n);
    c.total += n;
    c.replied += Number(r.replied);
    switch (String(r.status)) {
      case "queued":
      case "sending":
        c.queued += n;
        break;
      case "sent":
        c.sent += n;
        break;
      case "delivered":
        c.sent += n;
        c.delivered += n;
        break;
      case "read":
        c.sent += n;
        c.delivered += n;
        c.read += n;
        break;
      case "failed":
        c.failed += n;
        break;
      case "cancelled":
        c.cancelled += n;
        break;
    }
    out.set(id, c);
  }
  return out;
}

async function toDtos(db: DbOrTx, orgId: string, rows: BroadcastRow[]): Promise<BroadcastDto[]> {
  const [counts, settings, templates] = await Promise.all([
    countsOf(
      db,
      orgId,
      rows.map((r) => r.id),
    ),
    getWorkspaceSettings(db, orgId),
    (async () => {
      const ids = [...new Set(rows.map((r) => r.templateId).filter((x): x is string => Boolean(x)))];
      if (!ids.length) return new Map<string, TemplateRow>();
      const ts = await db
        .select()
        .from(messageTemplates)
        .where(and(eq(messageTemplates.orgId, orgId), inArray(messageTemplates.id, ids)));
      return new Map(ts.map((t) => [t.id, t]));
    })(),
  ]);
  return rows.map((r) => {
    const t = r.templateId ? templates.get(r.templateId) : undefined;
    return {
      id: r.id,
      name: r.name,
      channelId: r.channelId,
      templateId: r.templateId,
      template: t ? { id: t.id, name: t.name, language: t.language, status: t.status } : null,
      variables: r.variables,
      audience: r.audience,
      scheduledAt: r.scheduledAt?.toISOString() ?? null,
      timezone: settings.timezone,
      status: r.status,
      statusReason: r.statusReason,
      version: r.version,
      counts: counts.get(r.id) ?? emptyCounts(),
      excluded: { optedOut: r.excludedOptedOut, duplicates: r.excludedDuplicates },
      createdByMemberId: r.createdByMemberId,
      updatedByMemberId: r.updatedByMemberId,
      sentByMemberId: r.sentByMemberId,
      startedAt: r.startedAt?.toISOString() ?? null,
      finishedAt: r.finishedAt?.toISOString() ?? null,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    };
  });
}

export async function getBroadcastRow(db: DbOrTx, orgId: string, id: string): Promise<BroadcastRow> {
  const [row] = await db
    .select()
    .from(broadcasts)
    .where(and(eq(broadcasts.orgId, orgId), eq(broadcasts.id, id)));
  if (!row) throw broadcastNotFound();
  return row;
}

export async function getBroadcast(db: DbOrTx, orgId: string, id: string) {
  const row = await getBroadcastRow(db, orgId, id);
  const [dto] = await toDtos(db, orgId, [row]);
  const reasons = rowsOf(
    await db.execute(sql`
      select error_code, error_title, count(*)::int as n from broadcast_recipients
      where org_id = ${orgId}::uuid and broadcast_id = ${id}::uuid and status = 'failed'
      group by error_code, error_title order by n desc limit 20`),
  ).map((r) => ({
    code: r.error_code === null ? null : Number(r.error_code),
    title: String(r.error_title ?? ""),
    count: Number(r.n),
  }));
  const audience = row.status === "draft" ? await audienceSize(db, orgId, row.audience) : null;
  return { ...dto!, failureReasons: reasons, audienceSize: audience };
}

const listCursor = z.object({ c: z.string().max(60), i: z.uuid() });

export async function listBroadcasts(
  db: DbOrTx,
  orgId: string,
  q: { status?: BroadcastStatus | undefined; cursor?: string | undefined; limit: number },
): Promise<{ items: BroadcastDto[]; nextCursor: string | null }> {
  const after = decodeCursor(q.cursor, listCursor);
  const rows = await db
    .select()
    .from(broadcasts)
    .where(
      and(
        eq(broadcasts.orgId, orgId),
        q.status ? eq(broadcasts.status, q.status) : undefined,
        after
          ? or(
              lt(broadcasts.createdAt, new Date(after.c)),
              and(eq(broadcasts.createdAt, new Date(after.c)), lt(broadcasts.id, after.i)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(broadcasts.createdAt), desc(broadcasts.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: await toDtos(db, orgId, page),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ c: last.createdAt.toISOString(), i: last.id }) : null,
  };
}

// ---- write (drafts) ----

async function resolveSchedule(db: DbOrTx, orgId: string, s: string | null | undefined): Promise<Date | null> {
  if (!s) return null;
  const settings = await getWorkspaceSettings(db, orgId);
  const at = zonedToUtc(s, settings.timezone);
  if (!at)
    throw badRequest("invalid_schedule", "That date and time does not exist.", [
      field("scheduledAt", "Not a real time."),
    ]);
  return at;
}

function normalAudience(a: AudienceInput): BroadcastAudience {
  const uniq = (x?: string[]) => (x?.length ? [...new Set(x)] : undefined);
  const out: BroadcastAudience = {};
  const l = uniq(a.listIds);
  const t = uniq(a.tagIds);
  const c = uniq(a.contactIds);
  if (l) out.listIds = l;
  if (t) out.tagIds = t;
  if (c) out.contactIds = c;
  return out;
}

export async function createBroadcast(ctx: AppContext, actor: Acting, by: Actor, input: CreateBroadcastInput) {
  const channel = await getChannel(ctx.db, actor.orgId, input.channelId);
  if (!channel)
    throw badRequest("unknown_channel", "No such channel in this organization.", [
      field("channelId", "Unknown channel."),
    ]);
  const template = await templateOr400(ctx.db, actor.orgId, input.templateId, channel.id);
  checkVariables(template, input.variables, false);
  await checkAudience(ctx.db, actor.orgId, input.audience);
  const scheduledAt = await resolveSchedule(ctx.db, actor.orgId, input.scheduledAt);
  const row = await ctx.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(broadcasts)
      .values({
        orgId: actor.orgId,
        name: input.name,
        channelId: channel.id,
        templateId: template.id,
        variables: input.variables as Record<string, VariableSource>,
        audience: normalAudience(input.audience),
        scheduledAt,
        createdByMemberId: actor.memberId,
        updatedByMemberId: actor.memberId,
      })
      .returning();
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "broadcast.created",
      target: { type: "broadcast", id: created!.id, label: created!.name },
      changes: asCreated({ name: created!.name, channelId: channel.id, templateId: template.id }),
    });
    return created!;
  });
  return getBroadcast(ctx.db, actor.orgId, row.id);
}

const notDraft = (status: string) =>
  conflict("broadcast_not_draft", `The broadcast is ${status}: only a draft can be edited or deleted.`, { status });

export async function updateBroadcast(
  ctx: AppContext,
  actor: Acting,
  by: Actor,
  id: string,
  input: UpdateBroadcastInput,
) {
  const row = await getBroadcastRow(ctx.db, actor.orgId, id);
  if (row.status !== "draft") throw notDraft(row.status);
  if (input.version !== undefined && input.version !== row.version) {
    throw conflict("broadcast_changed", "Someone else changed this broadcast; reload it.");
  }
  const channelId = input.channelId ?? row.channelId;
  if (input.channelId && !(await getChannel(ctx.db, actor.orgId, input.channelId))) {
    throw badRequest("unknown_channel", "No such channel in this organization.", [
      field("channelId", "Unknown channel."),
    ]);
  }
  const templateId = input.templateId ?? row.templateId;
  if (!templateId) throw badRequest("unknown_template", "Pick a template.", [field("templateId", "Required.")]);
  const template = await templateOr400(ctx.db, actor.orgId, templateId, channelId);
  // A new template invalidates the old mapping unless a new one comes with it.
  const variables = (input.variables ??
    (input.templateId && input.templateId !== row.templateId ? {} : row.variables)) as Record<string, VariableSource>;
  checkVariables(template, variables as Record<string, VariableSourceInput>, false);
  if (input.audience) await checkAudience(ctx.db, actor.orgId, input.audience);
  const scheduledAt =
    input.scheduledAt === undefined ? row.scheduledAt : await resolveSchedule(ctx.db, actor.orgId, input.scheduledAt);
  const next = {
    name: input.name ?? row.name,
    channelId,
    templateId: template.id,
    variables,
    audience: input.audience ? normalAudience(input.audience) : row.audience,
    scheduledAt,
  };
  return ctx.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(broadcasts)
      .set({
        ...next,
        updatedByMemberId: actor.memberId,
        version: sql`${broadcasts.version} + 1`,
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(broadcasts.orgId, actor.orgId),
          eq(broadcasts.id, id),
          eq(broadcasts.status, "draft"),
          eq(broadcasts.version, row.version),
        ),
      )
      .returning();
    if (!updated) throw conflict("broadcast_changed", "Someone else changed this broadcast; reload it.");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "broadcast.updated",
      target: { type: "broadcast", id, label: updated.name },
      changes: diff(
        {
          name: row.name,
          channelId: row.channelId,
          templateId: row.templateId,
          variables: row.variables,
          audience: row.audience,
          scheduledAt: row.scheduledAt?.toISOString() ?? null,
        },
        { ...next, scheduledAt: next.scheduledAt?.toISOString() ?? null },
      ),
    });
    return getBroadcast(tx, actor.orgId, id);
  });
}

export async function deleteBroadcast(ctx: AppContext, actor: Acting, by: Actor, id: string): Promise<void> {
  const row = await getBroadcastRow(ctx.db, actor.orgId, id);
  if (row.status !== "draft") throw notDraft(row.status);
  await ctx.db.transaction(async (tx) => {
    const [gone] = await tx
      .delete(broadcasts)
      .where(and(eq(broadcasts.orgId, actor.orgId), eq(broadcasts.id, id), eq(broadcasts.status, "draft")))
      .returning({ id: broadcasts.id });
    if (!gone) throw notDraft("no longer a draft");
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "broadcast.deleted",
      target: { type: "broadcast", id, label: row.name },
    });
  });
}

// ---- audience and preview (before sending) ----

export async function audienceOf(ctx: AppContext, orgId: string, a: AudienceInput): Promise<AudienceSize> {
  await checkAudience(ctx.db, orgId, a);
  return audienceSize(ctx.db, orgId, normalAudience(a));
}

export async function previewFor(
  ctx: AppContext,
  orgId: string,
  input: { templateId: string; variables: Record<string, VariableSourceInput>; contactId: string },
): Promise<TemplatePreview & { values: TemplateVariables; missing: string[]; optedOut: boolean }> {
  const [t] = await ctx.db
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, input.templateId)));
  if (!t)
    throw badRequest("unknown_template", "No such template in this organization.", [
      field("templateId", "Unknown template."),
    ]);
  checkVariables(t, input.variables, false);
  const [contact] = await ctx.db
    .select({ optedOutAt: contacts.optedOutAt })
    .from(contacts)
    .where(and(eq(contacts.orgId, orgId), eq(contacts.id, input.contactId)));
  const v = contact
    ? await valuesFor(ctx.db, orgId, input.contactId, input.variables as Record<string, VariableSource>)
    : null;
  if (!contact || !v)
    throw badRequest("unknown_contact", "No such contact in this organization.", [
      field("contactId", "Unknown contact."),
    ]);
  const { required } = templateVariableKeys(t);
  const missing = [...new Set([...v.missing, ...required.filter((k) => !input.variables[k])])];
  return {
    ...renderPreview(asTemplate(t), v.values),
    values: v.values,
    missing,
    optedOut: contact.optedOutAt !== null,
  };
}

// ---- transitions ----

type Transition = "send" | "schedule" | "pause" | "resume" | "cancel";

const FROM: Record<Transition, BroadcastStatus[]> = {
  send: ["draft", "scheduled"],
  schedule: ["draft"],
  pause: ["sending", "scheduled"],
  resume: ["paused"],
  cancel: ["scheduled", "sending", "paused"],
};

const cannot = (what: string, status: string) =>
  conflict("broadcast_state_conflict", `A ${status} broadcast cannot be ${what}.`, { status });

/** Contacts frozen per statement: each stays far below the statement timeout at any audience size. */
export const FREEZE_CHUNK = 5_000;

/**
 * Freezes the audience into recipient rows (opted-out contacts left out, each contact once), with
 * each variable's value rendered; a recipient without a value for a variable (no fallback) is
 * `failed` at once with the reason. One INSERT … SELECT per FREEZE_CHUNK contacts in contact id
 * order (keyset): a 100,000-contact audience is 20 short statements, not one that outlasts the
 * statement timeout. Idempotent (a contact already frozen is skipped), so a retried job is safe.
 */
export async function freezeAudience(
  tx: DbOrTx,
  row: BroadcastRow,
  chunk = FREEZE_CHUNK,
): Promise<{ inserted: number; optedOut: number; duplicates: number }> {
  const size = await audienceSize(tx, row.orgId, row.audience);
  const refs = audienceRefs(row.orgId, row.audience);
  if (!refs) return { inserted: 0, optedOut: size.optedOut, duplicates: size.duplicates };
  const keys = Object.keys(row.variables);
  const obj = keys.length
    ? sql`jsonb_strip_nulls(jsonb_build_object(${sql.join(
        keys.map((k) => sql`${k}::text, ${sourceSql(row.variables[k]!)}`),
        sql`, `,
      )}))`
    : sql`'{}'::jsonb`;
  const missing = keys.length
    ? sql`concat_ws(', ', ${sql.join(
        keys.map((k) => sql`case when ${sourceSql(row.variables[k]!)} is null then ${k}::text end`),
        sql`, `,
      )})`
    : sql`''`;
  let inserted = 0;
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const [r] = rowsOf(
      await tx.execute(sql`
        with refs as (${refs}),
        part as (
          select c.* from contacts c
          where c.org_id = ${row.orgId}::uuid and c.opted_out_at is null and c.id > ${after}::uuid
            and c.id in (select contact_id from refs)
          order by c.id limit ${chunk}
        ),
        ins as (
          insert into broadcast_recipients (org_id, broadcast_id, channel_id, contact_id, recipient, contact_name, variables, status, error_title, failed_at)
          select ${row.orgId}::uuid, ${row.id}::uuid, ${row.channelId}::uuid, c.id,
            coalesce(c.wa_id, ltrim(c.phone, '+')), c.name, ${obj},
            case when ${missing} = '' then 'queued' else 'failed' end,
            case when ${missing} = '' then null else 'No value for ' || ${missing} end,
            case when ${missing} = '' then null else now() end
          from part c
          order by c.id
          on conflict do nothing
          returning 1
        )
        select (select count(*) from part)::int as taken, (select max(id::text) from part) as last,
          (select count(*) from ins)::int as inserted`),
    );
    inserted += Number(r?.inserted ?? 0);
    if (!r || Number(r.taken) < chunk || !r.last) break;
    after = String(r.last);
  }
  return { inserted, optedOut: size.optedOut, duplicates: size.duplicates };
}

/** Compare-and-set of the status; null when the row is not in one of `from` any more. */
async function casStatus(
  tx: DbOrTx,
  orgId: string,
  id: string,
  from: BroadcastStatus[],
  set: Partial<typeof broadcasts.$inferInsert> & { status: BroadcastStatus },
): Promise<BroadcastRow | null> {
  const [row] = await tx
    .update(broadcasts)
    .set({ ...set, version: sql`${broadcasts.version} + 1`, updatedAt: new Date() })
    .where(and(eq(broadcasts.orgId, orgId), eq(broadcasts.id, id), inArray(broadcasts.status, from)))
    .returning();
  return row ?? null;
}

/** `POST /send`: now (freeze + job) or at `scheduledAt` (the job starts then and freezes). */
export async function sendBroadcast(
  ctx: AppContext,
  actor: Acting,
  by: Actor,
  id: string,
  input: { scheduledAt?: string | null | undefined },
) {
  const row = await getBroadcastRow(ctx.db, actor.orgId, id);
  if (row.status !== "draft") throw cannot("sent", row.status);
  if (!row.templateId) throw badRequest("unknown_template", "Pick a template.", [field("templateId", "Required.")]);
  const template = await templateOr400(ctx.db, actor.orgId, row.templateId, row.channelId);
  checkVariables(template, row.variables as Record<string, VariableSourceInput>, true);
  const scheduledAt =
    input.scheduledAt !== undefined ? await resolveSchedule(ctx.db, actor.orgId, input.scheduledAt) : row.scheduledAt;
  const later = scheduledAt && scheduledAt.getTime() > Date.now() + 1000;
  // An audience larger than one freeze statement is frozen by the job, not in this request: the
  // broadcast is scheduled for now and its job starts at once (design decision in docs/decisions.md).
  let handOff = false;
  if (!later) {
    const size = await audienceSize(ctx.db, actor.orgId, row.audience);
    if (size.size === 0)
      throw conflict(
        "broadcast_audience_empty",
        "Nobody would receive this broadcast.",
        size as unknown as Record<string, unknown>,
      );
    handOff = size.size > FREEZE_CHUNK;
  }
  await ctx.db.transaction(async (tx) => {
    const moved = await casStatus(tx, actor.orgId, id, ["draft"], {
      status: later || handOff ? "scheduled" : "sending",
      scheduledAt: later ? scheduledAt : handOff ? new Date() : row.scheduledAt,
      sentByMemberId: actor.memberId,
      statusReason: null,
      ...(later || handOff ? {} : { startedAt: new Date() }),
    });
    if (!moved) throw cannot("sent", "no longer draft");
    if (handOff) {
      await ctx.jobs.enqueue(tx, broadcastSendJob, { orgId: actor.orgId, broadcastId: id });
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "broadcast.sent",
        target: { type: "broadcast", id, label: row.name },
        // The job freezes the audience a moment later and records broadcast.started with the counts.
        changes: { status: { before: "draft", after: "scheduled" } },
      });
    } else if (later) {
      await ctx.jobs.enqueue(
        tx,
        broadcastSendJob,
        { orgId: actor.orgId, broadcastId: id },
        { startAfter: scheduledAt },
      );
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "broadcast.scheduled",
        target: { type: "broadcast", id, label: row.name },
        changes: { status: { before: "draft", after: "scheduled" }, scheduledAt: { after: scheduledAt.toISOString() } },
      });
    } else {
      const frozen = await freezeAudience(tx, moved);
      await tx
        .update(broadcasts)
        .set({ excludedOptedOut: frozen.optedOut, excludedDuplicates: frozen.duplicates })
        .where(and(eq(broadcasts.orgId, actor.orgId), eq(broadcasts.id, id)));
      await ctx.jobs.enqueue(tx, broadcastSendJob, { orgId: actor.orgId, broadcastId: id });
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "broadcast.sent",
        target: { type: "broadcast", id, label: row.name },
        changes: {
          status: { before: "draft", after: "sending" },
          recipients: { after: frozen.inserted },
          excludedOptedOut: { after: frozen.optedOut },
          excludedDuplicates: { after: frozen.duplicates },
        },
      });
    }
  });
  return getBroadcast(ctx.db, actor.orgId, id);
}

export async function pauseBroadcast(ctx: AppContext, actor: Acting, by: Actor, id: string) {
  return simpleTransition(ctx, actor, by, id, "pause", "paused", "broadcast.paused");
}

export async function resumeBroadcast(ctx: AppContext, actor: Acting, by: Actor, id: string) {
  const row = await getBroadcastRow(ctx.db, actor.orgId, id);
  if (row.status === "paused" && row.templateId) {
    const [t] = await ctx.db
      .select({ status: messageTemplates.status })
      .from(messageTemplates)
      .where(and(eq(messageTemplates.orgId, actor.orgId), eq(messageTemplates.id, row.templateId)));
    if (t?.status !== "APPROVED") {
      throw conflict("template_not_approved", `The template is ${t?.status ?? "gone"}: the broadcast cannot resume.`);
    }
  }
  return simpleTransition(ctx, actor, by, id, "resume", "sending", "broadcast.resumed");
}

export async function cancelBroadcast(ctx: AppContext, actor: Acting, by: Actor, id: string) {
  return simpleTransition(ctx, actor, by, id, "cancel", "cancelled", "broadcast.cancelled");
}

async function simpleTransition(
  ctx: AppContext,
  actor: Acting,
  by: Actor,
  id: string,
  t: Transition,
  to: BroadcastStatus,
  action: string,
) {
  const row = await getBroadcastRow(ctx.db, actor.orgId, id);
  if (!FROM[t].includes(row.status)) throw cannot(`${t === "cancel" ? "cancelled" : `${t}d`}`, row.status);
  // A broadcast paused before it started (scheduled, or handed to the job) has no recipients yet
  // (`startedAt` is set when the audience is frozen): resuming it schedules it again, so the job
  // freezes the audience first, at its time or now.
  const unfrozen = to === "sending" && !row.startedAt;
  const at = unfrozen ? new Date(Math.max(row.scheduledAt?.getTime() ?? 0, Date.now())) : null;
  if (unfrozen) to = "scheduled";
  await ctx.db.transaction(async (tx) => {
    const moved = await casStatus(tx, actor.orgId, id, FROM[t], {
      status: to,
      statusReason: null,
      ...(to === "cancelled" ? { finishedAt: new Date(), leaseOwner: null, leaseUntil: null } : {}),
      ...(at ? { scheduledAt: at } : {}),
    });
    if (!moved) throw cannot(`${t}d`, "changed meanwhile");
    if (at) {
      await ctx.jobs.enqueue(
        tx,
        broadcastSendJob,
        { orgId: actor.orgId, broadcastId: id },
        at.getTime() > Date.now() + 1000 ? { startAfter: at } : {},
      );
    }
    if (to === "cancelled") {
      await tx.execute(sql`
        update broadcast_recipients set status = 'cancelled'
        where org_id = ${actor.orgId}::uuid and broadcast_id = ${id}::uuid and status = 'queued'`);
    }
    if (to === "sending") {
      await ctx.jobs.enqueue(tx, broadcastSendJob, { orgId: actor.orgId, broadcastId: id });
    }
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action,
      target: { type: "broadcast", id, label: row.name },
      changes: { status: { before: moved.status === to ? row.status : row.status, after: to } },
    });
  });
  return getBroadcast(ctx.db, actor.orgId, id);
}

// ---- recipients, export, timeline ----

const recipientCursor = z.object({ s: z.number().int() });

export interface RecipientDto {
  id: string;
  contactId: string;
  recipient: string;
  contactName: string | null;
  variables: Record<string, string>;
  status: RecipientStatus;
  wamid: string | null;
  errorCode: number | null;
  errorTitle: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
  failedAt: string | null;
  repliedAt: string | null;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const recipientDto = (r: typeof broadcastRecipients.$inferSelect): RecipientDto => ({
  id: r.id,
  contactId: r.contactId,
  recipient: r.recipient,
  contactName: r.contactName,
  variables: r.variables,
  status: r.status,
  wamid: r.wamid,
  errorCode: r.errorCode,
  errorTitle: r.errorTitle,
  sentAt: iso(r.sentAt),
  deliveredAt: iso(r.deliveredAt),
  readAt: iso(r.readAt),
  failedAt: iso(r.failedAt),
  repliedAt: iso(r.repliedAt),
});

export async function listRecipients(
  db: DbOrTx,
  orgId: string,
  id: string,
  q: { status?: string | undefined; cursor?: string | undefined; limit: number },
) {
  await getBroadcastRow(db, orgId, id);
  const after = decodeCursor(q.cursor, recipientCursor);
  const rows = await db
    .select()
    .from(broadcastRecipients)
    .where(
      and(
        eq(broadcastRecipients.orgId, orgId),
        eq(broadcastRecipients.broadcastId, id),
        q.status ? eq(broadcastRecipients.status, q.status as never) : undefined,
        after ? sql`${broadcastRecipients.seq} > ${after.s}` : undefined,
      ),
    )
    .orderBy(broadcastRecipients.seq)
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(recipientDto),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ s: last.seq }) : null,
  };
}

/** Every recipient in pages of 1,000 (the CSV export). */
export async function* recipientBatches(db: DbOrTx, orgId: string, id: string) {
  let after = -1;
  for (;;) {
    const rows = await db
      .select()
      .from(broadcastRecipients)
      .where(
        and(
          eq(broadcastRecipients.orgId, orgId),
          eq(broadcastRecipients.broadcastId, id),
          sql`${broadcastRecipients.seq} > ${after}`,
        ),
      )
      .orderBy(broadcastRecipients.seq)
      .limit(1000);
    if (!rows.length) return;
    yield rows;
    after = rows.at(-1)!.seq;
  }
}

export async function timelineOf(db: DbOrTx, orgId: string, id: string) {
  await getBroadcastRow(db, orgId, id);
  const rows = await db
    .select()
    .from(activity)
    .where(and(eq(activity.orgId, orgId), eq(activity.targetType, "broadcast"), eq(activity.targetId, id)))
    .orderBy(desc(activity.at), desc(activity.id))
    .limit(200);
  return {
    items: rows.map((r) => ({
      id: String(r.id),
      action: r.action,
      actorType: r.actorType,
      actorId: r.actorId,
      actorName: r.actorName,
      changes: r.changes,
      at: r.at.toISOString(),
    })),
  };
}
