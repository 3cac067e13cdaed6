import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { pageOf, uuidSchema } from "../../../shared/schemas/common.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { actorOf, requireMember } from "../../http/request-context.js";
import { accessReview } from "./access-review.js";
import { exportStream } from "./export.js";
import { listLoginActivity } from "./login-activity.js";
import { listActivity } from "./query.js";
import { recordActivity } from "./record.js";
import {
  accessReviewQuery,
  accessReviewResponse,
  activityExportQuery,
  activityItem,
  activityListQuery,
  loginActivityItem,
  loginActivityQuery,
} from "./schemas.js";

const orgParams = z.object({ orgId: uuidSchema });
const errors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

/**
 * Activity log, its export, login activity and the access review: read-only by design.
 * There is no route that changes or deletes an activity record (only the retention job deletes).
 */
export const activityRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/activity",
    {
      config: { access: access.member("audit:read") },
      schema: {
        tags: ["activity"],
        summary: "Activity log, newest first",
        description:
          "Filters: `actorId` (user id), `action` (exact, or a prefix ending in `.` or `*` such as `member.`), " +
          "`targetType`, `targetId`, `from` (inclusive) and `to` (exclusive) as ISO 8601 date-times.",
        params: orgParams,
        querystring: activityListQuery,
        response: { 200: pageOf(activityItem), ...errors },
      },
    },
    async (request) => listActivity(db, request.params.orgId, request.query),
  );

  app.get(
    "/orgs/:orgId/activity/export",
    {
      config: { access: access.member("audit:read") },
      schema: {
        tags: ["activity"],
        summary: "Export the activity log (CSV or JSON Lines), streamed",
        description:
          "Same filters as the activity log. CSV follows RFC 4180 with a header row; cells that a spreadsheet " +
          "would run as a formula are prefixed with `'`. The export itself is recorded as `activity.exported`.",
        params: orgParams,
        querystring: activityExportQuery,
        response: {
          200: z.string().meta({ description: "text/csv or application/x-ndjson, streamed" }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { orgId } = request.params;
      const { format, ...filters } = request.query;
      const member = requireMember(request);
      // Who took a copy of the audit trail is itself worth auditing (not a state change).
      const given = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
      await recordActivity(db, actorOf(request), {
        orgId,
        action: "activity.exported",
        target: { type: "activity", id: null, label: `${format} export` },
        changes: { format: { after: format }, filters: { after: given } },
      });
      const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
      reply
        .header("content-type", format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8")
        .header("content-disposition", `attachment; filename="activity-${stamp}.${format}"`)
        .header("x-content-type-options", "nosniff");
      request.log.info({ orgId, memberId: member.memberId, format }, "activity export started");
      // A stream is sent as is (no serializer); the 200 schema only documents it.
      return reply.send(exportStream(db, orgId, format, filters) as unknown as string);
    },
  );

  app.get(
    "/orgs/:orgId/login-activity",
    {
      config: { access: access.member("audit:read") },
      schema: {
        tags: ["activity"],
        summary: "Sign-in attempts of the organization's members, newest first",
        description:
          "Attempts of current members since they joined. Filters: `memberId`, `success` (true|false), `from`, `to`.",
        params: orgParams,
        querystring: loginActivityQuery,
        response: { 200: pageOf(loginActivityItem), ...errors },
      },
    },
    async (request) => listLoginActivity(db, request.params.orgId, request.query),
  );

  app.get(
    "/orgs/:orgId/access-review",
    {
      config: { access: access.member("audit:read") },
      schema: {
        tags: ["activity"],
        summary: "Access review: roles, permissions, last activity, 2FA and risk per member",
        description:
          "`sort=risk` (default) puts the riskiest first: riskScore = 50 × permissions/catalogue + " +
          "30 × min(days inactive, 365)/365 + 20 without 2FA. `sort=lastActive` puts the longest inactive first.",
        params: orgParams,
        querystring: accessReviewQuery,
        response: { 200: accessReviewResponse, ...errors },
      },
    },
    async (request) => accessReview(db, request.params.orgId, request.query),
  );
};
