import { and, asc, eq, sql } from "drizzle-orm";
import { isWithinBusinessHours } from "../../../shared/business-hours.js";
import { type AutomationAction, keywordsMatch } from "../../../shared/schemas/automations.js";
import type { WorkspaceSettings } from "../../../shared/schemas/settings.js";
import type { AppContext } from "../../context.js";
import type { DbOrTx } from "../../db/client.js";
import {
  type AutomationActionResult,
  automationRuns,
  automations,
  contactTags,
  conversations,
  conversationTags,
  messages,
  messageTemplates,
  tags,
  teams,
  waChannels,
} from "../../db/schema/index.js";
import { AppError } from "../../http/problem.js";
import type { Actor } from "../../http/request-context.js";
import { diff, recordActivity } from "../activity/record.js";
import { assignArrivals } from "../conversations/assignment.js";
import { SERVICE_WINDOW_MS, systemLine } from "../conversations/service.js";
import { memberAccessOf } from "../conversations/visibility.js";
import { holdsChatRead } from "../roles/object-rules.js";
import { getWorkspaceSettings } from "../settings/service.js";
import { buildTemplateMessage } from "../templates/render.js";
import { asTemplate } from "../templates/service.js";
import { queueOutbound } from "../whatsapp/send.js";
import { automationRunJob } from "./job.js";
import type { AutomationRow } from "./service.js";

/** Marks the messages automations send (payload.automationId): they are outbound, never a trigger. */
export const AUTOMATION_MARK = "automationId";

export function registerAutomationJobs(ctx: AppContext): void {
  ctx.jobs.register(automationRunJob, async ({ data }) => runAutomationsFor(ctx, data));
}

type Msg = typeof messages.$inferSelect;
type Conv = typeof conversations.$inferSelect;

function triggers(a: AutomationRow, m: Msg, opened: boolean): boolean {
  if (a.trigger.type === "conversation_opened") return opened;
  return keywordsMatch(m.body, a.trigger.keywords, a.trigger.match);
}

async function conditionsHold(
  a: AutomationRow,
  m: Msg,
  conv: Conv,
  settings: WorkspaceSettings,
  contactTagIds: () => Promise<Set<string>>,
): Promise<boolean> {
  const c = a.conditions;
  if (c.channelIds && !c.channelIds.includes(conv.channelId)) return false;
  if (c.outsideBusinessHours !== undefined) {
    // The customer's message time (Meta's timestamp), not when the job happens to run.
    const open = isWithinBusinessHours(settings, m.createdAt);
    if (c.outsideBusinessHours === open) return false;
  }
  if (c.contactHasTag && !(await contactTagIds()).has(c.contactHasTag)) return false;
  if (c.contactLacksTag && (await contactTagIds()).has(c.contactLacksTag)) return false;
  return true;
}

/**
 * The job: every enabled automation whose trigger and conditions hold, in order; then the
 * assignment rules for the message's conversation. While an organization has enabled
 * automations the ingest leaves new arrivals to this job, so an `assign_team` action routes
 * the conversation before a member is chosen (rules pick within the team, never before it).
 */
export async function runAutomationsFor(
  ctx: AppContext,
  data: { orgId: string; messageId: string; opened: boolean },
): Promise<boolean> {
  const ran = await runMatching(ctx, data);
  const [m] = await ctx.db
    .select({ conversationId: messages.conversationId, direction: messages.direction })
    .from(messages)
    .where(and(eq(messages.orgId, data.orgId), eq(messages.id, data.messageId)));
  if (m?.direction === "in") await ctx.db.transaction((tx) => assignArrivals(tx, data.orgId, [m.conversationId]));
  return ran;
}

async function runMatching(
  ctx: AppContext,
  data: { orgId: string; messageId: string; opened: boolean },
): Promise<boolean> {
  const { orgId, messageId } = data;
  const [m] = await ctx.db
    .select()
    .from(messages)
    .where(and(eq(messages.orgId, orgId), eq(messages.id, messageId)));
  // Only customers' messages trigger: never an outbound one (an automation's own included).
  if (m?.direction !== "in" || m.kind !== "message") return false;
  const [conv] = await ctx.db
    .select()
    .from(conversations)
    .where(and(eq(conversations.orgId, orgId), eq(conversations.id, m.conversationId)));
  if (!conv) return false;
  const list = await ctx.db
    .select()
    .from(automations)
    .where(and(eq(automations.orgId, orgId), eq(automations.enabled, true)))
    .orderBy(asc(automations.priority), asc(automations.createdAt), asc(automations.id));
  if (list.length === 0) return false;
  const settings = await getWorkspaceSettings(ctx.db, orgId);
  let tagIds: Set<string> | null = null;
  const contactTagIds = async () => {
    tagIds ??= new Set(
      (
        await ctx.db
          .select({ id: contactTags.tagId })
          .from(contactTags)
          .where(and(eq(contactTags.orgId, orgId), eq(contactTags.contactId, m.contactId)))
      ).map((r) => r.id),
    );
    return tagIds;
  };
  let ran = false;
  for (const a of list) {
    if (!triggers(a, m, data.opened)) continue;
    if (!(await conditionsHold(a, m, conv, settings, contactTagIds))) continue;
    if (await runOne(ctx, a, m)) ran = true;
  }
  return ran;
}

const automationActor = (a: AutomationRow): Actor => ({
  type: "system",
  id: null,
  name: `Automation: ${a.name}`.slice(0, 200),
  ip: null,
  userAgent: null,
  requestId: null,
});

/** One automation for one message, in one transaction; false when it already ran. */
async function runOne(ctx: AppContext, a: AutomationRow, m: Msg): Promise<boolean> {
  return ctx.db.transaction(async (tx) => {
    const [run] = await tx
      .insert(automationRuns)
      .values({
        orgId: a.orgId,
        automationId: a.id,
        conversationId: m.conversationId,
        messageId: m.id,
        status: "ok",
        results: [],
      })
      .onConflictDoNothing()
      .returning({ id: automationRuns.id });
    if (!run) return false;
    const results: AutomationActionResult[] = [];
    for (const [i, action] of a.actions.entries()) {
      try {
        // A savepoint per action: a failing one leaves the others' work.
        const r = await tx.transaction((sp) => runAction(ctx, sp, a, m, action, i));
        results.push({ type: action.type, ok: true, ...r });
      } catch (err) {
        if (err instanceof ActionFailed || err instanceof AppError) {
          results.push({ type: action.type, ok: false, error: err.code, detail: err.message.slice(0, 300) });
        } else {
          ctx.log.error({ err, orgId: a.orgId, automationId: a.id }, "automation action failed");
          results.push({ type: action.type, ok: false, error: "internal_error", detail: "Unexpected error." });
        }
      }
    }
    await tx
      .update(automationRuns)
      .set({ results, status: results.every((r) => r.ok) ? "ok" : "error" })
      .where(and(eq(automationRuns.orgId, a.orgId), eq(automationRuns.id, run.id)));
    return true;
  });
}

class ActionFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function lockConversation(tx: DbOrTx, orgId: string, id: string): Promise<Conv> {
  const [c] = await tx
    .select()
    .from(conversations)
    .where(and(eq(conversations.orgId, orgId), eq(conversations.id, id)))
    .for("update");
  if (!c) throw new ActionFailed("conversation_not_found", "The conversation no longer exists.");
  return c;
}

async function markAutomated(tx: DbOrTx, orgId: string, messageId: string, automationId: string) {
  await tx
    .update(messages)
    .set({ payload: sql`${messages.payload} || ${JSON.stringify({ [AUTOMATION_MARK]: automationId })}::jsonb` })
    .where(and(eq(messages.orgId, orgId), eq(messages.id, messageId)));
}

async function runAction(
  ctx: AppContext,
  tx: DbOrTx,
  a: AutomationRow,
  m: Msg,
  action: AutomationAction,
  index: number,
): Promise<Omit<AutomationActionResult, "type" | "ok">> {
  const orgId = a.orgId;
  const by = automationActor(a);
  const conv = await lockConversation(tx, orgId, m.conversationId);
  // Deterministic per (automation, message, action): a re-run can never queue a second copy.
  const clientMsgId = `automation:${a.id}:${m.id}:${index}`;
  switch (action.type) {
    case "reply_text": {
      if (conv.status === "resolved") throw new ActionFailed("conversation_resolved", "The conversation is resolved.");
      if (!conv.lastInboundAt || Date.now() - conv.lastInboundAt.getTime() >= SERVICE_WINDOW_MS) {
        throw new ActionFailed("window_closed", "The 24-hour customer-service window is closed.");
      }
      const sent = await queueOutbound(ctx, tx, {
        orgId,
        conversationId: conv.id,
        content: { type: "text", text: action.text },
        clientMsgId,
      });
      await markAutomated(tx, orgId, sent.id, a.id);
      return { detail: "reply queued", messageId: sent.id };
    }
    case "send_template": {
      if (conv.status === "resolved") throw new ActionFailed("conversation_resolved", "The conversation is resolved.");
      const [t] = await tx
        .select()
        .from(messageTemplates)
        .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, action.templateId)));
      if (!t) throw new ActionFailed("template_not_found", "The template no longer exists.");
      if (t.status !== "APPROVED") {
        throw new ActionFailed("template_not_approved", `The template is ${t.status}; only APPROVED ones are sent.`);
      }
      const [ch] = await tx
        .select({ wabaId: waChannels.wabaId })
        .from(waChannels)
        .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, conv.channelId)));
      if (!ch || ch.wabaId !== t.wabaId) {
        throw new ActionFailed("template_other_account", "The template belongs to another WhatsApp Business Account.");
      }
      const body = buildTemplateMessage(asTemplate(t), action.variables);
      const sent = await queueOutbound(ctx, tx, {
        orgId,
        conversationId: conv.id,
        content: {
          type: "template",
          name: body.name,
          language: body.language.code,
          ...(body.components ? { components: body.components } : {}),
        },
        clientMsgId,
      });
      await markAutomated(tx, orgId, sent.id, a.id);
      return { detail: `template ${t.name} queued`, messageId: sent.id };
    }
    case "assign_team": {
      const [team] = await tx
        .select({ id: teams.id, name: teams.name })
        .from(teams)
        .where(and(eq(teams.orgId, orgId), eq(teams.id, action.teamId)));
      if (!team) throw new ActionFailed("unknown_team", "The team no longer exists.");
      if (conv.teamId === team.id) return { detail: "already in the team" };
      await tx
        .update(conversations)
        .set({ teamId: team.id, version: sql`${conversations.version} + 1`, updatedAt: new Date() })
        .where(and(eq(conversations.orgId, orgId), eq(conversations.id, conv.id)));
      await systemLine(tx, conv, null, `moved to team ${team.name} by ${by.name}`, {
        type: "team_changed",
        from: conv.teamId,
        to: { id: team.id, name: team.name },
        by: { automationId: a.id, name: by.name },
      });
      await recordActivity(tx, by, {
        orgId,
        action: "conversation.assigned",
        target: { type: "conversation", id: conv.id },
        changes: diff({ teamId: conv.teamId }, { teamId: team.id }),
      });
      return { detail: `team ${team.name}` };
    }
    case "assign_member": {
      const target = (await memberAccessOf(tx, orgId, [action.memberId])).get(action.memberId);
      if (!target) throw new ActionFailed("unknown_member", "The member is no longer in the organization.");
      if (!holdsChatRead(target)) {
        throw new ActionFailed("assignee_cannot_read_chats", "The member cannot read conversations.");
      }
      if (conv.assigneeMemberId === action.memberId) return { detail: "already assigned" };
      await tx
        .update(conversations)
        .set({ assigneeMemberId: action.memberId, version: sql`${conversations.version} + 1`, updatedAt: new Date() })
        .where(and(eq(conversations.orgId, orgId), eq(conversations.id, conv.id)));
      await systemLine(tx, conv, null, `assigned to ${target.name} by ${by.name}`, {
        type: "assigned",
        from: conv.assigneeMemberId,
        to: { memberId: action.memberId, name: target.name },
        by: { automationId: a.id, name: by.name },
      });
      await recordActivity(tx, by, {
        orgId,
        action: "conversation.assigned",
        target: { type: "conversation", id: conv.id },
        changes: diff({ assigneeMemberId: conv.assigneeMemberId }, { assigneeMemberId: action.memberId }),
      });
      return { detail: `assigned to ${target.name}` };
    }
    case "add_tag": {
      const [tag] = await tx
        .select({ id: tags.id, name: tags.name })
        .from(tags)
        .where(and(eq(tags.orgId, orgId), eq(tags.id, action.tagId)));
      if (!tag) throw new ActionFailed("unknown_tag", "The tag no longer exists.");
      const before = (
        await tx
          .select({ id: conversationTags.tagId })
          .from(conversationTags)
          .where(and(eq(conversationTags.orgId, orgId), eq(conversationTags.conversationId, conv.id)))
      )
        .map((r) => r.id)
        .sort();
      if (before.includes(tag.id)) return { detail: "already tagged" };
      await tx.insert(conversationTags).values({ orgId, conversationId: conv.id, tagId: tag.id }).onConflictDoNothing();
      await tx
        .update(conversations)
        .set({ version: sql`${conversations.version} + 1`, updatedAt: new Date() })
        .where(and(eq(conversations.orgId, orgId), eq(conversations.id, conv.id)));
      await recordActivity(tx, by, {
        orgId,
        action: "conversation.updated",
        target: { type: "conversation", id: conv.id },
        changes: { tagIds: { before, after: [...before, tag.id].sort() } },
      });
      return { detail: `tag ${tag.name}` };
    }
    case "set_status": {
      if (conv.status === action.status) return { detail: `already ${action.status}` };
      await tx
        .update(conversations)
        .set({
          status: action.status,
          snoozedUntil: null,
          version: sql`${conversations.version} + 1`,
          updatedAt: new Date(),
        })
        .where(and(eq(conversations.orgId, orgId), eq(conversations.id, conv.id)));
      await systemLine(tx, conv, null, `${action.status} by ${by.name}`, {
        type: "status_changed",
        from: conv.status,
        to: action.status,
        snoozedUntil: null,
        by: { automationId: a.id, name: by.name },
      });
      await recordActivity(tx, by, {
        orgId,
        action: "conversation.status_changed",
        target: { type: "conversation", id: conv.id },
        changes: diff({ status: conv.status }, { status: action.status }),
      });
      return { detail: `status ${action.status}` };
    }
  }
}
