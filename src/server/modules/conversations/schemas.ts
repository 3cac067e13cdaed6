import { z } from "zod";
import { multiLineSchema, uuidSchema } from "../../../shared/schemas/common.js";
import { templateVariablesSchema } from "../../../shared/schemas/templates.js";

export const conversationParams = z.object({ orgId: uuidSchema, conversationId: uuidSchema });

export const CONVERSATION_STATUSES = ["open", "pending", "snoozed", "resolved"] as const;
/** WhatsApp's limit for a text body. */
export const MAX_TEXT = 4096;
export const MAX_NOTE = 10_000;

const limitSchema = z.coerce.number().int().min(1).max(100).default(25);

export const listConversationsQuery = z.object({
  view: z.enum(["mine", "unassigned", "all"]).default("all"),
  status: z.enum(CONVERSATION_STATUSES).optional(),
  teamId: uuidSchema.optional(),
  tagId: uuidSchema.optional(),
  channelId: uuidSchema.optional(),
  q: z.string().max(200).optional(),
  limit: limitSchema,
  cursor: z.string().max(500).optional(),
});
export type ListConversationsQuery = z.output<typeof listConversationsQuery>;

export const listMessagesQuery = z.object({
  limit: limitSchema,
  /** The `nextCursor` of the previous page: older items than it. */
  before: z.string().max(500).optional(),
});

const textBody = (max: number) => multiLineSchema(max).refine((s) => s.length > 0, "Required.");

/** The client's id for this message: the same id again returns the same message. */
const clientMsgIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x21-\x7e]+$/, "Printable ASCII without spaces.")
  .optional();

/** An APPROVED template of the conversation's channel with a value for each of its variables. */
export const templateSendSchema = z.object({
  templateId: uuidSchema,
  variables: templateVariablesSchema.default({}),
});
export type TemplateSend = z.output<typeof templateSendSchema>;

/** Text (inside the 24-hour window) or a template (any time): exactly one of them. */
export const replyBody = z
  .object({
    clientMsgId: clientMsgIdSchema,
    text: textBody(MAX_TEXT).optional(),
    template: templateSendSchema.optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.text === undefined) === (b.template === undefined)) {
      ctx.addIssue({ code: "custom", path: ["text"], message: "Give either text or a template." });
    }
  });
export type ReplyInput = z.output<typeof replyBody>;

/** Start a conversation (or continue the live one) with a contact on a channel, with a template. */
export const startConversationBody = z.object({
  contactId: uuidSchema,
  channelId: uuidSchema,
  clientMsgId: clientMsgIdSchema,
  template: templateSendSchema,
});
export type StartConversationInput = z.output<typeof startConversationBody>;

export const markReadBody = z.object({
  /** The newest thread item the member saw (its `createdAt`); default: now. Only moves forward. */
  until: z.iso.datetime({ offset: true }).optional(),
});

export const usableTemplatesQuery = z.object({ channelId: uuidSchema.optional() });

export const noteBody = z.object({ text: textBody(MAX_NOTE) });

export const patchConversationBody = z
  .object({
    status: z.enum(CONVERSATION_STATUSES).optional(),
    snoozedUntil: z.iso.datetime({ offset: true }).nullable().optional(),
    tagIds: z.array(uuidSchema).max(50).optional(),
    priority: z.number().int().min(0).max(3).optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Nothing to change.");
export type PatchConversationInput = z.output<typeof patchConversationBody>;

export const assignBody = z.object({
  memberId: uuidSchema.nullable(),
  teamId: uuidSchema.nullable().optional(),
  note: multiLineSchema(1000).optional(),
  /**
   * Compare-and-set: the assignee the caller saw (null = unassigned). When the conversation's
   * assignee is different by then, 409 `conversation_changed`. Without it, the assignee read at
   * the start of the request is compared.
   */
  expectedAssigneeMemberId: uuidSchema.nullable().optional(),
});
export type AssignInput = z.output<typeof assignBody>;

export const transferBody = z.object({
  memberId: uuidSchema,
  note: multiLineSchema(1000).optional(),
});
export type TransferInput = z.output<typeof transferBody>;

const memberRef = z.object({ memberId: z.string(), name: z.string() }).nullable();

export const conversationSchema = z.object({
  id: z.string(),
  channelId: z.string(),
  contact: z.object({
    id: z.string(),
    name: z.string().nullable(),
    phone: z.string(),
    /** WhatsApp's id of the customer (their number without "+"), once they wrote. */
    waId: z.string().nullable(),
    /** Opted out of marketing (broadcasts skip them; replies in the conversation still go). */
    optedOut: z.boolean(),
  }),
  status: z.enum(CONVERSATION_STATUSES),
  snoozedUntil: z.string().nullable(),
  priority: z.number(),
  assignee: memberRef,
  team: z.object({ id: z.string(), name: z.string() }).nullable(),
  tagIds: z.array(z.string()),
  /** The same tags with their names, for members who may not list the organization's tags. */
  tags: z.array(z.object({ id: z.string(), name: z.string(), color: z.string() })),
  preview: z.string().nullable(),
  lastMessageAt: z.string(),
  lastInboundAt: z.string().nullable(),
  /** Text may be sent until then (24 hours after the customer's last message); null: closed. */
  windowClosesAt: z.string().nullable(),
  version: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ConversationDto = z.output<typeof conversationSchema>;

/** As the list and the single read give it: with the caller's unread count. */
export const conversationViewSchema = conversationSchema.extend({
  /**
   * The customer's messages since the caller last opened the thread (POST …/read), all of them when
   * never opened; counted up to 100 (the web shows "99+").
   */
  unread: z.number(),
});
export type ConversationViewDto = z.output<typeof conversationViewSchema>;

export const conversationListSchema = z.object({
  items: z.array(conversationViewSchema),
  nextCursor: z.string().nullable(),
});

export const threadItemSchema = z.object({
  id: z.string(),
  /** `message` (WhatsApp, in or out), `note` (private), `system` (assigned, transferred, status…). */
  kind: z.enum(["message", "note", "system"]),
  direction: z.enum(["in", "out"]).nullable(),
  type: z.string(),
  text: z.string().nullable(),
  /** Messages only: received (inbound) or queued < sent < delivered < read, or failed. */
  status: z.string().nullable(),
  error: z
    .object({ code: z.number().nullable(), title: z.string().nullable(), details: z.string().nullable() })
    .nullable(),
  clientMsgId: z.string().nullable(),
  author: memberRef,
  /** Notes: the members mentioned. */
  mentions: z.array(z.string()),
  /** System lines: what happened, machine-readable. */
  event: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  readAt: z.string().nullable(),
  failedAt: z.string().nullable(),
});
export type ThreadItemDto = z.output<typeof threadItemSchema>;

export const threadPageSchema = z.object({ items: z.array(threadItemSchema), nextCursor: z.string().nullable() });

export const startedConversationSchema = z.object({
  conversation: conversationSchema,
  message: threadItemSchema,
  /** false: the contact's live conversation on this channel was continued. */
  conversationCreated: z.boolean(),
});
