import { and, eq, ne, sql } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { contacts, conversations, messages, waChannels } from "../../db/schema/index.js";
import { conflict, notFound } from "../../http/problem.js";
import type { Actor, OrgMember } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { canReadConversation } from "../roles/object-rules.js";
import { upsertLiveConversation } from "../whatsapp/ingest.js";
import type { ConversationDto, StartConversationInput, ThreadItemDto } from "./schemas.js";
import { replyIn, threadItem, toDtos } from "./service.js";
import { templateContent } from "./templates.js";
import { inboxSettings } from "./visibility.js";

/**
 * `POST /conversations` (DESIGN §7.1): a template to a contact on a channel, in the contact's live
 * conversation there, opened when there is none. A conversation this opens is assigned to its
 * starter (as replying to an unassigned one takes it), so an operator keeps what they start.
 * An existing live conversation follows the reply's rules (§7.3): one the caller may not see is
 * 409 `live_conversation_exists` (without its id), one assigned to somebody else needs
 * `chats:assign`. The same `clientMsgId` again answers the same message.
 */
export async function startConversation(
  ctx: AppContext,
  member: OrgMember,
  by: Actor,
  input: StartConversationInput,
): Promise<{ conversation: ConversationDto; message: ThreadItemDto; conversationCreated: boolean }> {
  return ctx.db.transaction(async (tx) => {
    const orgId = member.orgId;
    const [contact] = await tx
      .select({ id: contacts.id, optedOutAt: contacts.optedOutAt })
      .from(contacts)
      .where(and(eq(contacts.orgId, orgId), eq(contacts.id, input.contactId)));
    if (!contact) throw notFound("contact", "contact_not_found");
    const [channel] = await tx
      .select({ id: waChannels.id })
      .from(waChannels)
      .where(and(eq(waChannels.orgId, orgId), eq(waChannels.id, input.channelId)));
    if (!channel) throw notFound("channel", "channel_not_found");

    if (input.clientMsgId) {
      const [existing] = await tx
        .select()
        .from(messages)
        .where(and(eq(messages.orgId, orgId), eq(messages.clientMsgId, input.clientMsgId)));
      if (existing) {
        if (
          existing.senderMemberId !== member.memberId ||
          existing.contactId !== input.contactId ||
          existing.channelId !== input.channelId
        ) {
          throw conflict("client_msg_id_used", "This clientMsgId was already used for another message.");
        }
        const [conv] = await tx
          .select()
          .from(conversations)
          .where(and(eq(conversations.orgId, orgId), eq(conversations.id, existing.conversationId)));
        return {
          conversation: (await toDtos(tx, orgId, [conv!]))[0]!,
          message: threadItem(existing, `${member.firstName} ${member.lastName}`.trim()),
          conversationCreated: false,
        };
      }
    }
    if (contact.optedOutAt) {
      throw conflict("contact_opted_out", "This contact opted out of messages from this business.");
    }
    // Checked before anything changes: unknown, other channel, not approved, missing values.
    await templateContent(tx, orgId, channel.id, input.template);

    const live = () =>
      tx
        .select()
        .from(conversations)
        .where(
          and(
            eq(conversations.orgId, orgId),
            eq(conversations.channelId, channel.id),
            eq(conversations.contactId, contact.id),
            ne(conversations.status, "resolved"),
          ),
        )
        .for("update");
    let [conv] = await live();
    let conversationCreated = false;
    if (!conv) {
      const id = await upsertLiveConversation(tx, orgId, channel.id, contact.id, new Date(), null, false);
      [conv] = await tx
        .select()
        .from(conversations)
        .where(and(eq(conversations.orgId, orgId), eq(conversations.id, id)))
        .for("update");
      // A parallel start may have opened (and taken) it first: then it is an existing one.
      if (conv && conv.assigneeMemberId === null && conv.version === 0) {
        conversationCreated = true;
        [conv] = await tx
          .update(conversations)
          .set({ assigneeMemberId: member.memberId, version: sql`${conversations.version} + 1` })
          .where(and(eq(conversations.orgId, orgId), eq(conversations.id, id)))
          .returning();
      }
    }
    if (!conv) throw new Error("live conversation missing after upsert");
    const settings = await inboxSettings(tx, orgId);
    if (!canReadConversation(member, conv, settings)) {
      throw conflict(
        "live_conversation_exists",
        "This contact already has an open conversation on this number, handled by someone else.",
      );
    }
    if (conversationCreated) {
      await recordActivity(tx, by, {
        orgId,
        action: "conversation.started",
        target: { type: "conversation", id: conv.id },
        changes: {
          contactId: { after: contact.id },
          channelId: { after: channel.id },
          templateId: { after: input.template.templateId },
          assigneeMemberId: { after: member.memberId },
        },
      });
    }
    const { message } = await replyIn(ctx, tx, member, by, conv, settings, {
      clientMsgId: input.clientMsgId,
      template: input.template,
    });
    const [after] = await tx
      .select()
      .from(conversations)
      .where(and(eq(conversations.orgId, orgId), eq(conversations.id, conv.id)));
    return { conversation: (await toDtos(tx, orgId, [after!]))[0]!, message, conversationCreated };
  });
}
