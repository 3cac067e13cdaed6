import { z } from "zod";
import { actionSchema, conditionsSchema, triggerSchema } from "../../../shared/schemas/automations.js";
import { uuidSchema } from "../../../shared/schemas/common.js";

export const automationParams = z.object({ orgId: uuidSchema, automationId: uuidSchema });

export const automationSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    enabled: z.boolean(),
    priority: z.int().meta({ description: "Lower runs first; equal priorities run oldest first." }),
    trigger: triggerSchema,
    conditions: conditionsSchema,
    actions: z.array(actionSchema),
    lastRun: z.object({ at: z.string(), status: z.enum(["ok", "error"]) }).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Automation" });
export type AutomationDto = z.output<typeof automationSchema>;
export const automationListSchema = z.object({ items: z.array(automationSchema), nextCursor: z.null() });

export const actionResultSchema = z.object({
  type: z.string(),
  ok: z.boolean(),
  detail: z.string().optional(),
  error: z.string().optional(),
  messageId: z.string().optional(),
});

export const automationRunSchema = z
  .object({
    id: z.uuid(),
    at: z.string(),
    conversationId: z.uuid(),
    messageId: z.uuid().meta({ description: "The inbound message that triggered the run." }),
    status: z.enum(["ok", "error"]),
    results: z.array(actionResultSchema).meta({ description: "One entry per action, in order." }),
  })
  .meta({ id: "AutomationRun" });
export type AutomationRunDto = z.output<typeof automationRunSchema>;
export const automationRunListSchema = z.object({
  items: z.array(automationRunSchema),
  nextCursor: z.string().nullable(),
});

export const listRunsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});

const option = z.object({ id: z.uuid(), name: z.string() });
export const automationOptionsSchema = z
  .object({
    channels: z.array(option),
    teams: z.array(option),
    tags: z.array(option),
    members: z.array(option).meta({ description: "Members who can read conversations (assignable)." }),
    templates: z.array(
      option.extend({
        language: z.string(),
        status: z.string(),
        channelId: z.uuid(),
        variables: z.array(z.string()).meta({ description: "The variable keys a send must fill." }),
      }),
    ),
  })
  .meta({ id: "AutomationOptions" });
