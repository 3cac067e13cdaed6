import { and, eq } from "drizzle-orm";
import type { Db } from "../../src/server/db/client.js";
import { memberRoles, memberships, organizations, roles, users } from "../../src/server/db/schema/index.js";
import { createSession } from "../../src/server/modules/auth/sessions.js";
import { seedSystemRoles } from "../../src/server/modules/roles/repo.js";
import { newCustomRoleId } from "../../src/server/modules/roles/service.js";
import type { TestApp, TestClient } from "./app.js";

/**
 * RBAC fixtures set up straight in the database (no argon2, no mail), so the role tests
 * depend on nothing but the schema. Each user gets a Bearer session.
 */
export interface RbacUser {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  token: string;
}

let n = 0;
export async function makeUser(db: Db, firstName = "Test", lastName = "User"): Promise<RbacUser> {
  n++;
  const email = `rbac.${Date.now().toString(36)}.${process.pid}.${n}@example.com`;
  const [u] = await db
    .insert(users)
    .values({ email, passwordHash: "$argon2id$not-used", firstName, lastName, emailVerifiedAt: new Date() })
    .returning();
  const session = await createSession(db, {
    userId: u!.id,
    ip: "127.0.0.1",
    userAgent: "vitest",
    twoFactorVerified: false,
    idleTtlMs: 3_600_000,
  });
  return { id: u!.id, email, firstName, lastName, token: session.token };
}

export interface RbacOrg {
  orgId: string;
  owner: RbacUser;
  ownerMemberId: string;
}

export async function makeOrg(db: Db, name = "Acme"): Promise<RbacOrg> {
  const owner = await makeUser(db, "Olive", "Owner");
  const [org] = await db.insert(organizations).values({ name }).returning();
  await seedSystemRoles(db, org!.id);
  const [m] = await db
    .insert(memberships)
    .values({ orgId: org!.id, userId: owner.id, isOwner: true, firstName: owner.firstName, lastName: owner.lastName })
    .returning();
  return { orgId: org!.id, owner, ownerMemberId: m!.id };
}

/** A new user who is a member of `orgId` holding `roleIds`. */
export async function makeMember(
  db: Db,
  orgId: string,
  roleIds: string[] = [],
  name: [string, string] = ["Mem", "Ber"],
): Promise<RbacUser & { memberId: string }> {
  const user = await makeUser(db, ...name);
  const memberId = await addMembership(db, orgId, user, roleIds);
  return { ...user, memberId };
}

export async function addMembership(db: Db, orgId: string, user: RbacUser, roleIds: string[] = []): Promise<string> {
  const [m] = await db
    .insert(memberships)
    .values({ orgId, userId: user.id, firstName: user.firstName, lastName: user.lastName })
    .returning();
  if (roleIds.length)
    await db.insert(memberRoles).values(roleIds.map((roleId) => ({ orgId, memberId: m!.id, roleId })));
  return m!.id;
}

/** A custom role inserted directly (tests of the HTTP routes create theirs through the API). */
export async function insertCustomRole(db: Db, orgId: string, permissions: string[], name?: string): Promise<string> {
  const id = newCustomRoleId();
  await db.insert(roles).values({ orgId, id, name: name ?? `Custom ${id}`, permissions });
  return id;
}

export async function rolesOfMember(db: Db, orgId: string, memberId: string): Promise<string[]> {
  const rows = await db
    .select({ roleId: memberRoles.roleId })
    .from(memberRoles)
    .where(and(eq(memberRoles.orgId, orgId), eq(memberRoles.memberId, memberId)));
  return rows.map((r) => r.roleId).sort();
}

/** A client that authenticates with the user's Bearer token (no cookie, so no CSRF rules). */
export function as(t: TestApp, user: RbacUser | null): TestClient {
  const c = t.client();
  if (user) c.bearer = user.token;
  return c;
}
