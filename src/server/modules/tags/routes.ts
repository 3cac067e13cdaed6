import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { createTagBody, listTagsQuery, updateTagBody } from "../../../shared/schemas/contacts.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { tagListSchema, tagParams, tagSchema } from "./schemas.js";
import { createTag, deleteTag, getTag, listTags, MAX_TAGS, tagWithCount, updateTag } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

export const tagsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/tags",
    {
      config: { access: access.member("contacts:read") },
      schema: {
        tags: ["tags"],
        summary: "Tags of the organization, A→Z (all of them: nextCursor is null)",
        description: `\`teamId\` lists a team's tags. At most ${MAX_TAGS} tags per organization.`,
        params: orgParams,
        querystring: listTagsQuery,
        response: { 200: tagListSchema, ...readErrors },
      },
    },
    async (request) => ({ items: await listTags(db, request.params.orgId, request.query.teamId), nextCursor: null }),
  );

  app.get(
    "/orgs/:orgId/tags/:tagId",
    {
      config: { access: access.member("contacts:read") },
      schema: { tags: ["tags"], summary: "One tag", params: tagParams, response: { 200: tagSchema, ...readErrors } },
    },
    async (request) => tagWithCount(db, await getTag(db, request.params.orgId, request.params.tagId)),
  );

  app.post(
    "/orgs/:orgId/tags",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["tags"],
        summary: "Create a tag",
        description:
          "Names are unique per organization, case-insensitively (409 `tag_name_taken`). `color`: `#rrggbb`. " +
          "`teamId`: a team of the organization (400 `unknown_team`) makes it a team-specific tag. " +
          `409 \`tag_limit_reached\` past ${MAX_TAGS} tags.`,
        params: orgParams,
        body: createTagBody,
        response: { 201: tagSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createTag(db, requireMember(request), actorOf(request), request.body)),
  );

  app.patch(
    "/orgs/:orgId/tags/:tagId",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["tags"],
        summary: "Edit a tag (name, colour, team; `teamId: null` makes it organization-wide)",
        params: tagParams,
        body: updateTagBody,
        response: { 200: tagSchema, ...writeErrors },
      },
    },
    async (request) => updateTag(db, requireMember(request), actorOf(request), request.params.tagId, request.body),
  );

  app.delete(
    "/orgs/:orgId/tags/:tagId",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["tags"],
        summary: "Delete a tag (it is taken off every contact)",
        params: tagParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteTag(db, requireMember(request), actorOf(request), request.params.tagId);
      return reply.code(204).send(null);
    },
  );
};
