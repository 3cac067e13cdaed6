import type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  bulkContactsBody,
  createContactBody,
  exportContactsQuery,
  importContactsQuery,
  listContactsQuery,
  updateContactBody,
} from "../../../shared/schemas/contacts.js";
import { access } from "../../http/access.js";
import { notFound, problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { exportContacts } from "./export.js";
import { getImport, IMPORT_BODY_LIMIT, listImports, MAX_IMPORT_ROWS, startImport } from "./import.js";
import { getContact, listContactPage } from "./query.js";
import {
  bulkResultSchema,
  contactListSchema,
  contactParams,
  contactSchema,
  importAcceptedSchema,
  importParams,
  importSchema,
  orgParams,
} from "./schemas.js";
import { bulkContacts, createContact, deleteContact, updateContact } from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

export const contactsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;
  const { db } = ctx;

  app.get(
    "/orgs/:orgId/contacts",
    {
      config: { access: access.member("contacts:read") },
      schema: {
        tags: ["contacts"],
        summary: "Contacts: search, filter by tag or list, sort, cursor pages",
        description:
          "`q`: digits (spaces, dashes, dots, parentheses ignored; with or without `+` or `00`) search the phone by " +
          "prefix; other text searches the name by prefix, case-insensitively. `tagId`, `listId` filter. `sort`: " +
          "`created` (newest first, default), `name` (A→Z, unnamed first), `lastMessage` (most recent first). " +
          "Each item carries its tag and list ids.",
        params: orgParams,
        querystring: listContactsQuery,
        response: { 200: contactListSchema, ...readErrors },
      },
    },
    async (request) => listContactPage(db, request.params.orgId, request.query),
  );

  app.post(
    "/orgs/:orgId/contacts",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["contacts"],
        summary: "Create a contact",
        description:
          "The phone is stored in E.164 (`+15551234567`). A number without its international prefix needs " +
          "`country` (ISO 3166, e.g. `ES`); otherwise 400 `invalid_phone` with `reason` " +
          "(`invalid_country`, `too_short`, `too_long`, `not_possible`, `not_a_number`, `extension`). " +
          "Unique per organization: 409 `contact_exists` with the existing `contactId` (also for a taken `waId`). " +
          "`tagIds` / `listIds` must be the organization's (400 `unknown_tag` / `unknown_list`).",
        params: orgParams,
        body: createContactBody,
        response: { 201: contactSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const contact = await createContact(db, requireMember(request), actorOf(request), request.body);
      return reply.code(201).send(contact);
    },
  );

  app.post(
    "/orgs/:orgId/contacts/bulk",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["contacts"],
        summary: "A bulk action on selected contacts or on every contact matching a filter",
        description:
          "`action`: `add_tag` / `remove_tag` (with `tagId`), `add_to_list` / `remove_from_list` (with `listId`), " +
          "`delete`. The selection is `contactIds` (at most 1,000; ids of other organizations are ignored) or " +
          "`filter` (`q`, `tagId`, `listId` as in the list; at most 100,000 matching contacts, else 400 " +
          "`selection_too_large`). One transaction and one activity record naming how many contacts it touched. " +
          "404 `tag_not_found` / `list_not_found`.",
        params: orgParams,
        body: bulkContactsBody,
        response: { 200: bulkResultSchema, ...writeErrors },
      },
    },
    async (request) => bulkContacts(db, requireMember(request), actorOf(request), request.body),
  );

  // The CSV import takes text/csv: the parser lives in this context only, every other route stays JSON.
  await app.register(async (csv) => {
    csv.addContentTypeParser("text/csv", { parseAs: "string", bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) =>
      done(null, body),
    );
    csv.withTypeProvider<ZodTypeProvider>().post(
      "/orgs/:orgId/contacts/import",
      {
        // The body limit is the text/csv parser's (above): a JSON body here keeps the app's limit.
        config: { access: access.member("contacts:import_export") },
        schema: {
          tags: ["contacts"],
          summary: "Import contacts from a CSV document (202: processed in the background)",
          description:
            "Body: the CSV document as `text/csv` (at most 32 MB and 200,000 rows). Header row read by name: " +
            "`phone` (required), `name`, `tags` and `lists` (names separated by `;`, created when new, matched " +
            "case-insensitively), `attr.<key>`; the export's read-only columns are ignored; any other column is 400 " +
            "`unknown_column` naming it. Numbers without `+` need `?country=`. Existing phones are updated (name " +
            "when given, attributes merged, tags and lists added), not duplicated. Answers 202 `{id, state}` at " +
            "once; follow `GET /contacts/imports/{importId}`. One import at a time per organization (409 " +
            "`import_in_progress` with its `importId`).",
          params: orgParams,
          querystring: importContactsQuery,
          body: z.string().max(IMPORT_BODY_LIMIT).meta({ description: "text/csv" }),
          response: { 202: importAcceptedSchema, ...writeErrors, 413: problemSchema, 415: problemSchema },
        },
      },
      async (request, reply) => {
        const result = await startImport(
          ctx,
          requireMember(request),
          actorOf(request),
          request.body,
          request.query.country,
        );
        return reply.code(202).send(result);
      },
    );
  });

  app.get(
    "/orgs/:orgId/contacts/imports",
    {
      config: { access: access.member("contacts:import_export") },
      schema: {
        tags: ["contacts"],
        summary: "The organization's latest imports (20), newest first",
        params: orgParams,
        response: { 200: z.object({ items: z.array(importSchema), nextCursor: z.null() }), ...readErrors },
      },
    },
    async (request) => ({ items: await listImports(db, request.params.orgId), nextCursor: null }),
  );

  app.get(
    "/orgs/:orgId/contacts/imports/:importId",
    {
      config: { access: access.member("contacts:import_export") },
      schema: {
        tags: ["contacts"],
        summary: "Progress and per-row errors of an import",
        description: `\`state\`: queued → running → completed | failed. \`total\` is known once running. At most ${MAX_IMPORT_ROWS.toLocaleString("en")} rows; the first 1,000 row errors are kept.`,
        params: importParams,
        response: { 200: importSchema, ...readErrors },
      },
    },
    async (request) => getImport(db, request.params.orgId, request.params.importId),
  );

  app.get(
    "/orgs/:orgId/contacts/export",
    {
      config: { access: access.member("contacts:import_export") },
      schema: {
        tags: ["contacts"],
        summary: "Export the contacts matching the filters as CSV, streamed",
        description:
          "Same filters as the list (`q`, `tagId`, `listId`). Columns: phone, name, tags, lists, attr.<key>…, then " +
          "wa_id, opted_out_at, opt_out_source, created_at (the import ignores these, so an export imports back). " +
          "Cells a spreadsheet would run as a formula (starting with = + - @, tab or CR) are prefixed with `'`. " +
          "Recorded as `contact.exported`.",
        params: orgParams,
        querystring: exportContactsQuery,
        response: { 200: z.string().meta({ description: "text/csv, streamed" }), ...readErrors },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const { format, ...filters } = request.query;
      const given = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
      await recordActivity(db, actorOf(request), {
        orgId,
        action: "contact.exported",
        target: { type: "contact", id: null, label: `${format} export` },
        changes: { format: { after: format }, filters: { after: given } },
      });
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
      reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="contacts-${stamp}.csv"`)
        .header("x-content-type-options", "nosniff");
      return reply.send(exportContacts(db, orgId, filters) as unknown as string);
    },
  );

  app.get(
    "/orgs/:orgId/contacts/:contactId",
    {
      config: { access: access.member("contacts:read") },
      schema: {
        tags: ["contacts"],
        summary: "One contact",
        params: contactParams,
        response: { 200: contactSchema, ...readErrors },
      },
    },
    async (request) => {
      const contact = await getContact(db, request.params.orgId, request.params.contactId);
      if (!contact) throw notFound("contact", "contact_not_found");
      return contact;
    },
  );

  app.patch(
    "/orgs/:orgId/contacts/:contactId",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["contacts"],
        summary: "Edit a contact",
        description:
          "Every field optional. `attributes` merges: a value sets a key, `null` removes it (at most 50 in all, 400 " +
          "`too_many_attributes`). `tagIds` / `listIds` replace the contact's tags / lists. `optedOut: true` records " +
          "the opt-out now with source `manual`; `false` clears it. A phone another contact has: 409 `contact_exists`.",
        params: contactParams,
        body: updateContactBody,
        response: { 200: contactSchema, ...writeErrors },
      },
    },
    async (request) =>
      updateContact(db, requireMember(request), actorOf(request), request.params.contactId, request.body),
  );

  app.delete(
    "/orgs/:orgId/contacts/:contactId",
    {
      config: { access: access.member("contacts:manage") },
      schema: {
        tags: ["contacts"],
        summary: "Delete a contact (its tags and list memberships go with it)",
        params: contactParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteContact(db, requireMember(request), actorOf(request), request.params.contactId);
      return reply.code(204).send(null);
    },
  );
};
