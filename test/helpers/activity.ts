import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Db } from "../../src/server/db/client.js";
import {
  activity,
  loginAttempts,
  memberRoles,
  memberships,
  organizations,
  users,
} from "../../src/server/db/schema/index.js";
import { createSession } from "../../src/server/modules/auth/sessions.js";
import { seedSystemRoles } from "../../src/server/modules/roles/repo.js";
import { type TestApp, type TestClient, uniqueEmail } from "./app.js";

/**
 * Data set up straight in the database (no argon2, no mail), so the activity tests do
 * not depend on other modules' routes. Each user gets a Bearer session.
 */
export interface TestUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  token: string;
}

export async function createUser(
  db: Db,
  over: Partial<{ email: string; firstName: string; lastName: string; twoFactor: boolean }> = {},
): Promise<TestUser> {
  const [u] = await db
    .insert(users)
    .values({
      email: over.email ?? uniqueEmail("act"),
      passwordHash: "not-a-real-hash",
      firstName: over.firstName ?? "Test",
      lastName: over.lastName ?? "User",
      emailVerifiedAt: new Date(),
      ...(over.twoFactor ? { totpSecret: "JBSWY3DPEHPK3PXP", totpEnabledAt: new Date() } : {}),
    })
    .returning();
  const session = await createSession(db, {
    userId: u!.id,
    ip: "127.0.0.1",
    userAgent: "vitest",
    twoFactorVerified: Boolean(over.twoFactor),
    idleTtlMs: 3_600_000,
  });
  return { id: u!.id, email: u!.email, firstName: u!.firstName, lastName: u!.lastName, token: session.token };
}

export async function createOrg(
  db: Db,
  owner: TestUser,
  over: Partial<{ name: string; requireTwoFactor: boolean; activityRetentionDays: number }> = {},
): Promise<{ orgId: string; ownerMemberId: string }> {
  const [org] = await db
    .insert(organizations)
    .values({
      name: over.name ?? "Acme",
      requireTwoFactor: over.requireTwoFactor ?? false,
      activityRetentionDays: over.activityRetentionDays ?? 365,
    })
    .returning();
  await seedSystemRoles(db, org!.id);
  const [m] = await db
    .insert(memberships)
    .values({ orgId: org!.id, userId: owner.id, isOwner: true, firstName: owner.firstName, lastName: owner.lastName })
    .returning();
  return { orgId: org!.id, ownerMemberId: m!.id };
}

export async function addMember(
  db: Db,
  orgId: string,
  user: TestUser,
  roleIds: string[] = [],
  over: Partial<{ joinedAt: Date; lastActiveAt: Date | null }> = {},
): Promise<string> {
  const [m] = await db
    .insert(memberships)
    .values({
      orgId,
      userId: user.id,
      firstName: user.firstName,
      lastName: user.lastName,
      ...(over.joinedAt ? { joinedAt: over.joinedAt } : {}),
      ...(over.lastActiveAt !== undefined ? { lastActiveAt: over.lastActiveAt } : {}),
    })
    .returning();
  if (roleIds.length)
    await db.insert(memberRoles).values(roleIds.map((roleId) => ({ orgId, memberId: m!.id, roleId })));
  return m!.id;
}

/** A client that authenticates with the user's Bearer token. */
export function clientAs(t: TestApp, user: TestUser): TestClient {
  const c = t.client();
  c.bearer = user.token;
  return c;
}

export interface ActivityRow {
  at?: Date;
  actorId?: string | null;
  actorName?: string;
  actorType?: "user" | "system" | "api_key";
  action: string;
  targetType?: string;
  targetId?: string | null;
  targetLabel?: string | null;
  changes?: Record<string, { before?: unknown; after?: unknown }> | null;
}

export async function insertActivity(db: Db, orgId: string, rows: ActivityRow[]): Promise<void> {
  if (!rows.length) return;
  await db.insert(activity).values(
    rows.map((r) => ({
      orgId,
      at: r.at ?? new Date(),
      actorType: r.actorType ?? "user",
      actorId: r.actorId === undefined ? null : r.actorId,
      actorName: r.actorName ?? "Someone",
      action: r.action,
      targetType: r.targetType ?? r.action.split(".")[0]!,
      targetId: r.targetId ?? null,
      targetLabel: r.targetLabel ?? null,
      changes: r.changes ?? null,
      ip: "10.0.0.1",
      userAgent: "seed",
      requestId: randomUUID(),
    })),
  );
}

/** `n` records in one statement, one second apart going back from `newest`. */
export async function insertManyActivity(db: Db, orgId: string, n: number, newest = new Date()): Promise<void> {
  await db.execute(sql`
    insert into activity (org_id, at, actor_type, actor_name, action, target_type, target_id)
    select ${orgId}::uuid, ${newest.toISOString()}::timestamptz - g * interval '1 second', 'system', 'Bulk',
           'bulk.row', 'bulk', g::text
    from generate_series(0, ${n - 1}) g`);
}

export async function insertLoginAttempt(
  db: Db,
  user: TestUser | null,
  over: Partial<{
    at: Date;
    success: boolean;
    failureReason: string | null;
    ip: string;
    userAgent: string;
    twoFactorUsed: boolean;
    method: string;
    email: string;
  }> = {},
): Promise<void> {
  await db.insert(loginAttempts).values({
    userId: user?.id ?? null,
    email: over.email ?? user?.email ?? "nobody@example.com",
    at: over.at ?? new Date(),
    ip: over.ip ?? "192.0.2.1",
    userAgent: over.userAgent ?? "Mozilla/5.0",
    success: over.success ?? true,
    failureReason: over.failureReason ?? (over.success === false ? "invalid_password" : null),
    method: over.method ?? "password",
    twoFactorUsed: over.twoFactorUsed ?? false,
  });
}

export const daysAgo = (d: number, from = Date.now()) => new Date(from - d * 86_400_000);

/** Activity records written by one request (they carry its request id). */
export async function recordsOfRequest(db: Db, requestId: string) {
  return db.select().from(activity).where(sql`${activity.requestId} = ${requestId}`);
}
