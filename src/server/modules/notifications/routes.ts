import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { requireMember } from "../../http/request-context.js";
import { orgParams } from "../contacts/schemas.js";
import { listNotificationsQuery, markReadBody, markReadResultSchema, notificationListSchema } from "./schemas.js";
import { listNotifications, markRead } from "./service.js";

const errors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

export const notificationsRoutes: FastifyPluginAsyncZod = async (app) => {
  const { db } = app.ctx;

  app.get(
    "/orgs/:orgId/notifications",
    {
      config: { access: access.member() },
      schema: {
        tags: ["notifications"],
        summary: "The caller's in-app notifications, newest first, with the unread count",
        description:
          "Only the caller's own (conversation assigned to them, mentioned in a note, broadcast finished), as their " +
          "in-app preferences allow. `?unread=true` lists unread ones only.",
        params: orgParams,
        querystring: listNotificationsQuery,
        response: { 200: notificationListSchema, ...errors },
      },
    },
    async (request) => listNotifications(db, requireMember(request), request.query),
  );

  app.post(
    "/orgs/:orgId/notifications/read",
    {
      config: { access: access.member() },
      schema: {
        tags: ["notifications"],
        summary: "Mark notifications read: `{ids}` or `{all: true}`",
        description:
          "The caller's own only: ids of other members' notifications (or unknown ids) change nothing. The " +
          "member's own state, not a workspace change: no activity record.",
        params: orgParams,
        body: markReadBody,
        response: { 200: markReadResultSchema, ...errors },
      },
    },
    async (request) => markRead(db, requireMember(request), request.body),
  );
};
