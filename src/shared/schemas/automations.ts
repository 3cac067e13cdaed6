import { z } from "zod";
import { hasBidiControl, hasControlChar, singleLineSchema, uuidSchema } from "./common.js";
import { templateVariablesSchema } from "./templates.js";

/**
 * Automations (DESIGN §7.5, issue 17), shared by the server routes and the web editor: a trigger,
 * optional conditions, and actions run in order. Ids in conditions and actions must name objects
 * of the organization (the server checks: 400 with the field's path).
 */

export const MAX_AUTOMATIONS = 200;
export const MAX_KEYWORDS = 50;
export const MAX_KEYWORD_LENGTH = 100;
export const MAX_ACTIONS = 10;
export const MAX_CHANNEL_CONDITIONS = 50;
/** WhatsApp's limit for a text body. */
export const MAX_REPLY_TEXT = 4096;

/** Customer-facing text: any script or emoji, new lines and tabs; no other control characters, no NUL. */
const replyText = z
  .string()
  .trim()
  .min(1, "Required.")
  .max(MAX_REPLY_TEXT)
  .refine((s) => !hasControlChar(s.replace(/[\n\t]/g, "")), {
    message: "Remove the control characters.",
    params: { i18n: "validation.controlChars" },
  })
  .refine((s) => !hasBidiControl(s), {
    message: "Remove the text-direction control characters.",
    params: { i18n: "validation.bidiChars" },
  });

export const KEYWORD_MATCHES = ["contains", "exact"] as const;
export type KeywordMatch = (typeof KEYWORD_MATCHES)[number];

export const triggerSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("message_received"),
      /** None: every inbound message. */
      keywords: z.array(singleLineSchema(MAX_KEYWORD_LENGTH)).max(MAX_KEYWORDS).optional(),
      /** contains (default): the keyword appears as whole word(s); exact: the whole message. */
      match: z.enum(KEYWORD_MATCHES).optional(),
    })
    .strict(),
  z.object({ type: z.literal("conversation_opened") }).strict(),
]);
export type AutomationTrigger = z.infer<typeof triggerSchema>;

export const conditionsSchema = z
  .object({
    /** true: only outside business hours; false: only within them. */
    outsideBusinessHours: z.boolean().optional(),
    channelIds: z.array(uuidSchema).min(1).max(MAX_CHANNEL_CONDITIONS).optional(),
    contactHasTag: uuidSchema.optional(),
    contactLacksTag: uuidSchema.optional(),
  })
  .strict();
export type AutomationConditions = z.infer<typeof conditionsSchema>;

export const CONVERSATION_STATUSES = ["open", "pending", "resolved"] as const;

export const actionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("reply_text"), text: replyText }).strict(),
  z
    .object({
      type: z.literal("send_template"),
      templateId: uuidSchema,
      variables: templateVariablesSchema.default({}),
    })
    .strict(),
  z.object({ type: z.literal("assign_team"), teamId: uuidSchema }).strict(),
  z.object({ type: z.literal("assign_member"), memberId: uuidSchema }).strict(),
  z.object({ type: z.literal("add_tag"), tagId: uuidSchema }).strict(),
  z.object({ type: z.literal("set_status"), status: z.enum(CONVERSATION_STATUSES) }).strict(),
]);
export type AutomationAction = z.infer<typeof actionSchema>;
export type AutomationActionType = AutomationAction["type"];
export const ACTION_TYPES: AutomationActionType[] = [
  "reply_text",
  "send_template",
  "assign_team",
  "assign_member",
  "add_tag",
  "set_status",
];

export const createAutomationBody = z
  .object({
    name: singleLineSchema(100),
    enabled: z.boolean().default(true),
    /** Lower runs first; equal priorities run oldest first. */
    priority: z.int().min(0).max(10_000).default(100),
    trigger: triggerSchema,
    conditions: conditionsSchema.default({}),
    actions: z.array(actionSchema).min(1, "Add at least one action.").max(MAX_ACTIONS),
  })
  .strict();
export type CreateAutomationInput = z.output<typeof createAutomationBody>;

export const updateAutomationBody = z
  .object({
    name: singleLineSchema(100).optional(),
    enabled: z.boolean().optional(),
    priority: z.int().min(0).max(10_000).optional(),
    trigger: triggerSchema.optional(),
    conditions: conditionsSchema.optional(),
    actions: z.array(actionSchema).min(1, "Add at least one action.").max(MAX_ACTIONS).optional(),
  })
  .strict();
export type UpdateAutomationInput = z.output<typeof updateAutomationBody>;

/**
 * Keyword matching, the same on the server and in the web editor's preview: case- and
 * accent-insensitive (NFD, combining marks removed, lower case), runs of white space as one.
 */
export function normalizeForMatch(s: string): string {
  return s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/\s+/gu, " ").trim();
}

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/**
 * `contains`: the keyword occurs in the message as whole word(s) — not inside a longer word
 * ("price" matches "What's the price?" but not "priceless"; "opening hours" matches a phrase).
 * `exact`: the whole message, trimmed, equals the keyword. No keywords: every message matches.
 */
export function keywordsMatch(
  text: string | null,
  keywords: readonly string[] | undefined,
  match: KeywordMatch = "contains",
): boolean {
  if (!keywords || keywords.length === 0) return true;
  if (!text) return false;
  const msg = normalizeForMatch(text);
  for (const k of keywords) {
    const kw = normalizeForMatch(k);
    if (!kw) continue;
    if (match === "exact") {
      if (msg === kw) return true;
      continue;
    }
    let from = 0;
    for (;;) {
      const i = msg.indexOf(kw, from);
      if (i < 0) break;
      if (!isWordChar(msg[i - 1]) && !isWordChar(msg[i + kw.length])) return true;
      from = i + 1;
    }
  }
  return false;
}
