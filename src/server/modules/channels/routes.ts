import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { access } from "../../http/access.js";
import { notFound, problemSchema } from "../../http/problem.js";
import { actorOf } from "../../http/request-context.js";
import { whatsappOf } from "../whatsapp/runtime.js";
import { getChannel } from "./repo.js";
import {
  channelListSchema,
  channelOptionListSchema,
  channelParams,
  channelSchema,
  channelTestSchema,
  createChannelBody,
  orgParams,
  updateChannelBody,
} from "./schemas.js";
import {
  channelDto,
  createChannel,
  deleteChannel,
  listChannelOptions,
  listChannels,
  testChannel,
  updateChannel,
} from "./service.js";

const readErrors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const writeErrors = { ...readErrors, 409: problemSchema };

/** WhatsApp numbers connected to the organization (design §7.1 channels). */
export const channelsRoutes: FastifyPluginAsyncZod = async (app) => {
  const ctx = app.ctx;

  app.get(
    "/orgs/:orgId/channels",
    {
      config: { access: access.member("settings:read") },
      schema: {
        tags: ["channels"],
        summary: "WhatsApp numbers connected to the organization",
        description:
          "Oldest first. Not paginated (`nextCursor` is null). Access tokens and app secrets are never returned.",
        params: orgParams,
        response: { 200: channelListSchema, ...readErrors },
      },
    },
    async (request) => ({ items: await listChannels(ctx, request.params.orgId), nextCursor: null }),
  );

  // Template Managers and Broadcast Managers pick a number, operators filter the inbox by one, none
  // of them holds settings:read (which shows Meta ids and the webhook details). Any member.
  app.get(
    "/orgs/:orgId/channels/options",
    {
      config: { access: access.member() },
      schema: {
        tags: ["channels"],
        summary: "The numbers any member may pick or filter by",
        description:
          "Name, display number and mode only: no Meta ids, webhook URL, verify token or secrets. Oldest first, not paginated.",
        params: orgParams,
        response: { 200: channelOptionListSchema, ...readErrors },
      },
    },
    async (request) => ({ items: await listChannelOptions(ctx, request.params.orgId), nextCursor: null }),
  );

  app.get(
    "/orgs/:orgId/channels/:channelId",
    {
      config: { access: access.member("settings:read") },
      schema: {
        tags: ["channels"],
        summary: "One WhatsApp number",
        params: channelParams,
        response: { 200: channelSchema, ...readErrors },
      },
    },
    async (request) => {
      const row = await getChannel(ctx.db, request.params.orgId, request.params.channelId);
      if (!row) throw notFound("channel", "channel_not_found");
      return channelDto(ctx, row);
    },
  );

  app.post(
    "/orgs/:orgId/channels",
    {
      config: { access: access.member("settings:manage") },
      schema: {
        tags: ["channels"],
        summary: "Connect a WhatsApp number",
        description:
          "Answers the webhook URL and verify token to paste into Meta's App Dashboard. The access token and app " +
          "secret are encrypted at rest and never returned. A phone number id can be connected once (409 " +
          "`channel_exists`); `simulator` channels are refused in production (400 `simulator_not_allowed`).",
        params: orgParams,
        body: createChannelBody,
        response: { 201: channelSchema, ...writeErrors },
      },
    },
    async (request, reply) => {
      const dto = await createChannel(ctx, request.params.orgId, actorOf(request), request.body);
      return reply.code(201).send(dto);
    },
  );

  app.patch(
    "/orgs/:orgId/channels/:channelId",
    {
      config: { access: access.member("settings:manage") },
      schema: {
        tags: ["channels"],
        summary: "Edit a WhatsApp number (name, ids, rotate token or app secret, regenerate the verify token)",
        params: channelParams,
        body: updateChannelBody,
        response: { 200: channelSchema, ...writeErrors },
      },
    },
    async (request) => {
      const { orgId, channelId } = request.params;
      const dto = await updateChannel(ctx, orgId, channelId, actorOf(request), request.body);
      whatsappOf(ctx).forgetChannel(channelId);
      return dto;
    },
  );

  app.delete(
    "/orgs/:orgId/channels/:channelId",
    {
      config: { access: access.member("settings:manage") },
      schema: {
        tags: ["channels"],
        summary: "Disconnect a WhatsApp number",
        description: "Its webhooks answer 404 from then on; its conversations and messages are deleted with it.",
        params: channelParams,
        response: { 204: z.null(), ...readErrors },
      },
    },
    async (request, reply) => {
      const { orgId, channelId } = request.params;
      await deleteChannel(ctx, orgId, channelId, actorOf(request));
      whatsappOf(ctx).forgetChannel(channelId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/orgs/:orgId/channels/:channelId/test",
    {
      config: { access: access.member("settings:manage") },
      schema: {
        tags: ["channels"],
        summary: "Test the connection: the number's verified name and quality rating, or Meta's error",
        description:
          "Calls `GET /{phoneNumberId}?fields=verified_name,quality_rating,display_phone_number` on the Graph API " +
          "with the channel's token. A refusal by Meta is `ok: false` with Meta's code, title and details.",
        params: channelParams,
        response: { 200: channelTestSchema, ...readErrors },
      },
    },
    async (request) => {
      const { orgId, channelId } = request.params;
      return testChannel(ctx, orgId, channelId, actorOf(request), whatsappOf(ctx).graph);
    },
  );
};
