import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { updateSettingsBody, workspaceSettingsSchema } from "../../../shared/schemas/settings.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { backlogJob } from "../conversations/assignment.js";
import { readSettings, type SettingsChanged, updateSettings } from "./service.js";

const settingsSchema = workspaceSettingsSchema
  .extend({
    version: z.int().describe("0 until the organization first saves settings (the defaults apply)"),
    updatedAt: z.string().nullable(),
  })
  .meta({ id: "WorkspaceSettings" });

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

export const settingsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db, jobs } = app.ctx;

  /**
   * Turning the assignment rules on (manual → round_robin / balanced), or raising the default
   * capacity while they are on, hands out the waiting conversations at once: the backlog job is
   * enqueued in the settings change's transaction (DESIGN §7.4).
   */
  const handOutQueue =
    (orgId: string): SettingsChanged =>
    async (tx, before, after) => {
      const rules = after.assignment;
      if (rules.mode === "manual") return;
      if (before.assignment.mode === "manual" || rules.defaultCapacity > before.assignment.defaultCapacity) {
        await jobs.enqueue(tx, backlogJob, { orgId });
      }
    };

  app.get(
    "/orgs/:orgId/settings",
    {
      config: { access: access.member("settings:read") },
      schema: {
        tags: ["settings"],
        summary: "Workspace settings: timezone, business hours, inbox visibility, assignment, language",
        params: orgParams,
        response: { 200: settingsSchema, ...readErrors },
      },
    },
    async (request) => readSettings(db, request.params.orgId),
  );

  app.patch(
    "/orgs/:orgId/settings",
    {
      config: { access: access.member("settings:manage") },
      schema: {
        tags: ["settings"],
        summary: "Change workspace settings (any subset; businessHours and assignment are replaced whole)",
        description:
          "Send the `version` you read to refuse a lost update: another save in between answers 409 " +
          "`settings_changed`. Times are wall-clock in `timezone`; a range whose `to` is earlier than its " +
          "`from` runs across midnight. Turning the assignment rules on (from `manual`), or raising " +
          "`assignment.defaultCapacity` while they are on, hands out the waiting conversations at once (in the " +
          "background).",
        params: orgParams,
        body: updateSettingsBody.extend({ version: z.int().min(0).optional() }),
        response: { 200: settingsSchema, ...readErrors, 409: problemSchema },
      },
    },
    async (request) => {
      const member = requireMember(request);
      return updateSettings(db, member, actorOf(request), request.body, handOutQueue(member.orgId));
    },
  );
};
