import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { templateListSchema } from "../templates/schemas.js";
import { assignableMembers, conversationTagOptions } from "./assignees.js";
import { requestBacklog } from "./assignment.js";
import { markRead, withUnread } from "./reads.js";
import {
  assignBody,
  conversationListSchema,
  conversationParams,
  conversationSchema,
  conversationViewSchema,
  listConversationsQuery,
  listMessagesQuery,
  markReadBody,
  noteBody,
  patchConversationBody,
  replyBody,
  startConversationBody,
  startedConversationSchema,
  threadItemSchema,
  threadPageSchema,
  transferBody,
  usableTemplatesQuery,
} from "./schemas.js";
import {
  addNote,
  assignConversation,
  getConversation,
  listConversations,
  listThread,
  reply,
  transferConversation,
  updateConversation,
} from "./service.js";
import { startConversation } from "./start.js";
import { usableTemplates } from "./templates.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };
const INVISIBLE = "A conversation the caller may not see answers 404 `conversation_not_found` (DESIGN §7.3).";

/**
 * The shared inbox (issue 15, first slice). Routes declare the route-level permission; who may
 * see and do what with one conversation (§7.3) is decided in the service through
 * conversations/visibility.ts and roles/object-rules.ts. Reading needs `chats:read_assigned` or
 * `chats:read_all`: the route admits any member; without either the list is empty and each
 * conversation 404.
 */
export const conversationsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/conversations",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "Conversations the caller may see, newest activity first (cursor pages)",
        description:
          "`chats:read_assigned`: only those assigned to oneself; `chats:read_all`: all; neither: an empty list. " +
          "`view`: `mine`, `unassigned`, `all`. `q`: contact name or phone prefix. `unread`: the customer's " +
          "messages since the caller last opened the thread (POST …/read), counted up to 100.",
        params: orgParams,
        querystring: listConversationsQuery,
        response: { 200: conversationListSchema, ...readErrors },
      },
    },
    async (request) => {
      const member = requireMember(request);
      const page = await listConversations(db, member, request.query);
      return { items: await withUnread(db, member, page.items), nextCursor: page.nextCursor };
    },
  );

  app.post(
    "/orgs/:orgId/conversations",
    {
      config: { access: access.member("chats:reply", "contacts:read") },
      schema: {
        tags: ["conversations"],
        summary: "Start a conversation with a contact: send an approved template (opens or continues the live one)",
        description:
          "A template of the channel (APPROVED; 409 `template_not_approved`, 400 `template_other_channel`, " +
          "400 `template_variables_missing`) to the contact (404 `contact_not_found`, 409 `contact_opted_out`) " +
          "on the channel (404 `channel_not_found`). With no live conversation one is opened and assigned to " +
          "the caller; the live one continues under the reply's rules (§7.3): one the caller may not see is " +
          "409 `live_conversation_exists`, one assigned to somebody else needs `chats:assign`. 202 with the " +
          "conversation and the queued message; the same `clientMsgId` again answers the same message.",
        params: orgParams,
        body: startConversationBody,
        response: { 202: startedConversationSchema, ...writeErrors },
      },
    },
    async (request, res) =>
      res.code(202).send(await startConversation(app.ctx, requireMember(request), actorOf(request), request.body)),
  );

  app.get(
    "/orgs/:orgId/conversations/templates",
    {
      config: { access: access.member("chats:reply") },
      schema: {
        tags: ["conversations"],
        summary: "Approved templates one may send from the inbox (`channelId`: of one number)",
        description: "For members who reply without `templates:read`: only APPROVED templates, by name.",
        params: orgParams,
        querystring: usableTemplatesQuery,
        response: { 200: templateListSchema, ...readErrors },
      },
    },
    async (request) => ({
      items: await usableTemplates(db, request.params.orgId, request.query.channelId),
      nextCursor: null,
    }),
  );

  app.get(
    "/orgs/:orgId/conversations/assignees",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "Members who can read chats: whom a conversation may be assigned or transferred to",
        description:
          "For members who read chats (others: an empty list); names only. `readsAll`: holds chats:read_all.",
        params: orgParams,
        response: {
          200: z.object({
            items: z.array(z.object({ memberId: z.string(), name: z.string(), readsAll: z.boolean() })),
          }),
          ...readErrors,
        },
      },
    },
    async (request) => ({ items: await assignableMembers(db, requireMember(request)) }),
  );

  app.get(
    "/orgs/:orgId/conversations/tags",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "Tags a conversation may carry: the tag picker of members who read chats",
        description:
          "For members who read chats (others: an empty list); name, colour and team only (GET /tags, with contact counts, needs contacts:read). A–Z, all of them.",
        params: orgParams,
        response: {
          200: z.object({
            items: z.array(
              z.object({ id: z.string(), name: z.string(), color: z.string(), teamId: z.string().nullable() }),
            ),
          }),
          ...readErrors,
        },
      },
    },
    async (request) => ({ items: await conversationTagOptions(db, requireMember(request)) }),
  );

  app.post(
    "/orgs/:orgId/conversations/:conversationId/read",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "Mark the thread read by the caller (their unread count of it drops to 0)",
        description:
          "`until`: the newest item the caller was shown (default now); the marker only moves forward. " +
          `A personal marker, not an audited change. ${INVISIBLE}`,
        params: conversationParams,
        body: markReadBody,
        response: { 204: z.null(), ...readErrors },
      },
    },
    async (request, res) => {
      await markRead(db, requireMember(request), request.params.conversationId, request.body.until);
      return res.code(204).send(null);
    },
  );

  app.get(
    "/orgs/:orgId/conversations/:conversationId",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "One conversation",
        description: INVISIBLE,
        params: conversationParams,
        response: { 200: conversationViewSchema, ...readErrors },
      },
    },
    async (request) => {
      const member = requireMember(request);
      const [one] = await withUnread(db, member, [await getConversation(db, member, request.params.conversationId)]);
      return one!;
    },
  );

  app.get(
    "/orgs/:orgId/conversations/:conversationId/messages",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "The thread: messages, private notes and system lines, newest first (`before` cursor)",
        description: INVISIBLE,
        params: conversationParams,
        querystring: listMessagesQuery,
        response: { 200: threadPageSchema, ...readErrors },
      },
    },
    async (request) =>
      listThread(db, requireMember(request), request.params.conversationId, {
        limit: request.query.limit,
        before: request.query.before,
      }),
  );

  app.post(
    "/orgs/:orgId/conversations/:conversationId/messages",
    {
      config: { access: access.member("chats:reply") },
      schema: {
        tags: ["conversations"],
        summary: "Reply with text or an approved template (queued, then sent through the channel)",
        description:
          "202 with the message (`status: queued`). The same `clientMsgId` again answers the same message " +
          "(nothing sent twice; 409 `client_msg_id_used` when it named another message). One assigned to " +
          "somebody else needs `chats:assign` too (403 `assigned_to_someone_else`); replying to an unassigned " +
          "one assigns it to the replier. Text outside the 24-hour customer-service window: 409 `window_closed`; " +
          "a template (`template: {templateId, variables}`, an APPROVED one of the conversation's number) may be " +
          "sent at any time (400 `template_other_channel`, 409 `template_not_approved`, 400 `template_variables_missing`). " +
          `Resolved: 409 \`conversation_resolved\`. ${INVISIBLE}`,
        params: conversationParams,
        body: replyBody,
        response: { 202: threadItemSchema, ...writeErrors },
      },
    },
    async (request, res) => {
      const { message } = await reply(
        app.ctx,
        requireMember(request),
        actorOf(request),
        request.params.conversationId,
        request.body,
      );
      return res.code(202).send(message);
    },
  );

  app.post(
    "/orgs/:orgId/conversations/:conversationId/notes",
    {
      config: { access: access.member("chats:reply") },
      schema: {
        tags: ["conversations"],
        summary: "Add a private note (never sent to WhatsApp); `@First Last` mentions members",
        description: INVISIBLE,
        params: conversationParams,
        body: noteBody,
        response: { 201: threadItemSchema, ...writeErrors },
      },
    },
    async (request, res) =>
      res
        .code(201)
        .send(
          await addNote(db, requireMember(request), actorOf(request), request.params.conversationId, request.body.text),
        ),
  );

  app.patch(
    "/orgs/:orgId/conversations/:conversationId",
    {
      config: { access: access.member("chats:reply") },
      schema: {
        tags: ["conversations"],
        summary: "Change status (open, pending, snoozed until, resolved), tags, priority",
        description:
          "`snoozed` needs a future `snoozedUntil` (400 `snooze_needs_future_time`). `tagIds` replaces the set " +
          "(any tag of the organization, team-specific ones included; 400 `unknown_tag`). Reopening a resolved " +
          `one while the contact has another live conversation: 409 \`live_conversation_exists\`. ${INVISIBLE}`,
        params: conversationParams,
        body: patchConversationBody,
        response: { 200: conversationSchema, ...writeErrors },
      },
    },
    async (request) => {
      const dto = await updateConversation(
        db,
        requireMember(request),
        actorOf(request),
        request.params.conversationId,
        request.body,
      );
      // Resolving or snoozing frees capacity: the assignment rules hand out the queue (a job).
      if (request.body.status !== undefined) await requestBacklog(app.ctx, request.params.orgId);
      return dto;
    },
  );

  app.post(
    "/orgs/:orgId/conversations/:conversationId/assign",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "Assign, reassign or unassign (`memberId: null`); optionally set the team",
        description:
          "`chats:assign`, or taking an unassigned conversation for oneself with `chats:read_all` + `chats:reply` " +
          "(403 `assign_not_allowed`). The target must be able to read chats (409 `assignee_cannot_read_chats`; " +
          "400 `unknown_member`). Compare-and-set: when the assignee is not `expectedAssigneeMemberId` (or what " +
          `the request first read), 409 \`conversation_changed\`. ${INVISIBLE}`,
        params: conversationParams,
        body: assignBody,
        response: { 200: conversationSchema, ...writeErrors },
      },
    },
    async (request) => {
      const dto = await assignConversation(
        db,
        requireMember(request),
        actorOf(request),
        request.params.conversationId,
        request.body,
      );
      await requestBacklog(app.ctx, request.params.orgId); // someone's capacity may have freed up
      return dto;
    },
  );

  app.post(
    "/orgs/:orgId/conversations/:conversationId/transfer",
    {
      config: { access: access.member() },
      schema: {
        tags: ["conversations"],
        summary: "The assignee hands the conversation to another member, with a note in the thread",
        description: `Only the assignee (403 \`not_assignee\`). ${INVISIBLE}`,
        params: conversationParams,
        body: transferBody,
        response: { 200: conversationSchema, ...writeErrors },
      },
    },
    async (request) => {
      const dto = await transferConversation(
        db,
        requireMember(request),
        actorOf(request),
        request.params.conversationId,
        request.body,
      );
      await requestBacklog(app.ctx, request.params.orgId); // someone's capacity may have freed up
      return dto;
    },
  );
};
