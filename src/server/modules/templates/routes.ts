import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  createTemplateBody,
  listTemplatesQuery,
  previewTemplateBody,
  syncTemplatesBody,
  updateTemplateBody,
} from "../../../shared/schemas/templates.js";
import { access } from "../../http/access.js";
import { AppError, problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { buildTemplateMessage, renderPreview } from "./render.js";
import { previewSchema, syncResultSchema, templateListSchema, templateParams, templateSchema } from "./schemas.js";
import {
  asTemplate,
  createTemplate,
  deleteTemplate,
  getTemplate,
  listTemplates,
  syncTemplates,
  templateDto,
  updateTemplate,
} from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema, 422: problemSchema, 502: problemSchema };

const META_NOTE =
  "Meta is called inline (bounded by WA_HTTP_TIMEOUT_MS): its refusal is 422 `template_refused_by_meta` " +
  "with Meta's words, an unreachable Graph API 502 `graph_unavailable`.";

export const templatesRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;

  app.get(
    "/orgs/:orgId/templates",
    {
      config: { access: access.member("templates:read") },
      schema: {
        tags: ["templates"],
        summary: "Message templates, by name (`channelId`, `status`, `q` filter)",
        params: orgParams,
        querystring: listTemplatesQuery,
        response: { 200: templateListSchema, ...readErrors },
      },
    },
    async (request) => listTemplates(ctx.db, request.params.orgId, request.query),
  );

  app.post(
    "/orgs/:orgId/templates",
    {
      config: { access: access.member("templates:manage") },
      schema: {
        tags: ["templates"],
        summary: "Create a template and submit it to Meta for review",
        description:
          "Components in Meta's shape (HEADER, BODY, FOOTER, BUTTONS), validated as Meta does: each problem names " +
          "its field. Answers with Meta's status (PENDING until the review webhook). 409 `template_exists` for the " +
          `same name and language on the channel's WhatsApp Business Account. ${META_NOTE}`,
        params: orgParams,
        body: createTemplateBody,
        response: { 201: templateSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createTemplate(ctx, requireMember(request), actorOf(request), request.body)),
  );

  app.post(
    "/orgs/:orgId/templates/sync",
    {
      config: { access: access.member("templates:manage") },
      schema: {
        tags: ["templates"],
        summary: "Pull the channel's templates from Meta (every page) and upsert them",
        description: META_NOTE,
        params: orgParams,
        body: syncTemplatesBody,
        response: { 200: syncResultSchema, ...writeErrors },
      },
    },
    async (request) => syncTemplates(ctx, requireMember(request), actorOf(request), request.body.channelId),
  );

  app.get(
    "/orgs/:orgId/templates/:templateId",
    {
      config: { access: access.member("templates:read") },
      schema: {
        tags: ["templates"],
        summary: "One template",
        params: templateParams,
        response: { 200: templateSchema, ...readErrors },
      },
    },
    async (request) => templateDto(await getTemplate(ctx.db, request.params.orgId, request.params.templateId)),
  );

  app.patch(
    "/orgs/:orgId/templates/:templateId",
    {
      config: { access: access.member("templates:manage") },
      schema: {
        tags: ["templates"],
        summary: "Edit a template's category or components (as Meta allows); it goes back to review",
        description:
          "409 `template_in_review` while PENDING, `template_disabled` once DISABLED, `template_edit_limit` for a " +
          `second edit of an approved template within 24 hours; an approved template keeps its category. ${META_NOTE}`,
        params: templateParams,
        body: updateTemplateBody,
        response: { 200: templateSchema, ...writeErrors },
      },
    },
    async (request) =>
      updateTemplate(ctx, requireMember(request), actorOf(request), request.params.templateId, request.body),
  );

  app.delete(
    "/orgs/:orgId/templates/:templateId",
    {
      config: { access: access.member("templates:manage") },
      schema: {
        tags: ["templates"],
        summary: "Delete a template (at Meta, then here)",
        params: templateParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteTemplate(ctx, requireMember(request), actorOf(request), request.params.templateId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/orgs/:orgId/templates/:templateId/preview",
    {
      config: { access: access.member("templates:read") },
      schema: {
        tags: ["templates"],
        summary: "The template as WhatsApp shows it, with sample values (the examples fill the rest)",
        description:
          "`variables`: `1`, `2`… or named (`first_name`) for the body, `header.<var>` or `header.media`, " +
          "`button.<index>` (URL suffix, coupon code), `code` (AUTHENTICATION). `message` is the Cloud API " +
          "`template` object those values send.",
        params: templateParams,
        body: previewTemplateBody,
        response: { 200: previewSchema, ...readErrors },
      },
    },
    async (request) => {
      const t = asTemplate(await getTemplate(ctx.db, request.params.orgId, request.params.templateId));
      const preview = renderPreview(t, request.body.variables);
      let message: Record<string, unknown> | null = null;
      try {
        message = { ...buildTemplateMessage(t, request.body.variables) };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
      }
      return { ...preview, message };
    },
  );
};
