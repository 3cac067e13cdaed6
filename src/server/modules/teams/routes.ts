import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { createTeamBody, updateTeamBody } from "../../../shared/schemas/contacts.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { teamListSchema, teamParams, teamSchema } from "./schemas.js";
import { createTeam, deleteTeam, getTeam, listTeams, MAX_TEAMS, updateTeam } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

export const teamsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/teams",
    {
      config: { access: access.member("members:read") },
      schema: {
        tags: ["teams"],
        summary: "Teams of the organization with their members, A→Z (all of them: nextCursor is null)",
        description: `At most ${MAX_TEAMS} teams per organization. A team's members in full: \`GET /members?teamId=\`.`,
        params: orgParams,
        response: { 200: teamListSchema, ...readErrors },
      },
    },
    async (request) => ({ items: await listTeams(db, request.params.orgId), nextCursor: null }),
  );

  app.get(
    "/orgs/:orgId/teams/:teamId",
    {
      config: { access: access.member("members:read") },
      schema: {
        tags: ["teams"],
        summary: "One team",
        params: teamParams,
        response: { 200: teamSchema, ...readErrors },
      },
    },
    async (request) => getTeam(db, request.params.orgId, request.params.teamId),
  );

  app.post(
    "/orgs/:orgId/teams",
    {
      config: { access: access.member("members:update") },
      schema: {
        tags: ["teams"],
        summary: "Create a team",
        description:
          "Names are unique per organization, case-insensitively (409 `team_name_taken`). `memberIds` are member " +
          "ids of the organization (400 `unknown_member`); a member may be in several teams.",
        params: orgParams,
        body: createTeamBody,
        response: { 201: teamSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createTeam(db, requireMember(request), actorOf(request), request.body)),
  );

  app.patch(
    "/orgs/:orgId/teams/:teamId",
    {
      config: { access: access.member("members:update") },
      schema: {
        tags: ["teams"],
        summary: "Edit a team (`memberIds` replaces its members)",
        params: teamParams,
        body: updateTeamBody,
        response: { 200: teamSchema, ...writeErrors },
      },
    },
    async (request) => updateTeam(db, requireMember(request), actorOf(request), request.params.teamId, request.body),
  );

  app.delete(
    "/orgs/:orgId/teams/:teamId",
    {
      config: { access: access.member("members:update") },
      schema: {
        tags: ["teams"],
        summary: "Delete a team (its team-specific tags become organization-wide)",
        params: teamParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteTeam(db, requireMember(request), actorOf(request), request.params.teamId);
      return reply.code(204).send(null);
    },
  );
};
