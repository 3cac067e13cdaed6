import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  audienceQueryBody,
  createBroadcastBody,
  listBroadcastsQuery,
  previewBroadcastBody,
  recipientsQuery,
  sendBroadcastBody,
  updateBroadcastBody,
} from "../../../shared/schemas/broadcasts.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { csvCell } from "../../lib/csv-cell.js";
import { orgParams } from "../contacts/schemas.js";
import {
  audienceSizeSchema,
  broadcastDetailSchema,
  broadcastListSchema,
  broadcastParams,
  broadcastPreviewSchema,
  recipientListSchema,
  timelineSchema,
} from "./schemas.js";
import {
  audienceOf,
  cancelBroadcast,
  createBroadcast,
  deleteBroadcast,
  getBroadcast,
  getBroadcastRow,
  listBroadcasts,
  listRecipients,
  pauseBroadcast,
  previewFor,
  recipientBatches,
  resumeBroadcast,
  sendBroadcast,
  timelineOf,
  updateBroadcast,
} from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

const CSV_COLUMNS = [
  "phone",
  "name",
  "status",
  "error_code",
  "error",
  "variables",
  "sent_at",
  "delivered_at",
  "read_at",
  "failed_at",
  "replied_at",
] as const;

export const broadcastsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;
  const { db } = ctx;

  app.get(
    "/orgs/:orgId/broadcasts",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "Broadcasts, newest first, with their counts",
        description:
          "Counts are cumulative: `sent` counts recipients sent, delivered or read; `delivered` those delivered or read.",
        params: orgParams,
        querystring: listBroadcastsQuery,
        response: { 200: broadcastListSchema, ...readErrors },
      },
    },
    async (request) => listBroadcasts(db, request.params.orgId, request.query),
  );

  app.post(
    "/orgs/:orgId/broadcasts",
    {
      config: { access: access.member("broadcasts:manage") },
      schema: {
        tags: ["broadcasts"],
        summary: "Create a draft broadcast",
        description:
          "The template must be APPROVED and of the channel; `variables` keys must be the template's (`1`, `first_name`, " +
          "`header.1`, `button.0`…), each `{field: name|first_name|phone, fallback?}`, `{attribute, fallback?}` or " +
          "`{text}`. `scheduledAt` without an offset is read in the organization's timezone.",
        params: orgParams,
        body: createBroadcastBody,
        response: { 201: broadcastDetailSchema, ...writeErrors },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await createBroadcast(ctx, requireMember(request), actorOf(request), request.body)),
  );

  app.post(
    "/orgs/:orgId/broadcasts/audience",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "The size of an audience: distinct contacts, opted-out ones left out, duplicates counted",
        params: orgParams,
        body: audienceQueryBody,
        response: { 200: audienceSizeSchema, ...readErrors },
      },
    },
    async (request) => audienceOf(ctx, request.params.orgId, request.body.audience),
  );

  app.post(
    "/orgs/:orgId/broadcasts/preview",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "A template with a mapping, rendered for one contact as WhatsApp shows it",
        params: orgParams,
        body: previewBroadcastBody,
        response: { 200: broadcastPreviewSchema, ...readErrors },
      },
    },
    async (request) => previewFor(ctx, request.params.orgId, request.body),
  );

  app.get(
    "/orgs/:orgId/broadcasts/:broadcastId",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "One broadcast: counts, failure reasons, and a draft's audience size",
        params: broadcastParams,
        response: { 200: broadcastDetailSchema, ...readErrors },
      },
    },
    async (request) => getBroadcast(db, request.params.orgId, request.params.broadcastId),
  );

  app.patch(
    "/orgs/:orgId/broadcasts/:broadcastId",
    {
      config: { access: access.member("broadcasts:manage") },
      schema: {
        tags: ["broadcasts"],
        summary: "Edit a draft (409 `broadcast_not_draft` otherwise; `version` guards concurrent edits)",
        params: broadcastParams,
        body: updateBroadcastBody,
        response: { 200: broadcastDetailSchema, ...writeErrors },
      },
    },
    async (request) =>
      updateBroadcast(ctx, requireMember(request), actorOf(request), request.params.broadcastId, request.body),
  );

  app.delete(
    "/orgs/:orgId/broadcasts/:broadcastId",
    {
      config: { access: access.member("broadcasts:manage") },
      schema: {
        tags: ["broadcasts"],
        summary: "Delete a draft",
        params: broadcastParams,
        response: { 204: z.null(), ...writeErrors },
      },
    },
    async (request, reply) => {
      await deleteBroadcast(ctx, requireMember(request), actorOf(request), request.params.broadcastId);
      return reply.code(204).send(null);
    },
  );

  const transitions = [
    ["send", "Send now, or at `scheduledAt` (the organization's timezone when it has no offset)"],
    ["pause", "Pause sending (takes effect within one batch)"],
    ["resume", "Resume a paused broadcast"],
    ["cancel", "Cancel: recipients not yet sent to are cancelled"],
  ] as const;
  for (const [verb, summary] of transitions) {
    app.post(
      `/orgs/:orgId/broadcasts/:broadcastId/${verb}`,
      {
        config: { access: access.member("broadcasts:send") },
        schema: {
          tags: ["broadcasts"],
          summary,
          description:
            "Status `draft → scheduled → sending ⇄ paused → completed | cancelled | failed`, compare-and-set: a " +
            "transition the current status does not allow is 409 `broadcast_state_conflict` (of two concurrent sends, one wins).",
          params: broadcastParams,
          ...(verb === "send" ? { body: sendBroadcastBody } : {}),
          response: { 200: broadcastDetailSchema, ...writeErrors },
        },
      },
      async (request) => {
        const member = requireMember(request);
        const by = actorOf(request);
        const id = request.params.broadcastId;
        switch (verb) {
          case "send":
            return sendBroadcast(ctx, member, by, id, (request.body ?? {}) as { scheduledAt?: string | null });
          case "pause":
            return pauseBroadcast(ctx, member, by, id);
          case "resume":
            return resumeBroadcast(ctx, member, by, id);
          case "cancel":
            return cancelBroadcast(ctx, member, by, id);
        }
      },
    );
  }

  app.get(
    "/orgs/:orgId/broadcasts/:broadcastId/recipients",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "The frozen recipients with their status (cursor pages, in send order)",
        params: broadcastParams,
        querystring: recipientsQuery,
        response: { 200: recipientListSchema, ...readErrors },
      },
    },
    async (request) => listRecipients(db, request.params.orgId, request.params.broadcastId, request.query),
  );

  app.get(
    "/orgs/:orgId/broadcasts/:broadcastId/recipients/export",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "The recipients as CSV (streamed; formula-looking cells neutralised)",
        params: broadcastParams,
        response: { 200: z.string().meta({ description: "text/csv, streamed" }), ...readErrors },
      },
    },
    async (request, reply) => {
      const { orgId, broadcastId } = request.params;
      await getBroadcastRow(db, orgId, broadcastId);
      async function* chunks(): AsyncGenerator<string> {
        yield `${CSV_COLUMNS.join(",")}\r\n`;
        for await (const batch of recipientBatches(db, orgId, broadcastId)) {
          let out = "";
          for (const r of batch) {
            out += `${[
              r.recipient,
              r.contactName,
              r.status,
              r.errorCode === null ? "" : String(r.errorCode),
              r.errorTitle,
              Object.keys(r.variables).length ? JSON.stringify(r.variables) : "",
              r.sentAt?.toISOString(),
              r.deliveredAt?.toISOString(),
              r.readAt?.toISOString(),
              r.failedAt?.toISOString(),
              r.repliedAt?.toISOString(),
            ]
              .map((v) => csvCell(v))
              .join(",")}\r\n`;
          }
          yield out;
        }
      }
      reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="broadcast-${broadcastId}-recipients.csv"`)
        .header("x-content-type-options", "nosniff");
      return reply.send(Readable.from(chunks()) as unknown as string);
    },
  );

  app.get(
    "/orgs/:orgId/broadcasts/:broadcastId/timeline",
    {
      config: { access: access.member("broadcasts:read") },
      schema: {
        tags: ["broadcasts"],
        summary: "The broadcast's own history (its activity records), newest first",
        params: broadcastParams,
        response: { 200: timelineSchema, ...readErrors },
      },
    },
    async (request) => timelineOf(db, request.params.orgId, request.params.broadcastId),
  );
};
