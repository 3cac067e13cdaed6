import { and, asc, eq } from "drizzle-orm";
import type { DbOrTx } from "../../db/client.js";
import { messageTemplates } from "../../db/schema/index.js";
import { badRequest, conflict, notFound } from "../../http/problem.js";
import { buildTemplateMessage, renderPreview } from "../templates/render.js";
import { asTemplate, type TemplateDto, templateDto } from "../templates/service.js";
import type { OutboundContent } from "../whatsapp/graph-client.js";
import type { TemplateSend } from "./schemas.js";

/**
 * Templates in the inbox: a reply or a new conversation may send an APPROVED template of the
 * conversation's channel at any time (the 24-hour window does not apply to templates).
 */
export async function templateContent(
  db: DbOrTx,
  orgId: string,
  channelId: string,
  send: TemplateSend,
): Promise<{ content: OutboundContent; text: string }> {
  const [row] = await db
    .select()
    .from(messageTemplates)
    .where(and(eq(messageTemplates.orgId, orgId), eq(messageTemplates.id, send.templateId)));
  if (!row) throw notFound("template", "template_not_found");
  if (row.channelId !== channelId) {
    throw badRequest("template_other_channel", "This template belongs to another WhatsApp number.", [
      { path: "template.templateId", message: "A template of the conversation's number is required.", in: "body" },
    ]);
  }
  if (row.status !== "APPROVED") {
    throw conflict("template_not_approved", `Only approved templates can be sent; this one is ${row.status}.`, {
      status: row.status,
    });
  }
  const t = asTemplate(row);
  const body = buildTemplateMessage(t, send.variables);
  const preview = renderPreview(t, send.variables);
  const text = [preview.header?.text, preview.body, preview.footer].filter(Boolean).join("\n").slice(0, 4096);
  return {
    content: {
      type: "template",
      name: body.name,
      language: body.language.code,
      ...(body.components ? { components: body.components } : {}),
    },
    text,
  };
}

/** The APPROVED templates a member replying in the inbox may send (optionally of one channel). */
export async function usableTemplates(db: DbOrTx, orgId: string, channelId?: string): Promise<TemplateDto[]> {
  const rows = await db
    .select()
    .from(messageTemplates)
    .where(
      and(
        eq(messageTemplates.orgId, orgId),
        eq(messageTemplates.status, "APPROVED"),
        channelId ? eq(messageTemplates.channelId, channelId) : undefined,
      ),
    )
    .orderBy(asc(messageTemplates.name), asc(messageTemplates.language))
    .limit(500);
  return rows.map(templateDto);
}
