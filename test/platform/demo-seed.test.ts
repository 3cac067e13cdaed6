import { and, count, eq, isNull } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activity,
  contacts,
  mailOutbox,
  memberRoles,
  memberships,
  organizations,
  sessions,
  tags,
  teamMembers,
  teams,
  users,
} from "../../src/server/db/schema/index.js";
import { DEMO_ORG_NAME, DEMO_PASSWORD, type DemoSeedResult, seedDemo } from "../../src/server/demo/seed.js";
import { DEMO_WHATSAPP_CUSTOMERS } from "../../src/server/demo/whatsapp.js";
import { DEMO_CONTACTS } from "../../src/server/demo/workspace.js";
import { hashPassword } from "../../src/server/modules/auth/passwords.js";
import {
  OWNER_ONLY_PERMISSIONS,
  PERMISSIONS,
  SYSTEM_ROLE_IDS,
  systemRolePermissions,
} from "../../src/shared/permissions.js";
import { createTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

interface Printed {
  role: string;
  name: string;
  email: string;
  password: string;
}

/** The rows of the printed credentials table (columns are separated by two or more spaces). */
function parseTable(text: string): Printed[] {
  const lines = text.split("\n").map((l) => l.trim());
  const header = lines.findIndex((l) => /^role\s{2,}name\s{2,}email\s{2,}password$/.test(l));
  expect(header).toBeGreaterThan(-1);
  expect(lines[header + 1]).toMatch(/^-+(\s+-+){3}$/);
  return lines
    .slice(header + 2)
    .filter(Boolean)
    .map((l) => {
      const [role, name, email, password] = l.split(/\s{2,}/);
      return { role: role!, name: name!, email: email!, password: password! };
    });
}

async function run(): Promise<{ result: DemoSeedResult; printed: string[] }> {
  const printed: string[] = [];
  const result = await seedDemo(t.app.ctx, { print: (text) => printed.push(text) });
  return { result, printed };
}

const db = () => t.database.db;
const demoOrgs = () => db().select().from(organizations).where(eq(organizations.name, DEMO_ORG_NAME));
const actionsOf = async (orgId: string) => {
  const rows = await db()
    .select({ action: activity.action, n: count() })
    .from(activity)
    .where(eq(activity.orgId, orgId))
    .groupBy(activity.action);
  return Object.fromEntries(rows.map((r) => [r.action, r.n]));
};

let first: { result: DemoSeedResult; printed: string[] };
let rows: Printed[];

describe("SEED_DEMO", () => {
  it("creates the demo organization once: the owner and one member per system role, run after run", async () => {
    first = await run();
    const second = await run();

    const orgs = await demoOrgs();
    expect(orgs).toHaveLength(1);
    const orgId = orgs[0]!.id;
    expect(first.result).toMatchObject({ orgId, orgCreated: true });
    expect(second.result).toMatchObject({ orgId, orgCreated: false });
    expect(first.result.accounts.every((a) => a.created)).toBe(true);
    expect(second.result.accounts.some((a) => a.created)).toBe(false);

    const members = await db().select().from(memberships).where(eq(memberships.orgId, orgId));
    expect(members).toHaveLength(1 + SYSTEM_ROLE_IDS.length);
    expect(members.filter((m) => m.isOwner)).toHaveLength(1);
    const held = await db().select().from(memberRoles).where(eq(memberRoles.orgId, orgId));
    // Each system role is held by exactly one member, and each non-owner holds exactly one role.
    expect(held.map((r) => r.roleId).sort()).toEqual([...SYSTEM_ROLE_IDS].sort());
    expect(new Set(held.map((r) => r.memberId)).size).toBe(SYSTEM_ROLE_IDS.length);
    const owner = members.find((m) => m.isOwner)!;
    expect(held.some((r) => r.memberId === owner.id)).toBe(false);

    // Every account is verified; no account is duplicated.
    const demoUsers = await db().select().from(users);
    expect(demoUsers.filter((u) => u.email.endsWith("@demo.chorus.localhost"))).toHaveLength(8);
    expect(demoUsers.every((u) => u.emailVerifiedAt !== null)).toBe(true);

    // The activity log tells it as the API would have, once.
    expect(await actionsOf(orgId)).toEqual({
      "org.created": 1,
      "member.invited": SYSTEM_ROLE_IDS.length,
      "member.joined": SYSTEM_ROLE_IDS.length,
      "team.created": 2,
      "tag.created": 4,
      "list.created": 2,
      "contact.bulk_created": 1,
      "contact.bulk_add_tag": 3,
      "contact.bulk_add_to_list": 2,
      "channel.created": 1,
    });
    // The workspace (issue 13): two teams, tags (one team-specific), lists, a few hundred contacts,
    // and the WhatsApp demo's customers (issue 14).
    const demoTeams = await db().select().from(teams).where(eq(teams.orgId, orgId));
    expect(demoTeams.map((x) => x.name).sort()).toEqual(["Sales", "Support"]);
    const demoTags = await db().select().from(tags).where(eq(tags.orgId, orgId));
    expect(demoTags.filter((x) => x.teamId === demoTeams.find((x) => x.name === "Support")!.id)).toHaveLength(1);
    expect(await db().select({ n: count() }).from(contacts).where(eq(contacts.orgId, orgId))).toEqual([
      { n: DEMO_CONTACTS + DEMO_WHATSAPP_CUSTOMERS },
    ]);
    expect(await db().select({ n: count() }).from(teamMembers).where(eq(teamMembers.orgId, orgId))).toEqual([{ n: 4 }]);
    // No invitation mail for links accepted at once, and no session left open by the seed.
    expect(await db().select().from(mailOutbox)).toHaveLength(0);
    expect(await db().select().from(sessions).where(isNull(sessions.revokedAt))).toHaveLength(0);

    // The credentials table is printed once per run, the same both times.
    expect(first.printed).toHaveLength(1);
    expect(second.printed).toHaveLength(1);
    rows = parseTable(first.printed[0]!);
    expect(parseTable(second.printed[0]!)).toEqual(rows);
    expect(rows.map((r) => r.role)).toEqual(["owner", ...SYSTEM_ROLE_IDS]);
    expect(rows.map((r) => r.email)).toEqual(["owner", ...SYSTEM_ROLE_IDS].map((k) => `${k}@demo.chorus.localhost`));
    expect(rows.every((r) => r.password === DEMO_PASSWORD)).toBe(true);
    expect(first.printed[0]).toContain(orgId);
  });

  it("signs in with every printed credential, each holding its role's permissions", async () => {
    const orgId = first.result.orgId;
    for (const row of rows) {
      const client = t.client();
      const login = await client.post("/api/v1/auth/login", { email: row.email, password: row.password });
      expect(login.statusCode, `${row.email}: ${login.body}`).toBe(200);
      expect(login.json()).toMatchObject({ email: row.email, emailVerified: true });
      const me = await client.get(`/api/v1/orgs/${orgId}/me`);
      expect(me.statusCode, me.body).toBe(200);
      const body = me.json();
      const expected =
        row.role === "owner" ? [...PERMISSIONS, ...OWNER_ONLY_PERMISSIONS] : systemRolePermissions(row.role)!.toArray();
      expect(body.isOwner).toBe(row.role === "owner");
      expect(body.roleIds).toEqual(row.role === "owner" ? [] : [row.role]);
      expect([...body.permissions].sort()).toEqual([...expected].sort());
      expect(body.twoFactorBlocked).toBe(false);
    }

    // Spot checks of the matrix through real routes.
    const as = async (role: string) => {
      const client = t.client();
      await client.post("/api/v1/auth/login", { email: `${role}@demo.chorus.localhost`, password: DEMO_PASSWORD });
      return client;
    };
    const operator = await as("operator");
    const operatorMe = (await operator.get(`/api/v1/orgs/${orgId}/me`)).json();
    expect(operatorMe.permissions).not.toContain("members:invite");
    expect(operatorMe.permissions).not.toContain("members:read");
    expect((await operator.get(`/api/v1/orgs/${orgId}/members`)).statusCode).toBe(403);
    const chatManager = await as("chat_manager");
    expect((await chatManager.get(`/api/v1/orgs/${orgId}/members`)).statusCode).toBe(200);
    const admin = await as("administrator");
    const list = await admin.get(`/api/v1/orgs/${orgId}/members`);
    expect(list.statusCode).toBe(200);
  });

  it("stays single when two instances seed at the same time", async () => {
    const [a, b] = await Promise.all([run(), run()]);
    expect(a.result.orgId).toBe(first.result.orgId);
    expect(b.result.orgId).toBe(first.result.orgId);
    expect(await demoOrgs()).toHaveLength(1);
    const [n] = await db().select({ n: count() }).from(memberships).where(eq(memberships.orgId, first.result.orgId));
    expect(n!.n).toBe(1 + SYSTEM_ROLE_IDS.length);
  });

  it("finds its organization again after a visitor renamed it and created another one", async () => {
    const owner = t.client();
    const login = await owner.post("/api/v1/auth/login", {
      email: "owner@demo.chorus.localhost",
      password: DEMO_PASSWORD,
    });
    expect(login.statusCode).toBe(200);
    const orgId = first.result.orgId;
    expect((await owner.patch(`/api/v1/orgs/${orgId}`, { name: "Renamed by a visitor" })).statusCode).toBe(200);
    expect((await owner.post("/api/v1/orgs", { name: DEMO_ORG_NAME })).statusCode).toBe(201);
    const again = await run();
    expect(again.result.orgId).toBe(orgId);
    expect(again.result.orgCreated).toBe(false);
    expect(again.result.accounts.every((a) => !a.created)).toBe(true);
    expect((await owner.patch(`/api/v1/orgs/${orgId}`, { name: DEMO_ORG_NAME })).statusCode).toBe(200);
  });

  it("says so when a demo account's password was changed, and changes nothing", async () => {
    const [operator] = await db().select().from(users).where(eq(users.email, "operator@demo.chorus.localhost"));
    const changed = await hashPassword("a different operator password");
    await db().update(users).set({ passwordHash: changed }).where(eq(users.id, operator!.id));
    const again = await run();
    const operatorRow = parseTable(again.printed[0]!).find((r) => r.role === "operator");
    expect(operatorRow?.password).toBe("(changed since seeding)");
    const [after] = await db()
      .select({ passwordHash: users.passwordHash })
      .from(users)
      .where(and(eq(users.id, operator!.id)));
    expect(after!.passwordHash).toBe(changed);
  });
});
