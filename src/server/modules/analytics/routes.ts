import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { recordActivity } from "../activity/record.js";
import { orgParams } from "../contacts/schemas.js";
import { CHAT_ANALYTICS_CSV_COLUMNS, chatAnalyticsCsv, chatAnalyticsFilename } from "./export.js";
import { chatAnalyticsQuery, chatAnalyticsSchema, MAX_PERIOD_DAYS } from "./schemas.js";
import { chatAnalytics } from "./service.js";

const PERIOD =
  "`from` and `to`: `YYYY-MM-DD` (UTC days, `to` included) or ISO 8601 times with an offset; the period " +
  `is [from, to), at most ${MAX_PERIOD_DAYS} days (400 \`invalid_period\` with \`reason\` ` +
  "`to_not_after_from` or `too_long`).";

const errors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

/** Chat analytics (issue 15, DESIGN §7.1): figures per member and per team over a period, computed in SQL. */
export const analyticsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;
  app.get(
    "/orgs/:orgId/analytics/chats",
    {
      config: { access: access.member("chats:analytics") },
      schema: {
        tags: ["analytics"],
        summary:
          "Per member and per team: conversations handled and resolved, median first response and resolution time, messages sent",
        description:
          `${PERIOD} Every member of the organization is listed in \`items\`; \`teams\` has every team (the ` +
          "conversation's team now) then one row with `teamId` null for conversations without a team; `totals` " +
          "counts distinct conversations for the whole organization. Resolution time: from a conversation's first " +
          "inbound message in the period to the first resolution after it, credited to the member who resolved.",
        params: orgParams,
        querystring: chatAnalyticsQuery,
        response: { 200: chatAnalyticsSchema, ...errors },
      },
    },
    async (request) => chatAnalytics(db, requireMember(request).orgId, request.query),
  );

  app.get(
    "/orgs/:orgId/analytics/chats/export",
    {
      config: { access: access.member("chats:analytics") },
      schema: {
        tags: ["analytics"],
        summary: "Export chat analytics as CSV (rows per member and per team)",
        description:
          `${PERIOD} The figures of \`GET /analytics/chats\` as CSV (RFC 4180), columns ` +
          `${CHAT_ANALYTICS_CSV_COLUMNS.join(", ")}; \`group\` is member, team or total; members and teams by ` +
          "name (conversations without a team: `(no team)`); an empty median means none to take. Cells a " +
          "spreadsheet would run as a formula are prefixed with `'`. The filename carries the period " +
          "(`chat-analytics-2026-03-01_2026-03-31.csv`). Recorded as `analytics.exported`.",
        params: orgParams,
        querystring: chatAnalyticsQuery,
        response: { 200: z.string().meta({ description: "text/csv" }), ...errors },
      },
    },
    async (request, reply) => {
      const { orgId } = requireMember(request);
      // Computed first: a bad period is a 400 and no record.
      const figures = await chatAnalytics(db, orgId, request.query);
      await recordActivity(db, actorOf(request), {
        orgId,
        action: "analytics.exported",
        target: { type: "analytics", id: null, label: "chats csv export" },
        changes: { period: { after: { from: figures.from, to: figures.to } } },
      });
      reply
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${chatAnalyticsFilename(figures.from, figures.to)}"`)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-store");
      return reply.send(chatAnalyticsCsv(figures));
    },
  );
};
