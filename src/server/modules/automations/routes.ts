import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  createAutomationBody,
  MAX_ACTIONS,
  MAX_AUTOMATIONS,
  updateAutomationBody,
} from "../../../shared/schemas/automations.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import {
  automationListSchema,
  automationOptionsSchema,
  automationParams,
  automationRunListSchema,
  automationSchema,
  listRunsQuery,
} from "./schemas.js";
import {
  automationOptions,
  createAutomation,
  deleteAutomation,
  getAutomation,
  listAutomations,
  listRuns,
  updateAutomation,
} from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

const SHAPE =
  "`trigger`: `{type: message_received, keywords?, match?: contains|exact}` (keywords case- and accent-insensitive; " +
  "contains = whole words anywhere, exact = the whole message) or `{type: conversation_opened}` (the message opened a new " +
  "conversation: a new or returning contact). `conditions`: `outsideBusinessHours` (true: only outside the workspace's " +
  "business hours; false: only within), `channelIds`, `contactHasTag`, `contactLacksTag`. `actions` (1–" +
  `${MAX_ACTIONS}, run in order): reply_text {text} (inside the 24-hour window only), send_template {templateId, variables} ` +
  "(APPROVED only), assign_team {teamId}, assign_member {memberId}, add_tag {tagId} (on the conversation), set_status " +
  "{status}. Ids must be the organization's (400 `automation_unknown_reference` naming the field).";

export const automationsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/automations",
    {
      config: { access: access.member("automations:read") },
      schema: {
        tags: ["automations"],
        summary: "Automations in the order they run, with their last run (all of them: nextCursor is null)",
        params: orgParams,
        response: { 200: automationListSchema, ...readErrors },
      },
    },
    async (request) => ({ items: await listAutomations(db, request.params.orgId), nextCursor: null }),
  );

  app.get(
    "/orgs/:orgId/automations/options",
    {
      config: { access: access.member("automations:read") },
      schema: {
        tags: ["automations"],
        summary: "What an automation may name: channels, teams, tags, assignable members, templates (id and name)",
        params: orgParams,
        response: { 200: automationOptionsSchema, ...readErrors },
      },
    },
    async (request) => automationOptions(db, request.params.orgId),
  );

  app.get(
    "/orgs/:orgId/automations/:automationId",
    {
      config: { access: access.member("automations:read") },
      schema: {
        tags: ["automations"],
        summary: "One automation",
        params: automationParams,
        response: { 200: automationSchema, ...readErrors },
      },
    },
    async (request) => getAutomation(db, request.params.orgId, request.params.automationId),
  );

  app.post(
    "/orgs/:orgId/automations",
    {
      config: { access: access.member("automations:manage") },
      schema: {
        tags: ["automations"],
        summary: "Create an automation",
        description: `${SHAPE} At most ${MAX_AUTOMATIONS} per organization (409 \`automation_limit_reached\`).`,
        params: orgParams,
        body: createAutomationBody,
        response: { 201: automationSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createAutomation(db, requireMember(request), actorOf(request), request.body)),
  );

  app.patch(
    "/orgs/:orgId/automations/:automationId",
    {
      config: { access: access.member("automations:manage") },
      schema: {
        tags: ["automations"],
        summary: "Edit an automation (enable/disable, priority, trigger, conditions, actions)",
        description: SHAPE,
        params: automationParams,
        body: updateAutomationBody,
        response: { 200: automationSchema, ...writeErrors },
      },
    },
    async (request) =>
      updateAutomation(db, requireMember(request), actorOf(request), request.params.automationId, request.body),
  );

  app.delete(
    "/orgs/:orgId/automations/:automationId",
    {
      config: { access: access.member("automations:manage") },
      schema: {
        tags: ["automations"],
        summary: "Delete an automation (and its runs log)",
        params: automationParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteAutomation(db, requireMember(request), actorOf(request), request.params.automationId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/orgs/:orgId/automations/:automationId/runs",
    {
      config: { access: access.member("automations:read") },
      schema: {
        tags: ["automations"],
        summary: "The automation's runs, newest first: time, conversation, triggering message, each action's result",
        params: automationParams,
        querystring: listRunsQuery,
        response: { 200: automationRunListSchema, ...readErrors },
      },
    },
    async (request) => listRuns(db, request.params.orgId, request.params.automationId, request.query),
  );
};
