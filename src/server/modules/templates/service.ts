import { and, asc, eq, gt, ilike, or, sql } from "drizzle-orm";
import { z } from "zod";
import {
  type CreateTemplateInput,
  metaTemplateBody,
  type TemplateCategory,
  type TemplateComponent,
  type TemplateStatus,
  templateComponentSchema,
  type UpdateTemplateInput,
} from "../../../shared/schemas/templates.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import { pgCode } from "../../db/pg-errors.js";
import { messageTemplates } from "../../db/schema/index.js";
import { decodeCursor, encodeCursor } from "../../http/cursor.js";
import { AppError, badRequest, conflict, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { asCreated, diff, recordActivity } from "../activity/record.js";
import { type ChannelRow, getChannel, graphTargetOf } from "../channels/repo.js";
import { GraphError } from "../whatsapp/graph-client.js";
import { whatsappOf } from "../whatsapp/runtime.js";
import type { TemplateLike } from "./render.js";

export type TemplateRow = typeof messageTemplates.$inferSelect;
type Acting = Pick<OrgMember, "orgId" | "memberId">;

export interface TemplateDto {
  id: string;
  channelId: string;
  wabaId: string;
  name: string;
  language: string;
  category: TemplateCategory;
  parameterFormat: "POSITIONAL" | "NAMED";
  components: TemplateComponent[];
  status: TemplateStatus;
  rejectionReason: string | null;
  metaId: string | null;
  createdByMemberId: string | null;
  updatedByMemberId: string | null;
  createdAt: string;
  updatedAt: string;
}

export const templateDto = (r: TemplateRow): TemplateDto => ({
  id: r.id,
  channelId: r.channelId,
  wabaId: r.wabaId,
  name: r.name,
  language: r.language,
  category: r.category,
  parameterFormat: r.parameterFormat,
  components: r.components as TemplateComponent[],
  status: r.status,
  rejectionReason: r.rejectionReason,
  metaId: r.metaId,
  createdByMemberId: r.createdByMemberId,
  updatedByMemberId: r.updatedByMemberId,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

export const asTemplate = (r: TemplateRow): TemplateLike => ({
  name: r.name,
  language: r.language,
  category: r.category,
  parameterFormat: r.parameterFormat,
  components: r.components as TemplateComponent[],
});

const templateNotFound = () => notFound("template", "template_not_found");
const templateExists = (name: string, language: string) =>
  conflict("template_exists", `A template "${name}" in ${language} already exists on this WhatsApp Business Account.`, {
    field: "name",
  });

/** Meta's statuses and events → ours (PENDING_DELETION is gone for sending: DISABLED). */
export function statusOf(event: string): TemplateStatus | null {
  switch (event.toUpperCase()) {
    case "APPROVED":
    case "REINSTATED":
      return "APPROVED";
    case "REJECTED":
      return "REJECTED";
    case "PAUSED":
      return "PAUSED";
    case "DISABLED":
    case "PENDING_DELETION":
    case "DELETED":
      return "DISABLED";
    case "PENDING":
    case "IN_APPEAL":
      return "PENDING";
    default:
      return null;
  }
}

/** Meta's reason `NONE` means no reason. */
const reasonOf = (r: unknown): string | null =>
  typeof r === "string" && r && r.toUpperCase() !== "NONE" ? r.slice(0, 500) : null;

/** A Graph failure as our problem: Meta's refusal is a 422 with its words, the rest a 502. */
function graphProblem(err: GraphError): AppError {
  if (err.retryable) {
    return new AppError(502, "graph_unavailable", `The WhatsApp Cloud API did not answer: ${err.title}.`);
  }
  if (err.subcode === 2388024)
    return conflict("template_exists", "Meta already has a template with this name and language.");
  return new AppError(422, "template_refused_by_meta", `Meta refused the template: ${err.details ?? err.title}`, {
    metaCode: err.code,
    ...(err.subcode !== null ? { metaSubcode: err.subcode } : {}),
  });
}

async function channelOr400(ctx: AppContext, orgId: string, channelId: string): Promise<ChannelRow> {
  const channel = await getChannel(ctx.db, orgId, channelId);
  if (!channel) {
    throw badRequest("unknown_channel", `No such channel in this organization: ${channelId}.`, [
      { path: "channelId", message: "Unknown channel.", in: "body" },
    ]);
  }
  return channel;
}

export async function getTemplate(db: DbOrTx, orgId: string, id: string): Promise<TemplateRow> {
  const [row] = await db
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, id)));
  if (!row) throw templateNotFound();
  return row;
}

const cursorSchema = z.object({ n: z.string().max(600), i: z.uuid() });

export async function listTemplates(
  db: DbOrTx,
  orgId: string,
  q: { channelId?: string; status?: TemplateStatus; q?: string; cursor?: string; limit: number },
): Promise<{ items: TemplateDto[]; nextCursor: string | null }> {
  const after = decodeCursor(q.cursor, cursorSchema);
  const rows = await db
    .select()
    .from(messageTemplates)
    .where(
      and(
        eq(messageTemplates.orgId, orgId),
        q.channelId ? eq(messageTemplates.channelId, q.channelId) : undefined,
        q.status ? eq(messageTemplates.status, q.status) : undefined,
        q.q ? ilike(messageTemplates.name, `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : undefined,
        after
          ? or(
              gt(messageTemplates.name, after.n),
              and(eq(messageTemplates.name, after.n), gt(messageTemplates.id, after.i)),
            )
          : undefined,
      ),
    )
    .orderBy(asc(messageTemplates.name), asc(messageTemplates.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(templateDto),
    nextCursor: rows.length > q.limit && last ? encodeCursor({ n: last.name, i: last.id }) : null,
  };
}

/** The body Meta receives at `/{wabaId}/message_templates`. */
function metaBody(t: Pick<TemplateRow, "name" | "language" | "category" | "parameterFormat" | "components">) {
  return {
    name: t.name,
    language: t.language,
    category: t.category,
    ...(t.parameterFormat === "NAMED" ? { parameter_format: "NAMED" } : {}),
    components: t.components,
  };
}

/**
 * Created only once Meta has accepted it (inline, bounded by WA_HTTP_TIMEOUT_MS): the caller
 * learns of Meta's refusal at once and no half-submitted row exists.
 */
export async function createTemplate(
  ctx: AppContext,
  actor: Acting,
  by: Actor,
  input: CreateTemplateInput,
): Promise<TemplateDto> {
  const channel = await channelOr400(ctx, actor.orgId, input.channelId);
  const [existing] = await ctx.db
    .select({ id: messageTemplates.id })
    .from(messageTemplates)
    .where(
      and(
        eq(messageTemplates.orgId, actor.orgId),
        eq(messageTemplates.wabaId, channel.wabaId),
        eq(messageTemplates.name, input.name),
        eq(messageTemplates.language, input.language),
      ),
    );
  if (existing) throw templateExists(input.name, input.language);
  const fields = {
    name: input.name,
    language: input.language,
    category: input.category,
    parameterFormat: input.parameterFormat,
    components: input.components as Record<string, unknown>[],
  };
  let meta: { id: string; status: string; category: string | null };
  try {
    meta = await whatsappOf(ctx).graph.createTemplate(
      graphTargetOf(ctx.config, channel),
      channel.wabaId,
      metaBody(fields),
    );
  } catch (err) {
    if (err instanceof GraphError) throw graphProblem(err);
    throw err;
  }
  try {
    return await ctx.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(messageTemplates)
        .values({
          orgId: actor.orgId,
          channelId: channel.id,
          wabaId: channel.wabaId,
          ...fields,
          // Meta may move the category (allow_category_change); its answer wins.
          ...(meta.category && ["MARKETING", "UTILITY", "AUTHENTICATION"].includes(meta.category)
            ? { category: meta.category as TemplateCategory }
            : {}),
          status: statusOf(meta.status) ?? "PENDING",
          metaId: meta.id,
          createdByMemberId: actor.memberId,
          updatedByMemberId: actor.memberId,
        })
        .returning();
      await recordActivity(tx, by, {
        orgId: actor.orgId,
        action: "template.created",
        target: { type: "template", id: row!.id, label: `${row!.name} (${row!.language})` },
        changes: asCreated({
          channelId: row!.channelId,
          name: row!.name,
          language: row!.language,
          category: row!.category,
          status: row!.status,
          metaId: row!.metaId,
        }),
      });
      return templateDto(row!);
    });
  } catch (err) {
    if (pgCode(err) === "23505") throw templateExists(input.name, input.language);
    if (pgCode(err) === "23503") throw badRequest("unknown_channel", "The channel no longer exists.");
    throw err;
  }
}

const DAY_MS = 86_400_000;

/**
 * Meta's edit rules: not while in review (PENDING) nor once DISABLED; an APPROVED template keeps
 * its category and is edited at most once per 24 hours. An edit goes back to review (PENDING).
 */
export async function updateTemplate(
  ctx: AppContext,
  actor: Acting,
  by: Actor,
  id: string,
  input: UpdateTemplateInput,
): Promise<TemplateDto> {
  const row = await getTemplate(ctx.db, actor.orgId, id);
  if (row.status === "PENDING") {
    throw conflict("template_in_review", "Meta is reviewing this template; edit it once it is approved or rejected.");
  }
  if (row.status === "DISABLED")
    throw conflict("template_disabled", "Meta disabled this template; it cannot be edited.");
  if (row.status === "APPROVED" && input.category && input.category !== row.category) {
    throw badRequest("validation_failed", "The request body is invalid.", [
      { path: "category", message: "An approved template keeps its category.", in: "body" },
    ]);
  }
  if (row.status === "APPROVED" && row.metaEditedAt && Date.now() - row.metaEditedAt.getTime() < DAY_MS) {
    throw conflict("template_edit_limit", "Meta allows one edit of an approved template per 24 hours.");
  }
  const next = {
    name: row.name,
    language: row.language,
    category: input.category ?? row.category,
    parameterFormat: input.parameterFormat ?? row.parameterFormat,
    components: (input.components ?? row.components) as TemplateComponent[],
  };
  const checked = metaTemplateBody.safeParse({ ...metaBody(next), parameter_format: next.parameterFormat });
  if (!checked.success) {
    throw badRequest(
      "validation_failed",
      "The request body is invalid.",
      checked.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message, in: "body" })),
    );
  }
  const changes = diff(
    { category: row.category, parameterFormat: row.parameterFormat, components: row.components },
    { category: input.category, parameterFormat: input.parameterFormat, components: input.components },
  );
  if (!changes) return templateDto(row);
  const channel = await getChannel(ctx.db, actor.orgId, row.channelId);
  if (!channel) throw templateNotFound();
  if (row.metaId) {
    try {
      await whatsappOf(ctx).graph.editTemplate(graphTargetOf(ctx.config, channel), row.metaId, {
        ...(input.category && input.category !== row.category ? { category: input.category } : {}),
        ...(next.parameterFormat === "NAMED" ? { parameter_format: "NAMED" } : {}),
        components: next.components,
      });
    } catch (err) {
      if (err instanceof GraphError) throw graphProblem(err);
      throw err;
    }
  }
  return ctx.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(messageTemplates)
      .set({
        category: next.category,
        parameterFormat: next.parameterFormat,
        components: next.components as Record<string, unknown>[],
        status: "PENDING",
        rejectionReason: null,
        metaEditedAt: sql`now()`,
        updatedByMemberId: actor.memberId,
        updatedAt: sql`now()`,
      })
      .where(and(eq(messageTemplates.orgId, actor.orgId), eq(messageTemplates.id, id)))
      .returning();
    if (!updated) throw templateNotFound();
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "template.updated",
      target: { type: "template", id, label: `${updated.name} (${updated.language})` },
      changes: { ...changes, status: { before: row.status, after: "PENDING" } },
    });
    return templateDto(updated);
  });
}

/** Deleted at Meta (`hsm_id` narrows the name to this language), then here. Gone at Meta already is fine. */
export async function deleteTemplate(ctx: AppContext, actor: Acting, by: Actor, id: string): Promise<void> {
  const row = await getTemplate(ctx.db, actor.orgId, id);
  const channel = await getChannel(ctx.db, actor.orgId, row.channelId);
  if (channel && row.metaId) {
    try {
      await whatsappOf(ctx).graph.deleteTemplate(graphTargetOf(ctx.config, channel), row.wabaId, row.name, row.metaId);
    } catch (err) {
      if (!(err instanceof GraphError)) throw err;
      const gone = err.code === 100 && /not (be )?found|does not exist/i.test(`${err.title} ${err.details ?? ""}`);
      if (!gone) throw graphProblem(err);
    }
  }
  await ctx.db.transaction(async (tx) => {
    const [deleted] = await tx
      .delete(messageTemplates)
      .where(and(eq(messageTemplates.orgId, actor.orgId), eq(messageTemplates.id, id)))
      .returning();
    if (!deleted) throw templateNotFound();
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "template.deleted",
      target: { type: "template", id, label: `${deleted.name} (${deleted.language})` },
      changes: {
        name: { before: deleted.name },
        language: { before: deleted.language },
        status: { before: deleted.status },
      },
    });
  });
}

/** JSON with sorted keys: jsonb gives keys back in its own order, so compare canonically. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/** At most this many pages of 100 per sync (10,000 templates; Meta's cap per WABA is 6,000). */
const MAX_SYNC_PAGES = 100;

/** Pulls every template of the channel's WABA from Meta and upserts them (status, category, components). */
export async function syncTemplates(
  ctx: AppContext,
  actor: Acting,
  by: Actor,
  channelId: string,
): Promise<{ created: number; updated: number; unchanged: number; skipped: number }> {
  const channel = await channelOr400(ctx, actor.orgId, channelId);
  const target = graphTargetOf(ctx.config, channel);
  const remote: Record<string, unknown>[] = [];
  try {
    let after: string | null = null;
    for (let page = 0; page < MAX_SYNC_PAGES; page++) {
      const res = await whatsappOf(ctx).graph.listTemplates(target, channel.wabaId, after);
      remote.push(...res.data);
      if (!res.after) break;
      after = res.after;
    }
  } catch (err) {
    if (err instanceof GraphError) throw graphProblem(err);
    throw err;
  }
  const counts = { created: 0, updated: 0, unchanged: 0, skipped: 0 };
  const itemSchema = z.object({
    id: z.union([z.string(), z.number()]).transform(String),
    name: z.string().regex(/^[a-z0-9_]{1,512}$/),
    language: z.string().min(2).max(15),
    status: z.string(),
    category: z.enum(["MARKETING", "UTILITY", "AUTHENTICATION"]),
    parameter_format: z.enum(["POSITIONAL", "NAMED"]).optional(),
    components: z.array(templateComponentSchema).max(4).default([]),
    rejected_reason: z.string().nullable().optional(),
  });
  await ctx.db.transaction(async (tx) => {
    for (const raw of remote) {
      const parsed = itemSchema.safeParse(raw);
      const status = parsed.success ? statusOf(parsed.data.status) : null;
      if (!parsed.success || !status) {
        counts.skipped++;
        continue;
      }
      const t = parsed.data;
      const values = {
        category: t.category,
        parameterFormat: t.parameter_format ?? ("POSITIONAL" as const),
        components: t.components as Record<string, unknown>[],
        status,
        rejectionReason: status === "REJECTED" ? reasonOf(t.rejected_reason) : null,
        metaId: t.id,
      };
      const [row] = await tx
        .select()
        .from(messageTemplates)
        .where(
          and(
            eq(messageTemplates.orgId, actor.orgId),
            eq(messageTemplates.wabaId, channel.wabaId),
            eq(messageTemplates.name, t.name),
            eq(messageTemplates.language, t.language),
          ),
        )
        .for("update");
      if (!row) {
        await tx.insert(messageTemplates).values({
          orgId: actor.orgId,
          channelId: channel.id,
          wabaId: channel.wabaId,
          name: t.name,
          language: t.language,
          ...values,
          createdByMemberId: actor.memberId,
          updatedByMemberId: actor.memberId,
        });
        counts.created++;
        continue;
      }
      const changes = diff(
        {
          category: row.category,
          parameterFormat: row.parameterFormat,
          components: canonical(row.components) === canonical(values.components) ? values.components : row.components,
          status: row.status,
          rejectionReason: row.rejectionReason,
          metaId: row.metaId,
        },
        values,
      );
      if (!changes) {
        counts.unchanged++;
        continue;
      }
      await tx
        .update(messageTemplates)
        .set({ ...values, updatedAt: sql`now()` })
        .where(and(eq(messageTemplates.orgId, actor.orgId), eq(messageTemplates.id, row.id)));
      counts.updated++;
    }
    await recordActivity(tx, by, {
      orgId: actor.orgId,
      action: "template.synced",
      target: { type: "channel", id: channel.id, label: channel.name },
      changes: {
        created: { after: counts.created },
        updated: { after: counts.updated },
        unchanged: { after: counts.unchanged },
        skipped: { after: counts.skipped },
      },
    });
  });
  return counts;
}

/**
 * A `message_template_status_update` webhook of a channel, applied by Meta's template id in the
 * ingest transaction (the name and language of the channel's WABA when the id is not known yet).
 * Returns false for a template Chorus does not have (created elsewhere: `sync` brings it).
 */
export async function applyTemplateStatus(
  tx: DbOrTx,
  orgId: string,
  channel: { id: string; wabaId: string },
  value: {
    event: string;
    message_template_id: string | number;
    message_template_name: string;
    message_template_language: string;
    reason?: string | null | undefined;
  },
  actor: Actor,
): Promise<"applied" | "unchanged" | "unknown" | "ignored"> {
  const status = statusOf(value.event);
  if (!status) return "ignored";
  const metaId = String(value.message_template_id);
  let [row] = await tx
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.metaId, metaId)))
    .for("update");
  if (!row) {
    [row] = await tx
      .select()
      .from(messageTemplates)
      .where(
        and(
          eq(messageTemplates.orgId, orgId),
          eq(messageTemplates.wabaId, channel.wabaId),
          eq(messageTemplates.name, value.message_template_name),
          eq(messageTemplates.language, value.message_template_language),
        ),
      )
      .for("update");
  }
  if (!row) return "unknown";
  const rejectionReason = status === "REJECTED" ? (reasonOf(value.reason) ?? "UNKNOWN") : null;
  if (row.status === status && row.rejectionReason === rejectionReason && row.metaId === metaId) return "unchanged";
  await tx
    .update(messageTemplates)
    .set({ status, rejectionReason, metaId, updatedAt: sql`now()` })
    .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, row.id)));
  await recordActivity(tx, actor, {
    orgId,
    action: "template.status_changed",
    target: { type: "template", id: row.id, label: `${row.name} (${row.language})` },
    changes: {
      status: { before: row.status, after: status },
      ...(rejectionReason !== row.rejectionReason
        ? { rejectionReason: { before: row.rejectionReason, after: rejectionReason } }
        : {}),
    },
  });
  return "applied";
}
