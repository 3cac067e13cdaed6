import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { disableTwoFactorBody, enableTotpBody, regenerateRecoveryCodesBody } from "../../../shared/schemas/me.js";
import { access } from "../../http/access.js";
import { requireUser } from "../../http/request-context.js";
import { meErrors, recoveryCodesSchema, totpSetupSchema } from "./schemas.js";
import { disableTwoFactor, enableTotp, regenerateRecoveryCodes, setupTotp } from "./two-factor.js";

export const twoFactorRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;
  const signedIn = { access: access.signedIn() };

  app.post(
    "/me/2fa/totp/setup",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Start TOTP enrolment: a new secret, its otpauth:// URL and a QR code (SVG)",
        description: "Two-factor stays off until `/me/2fa/totp/enable` receives a valid code.",
        response: { 200: totpSetupSchema, ...meErrors },
      },
    },
    async (request) => setupTotp(ctx, requireUser(request).user.id),
  );

  app.post(
    "/me/2fa/totp/enable",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Turn two-factor on with the password and a first code; answers the 10 recovery codes (shown once)",
        description:
          "Every other session of the account is signed out; this one stays and counts as having passed two-factor.",
        body: enableTotpBody,
        response: { 200: recoveryCodesSchema, ...meErrors },
      },
    },
    async (request) => {
      const { user, session } = requireUser(request);
      return enableTotp(ctx, { userId: user.id, sessionId: session.id }, request.body);
    },
  );

  app.post(
    "/me/2fa/recovery-codes",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Replace the recovery codes (the old ones stop working)",
        body: regenerateRecoveryCodesBody,
        response: { 200: recoveryCodesSchema, ...meErrors },
      },
    },
    async (request) => regenerateRecoveryCodes(ctx, requireUser(request).user.id, request.body.code),
  );

  app.post(
    "/me/2fa/disable",
    {
      config: signedIn,
      schema: {
        tags: ["me"],
        summary: "Turn two-factor off with the password and a code (authenticator or recovery)",
        body: disableTwoFactorBody,
        response: { 204: z.null(), ...meErrors },
      },
    },
    async (request, reply) => {
      await disableTwoFactor(ctx, requireUser(request).user.id, request.body);
      return reply.code(204).send(null);
    },
  );
};
