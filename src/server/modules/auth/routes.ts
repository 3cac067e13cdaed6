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
import { newToken } from "../../lib/tokens.js";
import {
  clearSessionCookie,
  clearSignupBrowserCookie,
  SIGNUP_BROWSER_COOKIE,
  setSessionCookie,
  setSignupBrowserCookie,
} from "./cookie.js";
import { DEVICE_COOKIE, setDeviceCookie } from "./devices.js";
import { finishTwoFactorLogin } from "./login-2fa.js";
import { requestPasswordReset, resetPassword } from "./password-reset.js";
import { userSchema } from "./schemas.js";
import { login } from "./service.js";
import { revokeSession } from "./sessions.js";
import {
  MAX_SIGNUP_EMAILS_PER_ADDRESS_PER_HOUR,
  MAX_SIGNUPS_PER_IP_PER_HOUR,
  SIGNUP_ANSWER,
  signup,
} from "./signup.js";
import { resendVerification, VERIFY_EMAIL_TTL_MS, verifyEmail } from "./verify-email.js";

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
        summary: "Create an account and send the verification email (does not sign in)",
        description:
          'Always 202 `{status: "verification_sent"}`, whether or not the email is registered: a new email ' +
          "gets the verification link (following it signs in), a registered one an email saying someone tried " +
          `to sign up. ${MAX_SIGNUPS_PER_IP_PER_HOUR} sign-ups an hour per IP (429 \`rate_limited\`); at most ` +
          `${MAX_SIGNUP_EMAILS_PER_ADDRESS_PER_HOUR} emails an hour per address.`,
        body: signupBody,
        response: { 202: z.object({ status: z.literal("verification_sent") }), ...errors },
      },
    },
    async (request, reply) => {
      const browserNonce = newToken();
      await signup(ctx, request.body, clientOf(request), browserNonce);
      setSignupBrowserCookie(reply, ctx.config, browserNonce, VERIFY_EMAIL_TTL_MS);
      return reply.code(202).send(SIGNUP_ANSWER);
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
        summary:
          "Confirm the email address with the token of the emailed link (and sign in the browser that signed up)",
        description:
          "Answers the user with `signedIn`. The browser that signed up (its `chorus_signup` cookie) gets the " +
          "session cookie; any other browser, and an account with 2FA, is verified but not signed in: it signs " +
          "in with the password (and code) as usual.",
        body: verifyEmailBody,
        response: { 200: userSchema.extend({ signedIn: z.boolean() }), ...errors },
      },
    },
    async (request, reply) => {
      const nonce = request.cookies[SIGNUP_BROWSER_COOKIE];
      const { user, session } = await verifyEmail(ctx, request.body.token, clientOf(request), nonce);
      if (session) setSessionCookie(reply, ctx.config, session.token);
      if (nonce) clearSignupBrowserCookie(reply, ctx.config);
      return { ...user, signedIn: session !== null };
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
