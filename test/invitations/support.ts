import { createHash } from "node:crypto";
import { and, desc, eq } from "drizzle-orm";
import { expect } from "vitest";
import { activity, invitations, mailOutbox } from "../../src/server/db/schema/index.js";
import { APP_URL, type TestApp, type TestClient } from "../helpers/app.js";
import { inviteTokenFrom } from "../helpers/orgs.js";

/** Computed here, not imported from the app, so the test checks what is stored independently. */
export const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

export const invite = (client: TestClient, orgId: string, body: Record<string, unknown> | string) =>
  client.post(
    `/api/v1/orgs/${orgId}/invitations`,
    body,
    typeof body === "string" ? { "content-type": "text/csv" } : undefined,
  );

/** Invitation emails to `email`, newest first (the development mailbox is the outbox table). */
export async function invitationMails(t: TestApp, email: string) {
  return t.database.db
    .select()
    .from(mailOutbox)
    .where(and(eq(mailOutbox.toEmail, email), eq(mailOutbox.template, "invitation")))
    .orderBy(desc(mailOutbox.createdAt), desc(mailOutbox.id));
}

/** The token of the accept link in the newest invitation email to `email`. */
export async function latestInviteToken(t: TestApp, email: string): Promise<string> {
  const [mail] = await invitationMails(t, email);
  expect(mail, `an invitation email to ${email}`).toBeDefined();
  return inviteTokenFrom(mail!.textBody, APP_URL);
}

export async function invitationRow(t: TestApp, orgId: string, id: string) {
  const [row] = await t.database.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)));
  return row;
}

export async function setExpiry(t: TestApp, orgId: string, id: string, expiresAt: Date) {
  await t.database.db
    .update(invitations)
    .set({ expiresAt })
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)));
}

export const actionsOf = async (t: TestApp, orgId: string, targetId?: string) =>
  (
    await t.database.db
      .select({ action: activity.action, targetId: activity.targetId, actorId: activity.actorId, at: activity.at })
      .from(activity)
      .where(and(eq(activity.orgId, orgId), targetId ? eq(activity.targetId, targetId) : undefined))
      .orderBy(activity.at)
  ).map((r) => r.action);

export function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string; json(): unknown },
  status: number,
  code: string,
) {
  expect(res.headers["content-type"], res.body).toContain("application/problem+json");
  expect({ status: res.statusCode, code: (res.json() as { code: string }).code }, res.body).toEqual({ status, code });
  return res.json() as Record<string, unknown>;
}
