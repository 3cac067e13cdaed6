import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  forgotPasswordBody,
  login2faBody,
  loginBody,
  resetPasswordBody,
  signupBody,
  verifyEmailBody,
} from "../../../shared/schemas/auth.js";
import { access } from "../../http/access.js";
import { problemSchema } from "../../http/problem.js";
import { requireUser } from "../../http/request-context.js";
import { clearSessionCookie, setSessionCookie } from "./cookie.js";
import { DEVICE_COOKIE, setDeviceCookie } from "./devices.js";
import { finishTwoFactorLogin } from "./login-2fa.js";
import { requestPasswordReset, resetPassword } from "./password-reset.js";
import { userSchema } from "./schemas.js";
import { login, signup } from "./service.js";
import { revokeSession } from "./sessions.js";
import { resendVerification, verifyEmail } from "./verify-email.js";

const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  409: problemSchema,
  410: problemSchema,
  429: problemSchema,
};

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ctx } = app;

  app.post(
    "/auth/signup",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Create an account, sign in, and send the verification email",
        body: signupBody,
        response: { 201: userSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { user, session } = await signup(ctx, request.body, clientOf(request));
      setSessionCookie(reply, ctx.config, session.token);
      return reply.code(201).send(user);
    },
  );

  app.post(
    "/auth/login",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Sign in with email and password",
        description: "Answers the user, or `{twoFactorRequired: true, challengeToken}` when the account has 2FA.",
        body: loginBody,
        response: {
          200: z.union([userSchema, z.object({ twoFactorRequired: z.literal(true), challengeToken: z.string() })]),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const result = await login(ctx, request.body, clientOf(request), request.cookies[DEVICE_COOKIE]);
      if ("challengeToken" in result)
        return { twoFactorRequired: true as const, challengeToken: result.challengeToken };
      setSessionCookie(reply, ctx.config, result.session.token);
      if (result.deviceToken) setDeviceCookie(reply, ctx.config, result.deviceToken);
      return result.user;
    },
  );

  app.post(
    "/auth/login/2fa",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Finish a sign-in with an authenticator code or a recovery code",
        description:
          "The challenge from `/auth/login` lives 5 minutes and dies after success or 5 wrong codes. Codes are single use.",
        body: login2faBody,
        response: { 200: userSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { user, session, deviceToken } = await finishTwoFactorLogin(
        ctx,
        request.body,
        clientOf(request),
        request.cookies[DEVICE_COOKIE],
      );
      setSessionCookie(reply, ctx.config, session.token);
      if (deviceToken) setDeviceCookie(reply, ctx.config, deviceToken);
      return user;
    },
  );

  app.post(
    "/auth/verify-email",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Confirm the email address with the token of the emailed link",
        body: verifyEmailBody,
        response: { 200: z.object({ email: z.string(), emailVerified: z.literal(true) }), ...errors },
      },
    },
    async (request) => {
      const { email } = await verifyEmail(ctx, request.body.token);
      return { email, emailVerified: true as const };
    },
  );

  app.post(
    "/auth/verify-email/resend",
    {
      config: { access: access.signedIn() },
      schema: {
        tags: ["auth"],
        summary: "Send a new verification link (older links stop working)",
        response: { 202: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await resendVerification(ctx, requireUser(request).user.id);
      return reply.code(202).send(null);
    },
  );

  app.post(
    "/auth/password/forgot",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Email a password reset link",
        description: "Always 202, whether or not an account has this email. The link works once, for 1 hour.",
        body: forgotPasswordBody,
        response: { 202: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await requestPasswordReset(ctx, request.body.email, clientOf(request));
      return reply.code(202).send(null);
    },
  );

  app.post(
    "/auth/password/reset",
    {
      config: { access: access.public() },
      schema: {
        tags: ["auth"],
        summary: "Set a new password with the token of the emailed link",
        description: "Signs out every session and does not sign in; two-factor sign-in still applies.",
        body: resetPasswordBody,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await resetPassword(ctx, request.body.token, request.body.password);
      clearSessionCookie(reply, ctx.config);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/auth/logout",
    {
      config: { access: access.signedIn() },
      schema: { tags: ["auth"], summary: "Sign out: revokes this session", response: { 204: z.null(), ...errors } },
    },
    async (request, reply) => {
      const { user, session } = requireUser(request);
      await revokeSession(ctx.db, user.id, session.id);
      clearSessionCookie(reply, ctx.config);
      return reply.code(204).send(null);
    },
  );
};

export function clientOf(request: { ip: string; headers: { "user-agent"?: string | undefined } }) {
  return { ip: request.ip ?? null, userAgent: request.headers["user-agent"] ?? null };
}
