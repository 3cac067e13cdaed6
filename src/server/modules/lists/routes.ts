import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { createListBody, listMembershipBody, updateListBody } from "../../../shared/schemas/contacts.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { contactListSchema, contactListsSchema, listParams, membershipResultSchema } from "./schemas.js";
import { changeListContacts, createList, deleteList, getList, listLists, MAX_LISTS, updateList } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

export const listsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/lists",
    {
      config: { access: access.member("contacts:read") },
      schema: {
        tags: ["lists"],
        summary: "Static contact lists with their contact counts, A→Z (all of them: nextCursor is null)",
        description: `At most ${MAX_LISTS} lists per organization. A list's contacts: \`GET /contacts?listId=\`.`,
        params: orgParams,
        response: { 200: contactListsSchema, ...readErrors },
      },
    },
    async (request) => ({ items: await listLists(db, request.params.orgId), nextCursor: null }),
  );

  app.get(
    "/orgs/:orgId/lists/:listId",
    {
      config: { access: access.member("contacts:read") },
      schema: {
        tags: ["lists"],
        summary: "One list with its contact count",
        params: listParams,
        response: { 200: contactListSchema, ...readErrors },
      },
    },
    async (request) => getList(db, request.params.orgId, request.params.listId),
  );

  app.post(
    "/orgs/:orgId/lists",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["lists"],
        summary: "Create a list",
        description: `Names are unique per organization, case-insensitively (409 \`list_name_taken\`); 409 \`list_limit_reached\` past ${MAX_LISTS}.`,
        params: orgParams,
        body: createListBody,
        response: { 201: contactListSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createList(db, requireMember(request), actorOf(request), request.body)),
  );

  app.patch(
    "/orgs/:orgId/lists/:listId",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["lists"],
        summary: "Rename a list or edit its description",
        params: listParams,
        body: updateListBody,
        response: { 200: contactListSchema, ...writeErrors },
      },
    },
    async (request) => updateList(db, requireMember(request), actorOf(request), request.params.listId, request.body),
  );

  app.delete(
    "/orgs/:orgId/lists/:listId",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["lists"],
        summary: "Delete a list (its contacts stay)",
        params: listParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteList(db, requireMember(request), actorOf(request), request.params.listId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/orgs/:orgId/lists/:listId/contacts",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["lists"],
        summary: "Add contacts to a list (at most 1,000 ids; others' ids are ignored)",
        description: "For a whole filter, use `POST /contacts/bulk` with `add_to_list`.",
        params: listParams,
        body: listMembershipBody,
        response: { 200: membershipResultSchema, ...writeErrors },
      },
    },
    async (request) =>
      changeListContacts(
        db,
        requireMember(request),
        actorOf(request),
        request.params.listId,
        request.body.contactIds,
        "add",
      ),
  );

  app.delete(
    "/orgs/:orgId/lists/:listId/contacts",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["lists"],
        summary: "Remove contacts from a list (at most 1,000 ids)",
        params: listParams,
        body: listMembershipBody,
        response: { 200: membershipResultSchema, ...writeErrors },
      },
    },
    async (request) =>
      changeListContacts(
        db,
        requireMember(request),
        actorOf(request),
        request.params.listId,
        request.body.contactIds,
        "remove",
      ),
  );
};
