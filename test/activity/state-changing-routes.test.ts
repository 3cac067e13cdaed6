// Every state-changing organization route (POST/PATCH/PUT/DELETE under /api/v1/orgs/:orgId/),
// taken from the app's own route list, must write exactly one activity record of the right
// shape when it succeeds, and none when it fails. A new route without a scenario below fails
// the test: adding a route means saying what it records.
import { count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  activity,
  automations,
  contactLists,
  contacts,
  conversations,
  invitations,
  listContacts,
  messageTemplates,
  roles,
  tags,
  teams,
} from "../../src/server/db/schema/index.js";
import { registeredRoutes } from "../../src/server/http/route-registry.js";
import { hashPassword } from "../../src/server/modules/auth/passwords.js";
import { createChannel } from "../../src/server/modules/channels/service.js";
import { addMember, clientAs, createOrg, createUser, recordsOfRequest, type TestUser } from "../helpers/activity.js";
import { createTestApp, STRONG_PASSWORD, type TestApp } from "../helpers/app.js";

let t: TestApp;

interface Fixture {
  orgId: string;
  owner: TestUser;
  /** A member holding every role permission (administrator), not the owner. */
  admin: TestUser;
  adminMemberId: string;
  /** A member with no role: every permission check fails for them. */
  nobody: TestUser;
  /** A plain member (operator) to edit, remove or hand ownership to. */
  target: TestUser;
  targetMemberId: string;
  invitationId: string;
  customRoleId: string;
  /** Workspace objects (issue 13): a contact, another one in the list, a tag, a list, a team. */
  contactId: string;
  listedContactId: string;
  tagId: string;
  listId: string;
  teamId: string;
  /** A simulator WhatsApp channel. */
  channelId: string;
  /** An APPROVED message template of the channel ("Hi {{1}}"). */
  templateId: string;
  /** An open, unassigned conversation with the fixture contact (the customer wrote a minute ago). */
  conversationId: string;
  /** An open conversation with the listed contact, assigned to the administrator. */
  assignedConversationId: string;
  /** A disabled automation (issue 17). */
  automationId: string;
}

interface Scenario {
  /** Who succeeds (default owner). */
  as?: (f: Fixture) => TestUser;
  path: (f: Fixture) => string;
  body?: (f: Fixture) => Record<string, unknown> | undefined;
  /** The record's target type (one of, when the route's author may pick). */
  targetType: string | string[];
  /** The record's action; default `<targetType>.<verb>`. */
  action?: RegExp;
  /** The record's target id, when it is known up front. */
  targetId?: (f: Fixture) => string;
  /** Request headers (a CSV body's content type). */
  headers?: Record<string, string>;
  /** A body that is not JSON (CSV). */
  rawBody?: (f: Fixture) => string;
}

/** Routes that cannot keep a record in the organization's own log, and why. */
const EXEMPT: Record<string, string> = {
  "POST /api/v1/orgs/{orgId}/notifications/read":
    "the member's own state (which of their notifications they have seen), not a change to the workspace: " +
    "like reading a page, it is not an activity; test/realtime/notifications.test.ts covers it",
  "DELETE /api/v1/orgs/{orgId}": "deleting the organization deletes its activity log with it (ON DELETE CASCADE)",
  "POST /api/v1/orgs/{orgId}/templates/{templateId}/preview":
    "changes nothing: a read whose sample values travel in the body (test/templates covers it)",
  // Template writes call Meta's Graph API in the request (nothing listens in this test's app):
  // test/templates/templates.test.ts runs them against the fake Graph API and asserts their one
  // template.* record each (created, updated, deleted, synced).
  "POST /api/v1/orgs/{orgId}/conversations/{conversationId}/read":
    "a member's own read marker (unread counts), not a change of the organization's data",
  "POST /api/v1/orgs/{orgId}/templates": "calls the Graph API in the request: its record is asserted in test/templates",
  "PATCH /api/v1/orgs/{orgId}/templates/{templateId}":
    "calls the Graph API in the request: its record is asserted in test/templates",
  "DELETE /api/v1/orgs/{orgId}/templates/{templateId}":
    "calls the Graph API in the request: its record is asserted in test/templates",
  "POST /api/v1/orgs/{orgId}/templates/sync":
    "calls the Graph API in the request: its record is asserted in test/templates",
  // Broadcasts need an APPROVED template (Meta's review): test/broadcasts/broadcasts.test.ts
  // asserts one broadcast.* record per write ("every write route records exactly one…").
  "POST /api/v1/orgs/{orgId}/broadcasts/audience": "changes nothing: a read whose audience travels in the body",
  "POST /api/v1/orgs/{orgId}/broadcasts/preview": "changes nothing: a read whose mapping travels in the body",
  "POST /api/v1/orgs/{orgId}/broadcasts": "needs an approved template: its record is asserted in test/broadcasts",
  "PATCH /api/v1/orgs/{orgId}/broadcasts/{broadcastId}":
    "needs an approved template: its record is asserted in test/broadcasts",
  "DELETE /api/v1/orgs/{orgId}/broadcasts/{broadcastId}":
    "needs an approved template: its record is asserted in test/broadcasts",
  "POST /api/v1/orgs/{orgId}/broadcasts/{broadcastId}/send":
    "needs an approved template: its record is asserted in test/broadcasts",
  "POST /api/v1/orgs/{orgId}/broadcasts/{broadcastId}/pause":
    "needs an approved template: its record is asserted in test/broadcasts",
  "POST /api/v1/orgs/{orgId}/broadcasts/{broadcastId}/resume":
    "needs an approved template: its record is asserted in test/broadcasts",
  "POST /api/v1/orgs/{orgId}/broadcasts/{broadcastId}/cancel":
    "needs an approved template: its record is asserted in test/broadcasts",
};

const SCENARIOS: Record<string, Scenario> = {
  "POST /api/v1/orgs/{orgId}/automations": {
    path: (f) => `/api/v1/orgs/${f.orgId}/automations`,
    body: (f) => ({
      name: "Welcome",
      trigger: { type: "conversation_opened" },
      actions: [{ type: "assign_team", teamId: f.teamId }],
    }),
    targetType: "automation",
    action: /^automation\.created$/,
  },
  "PATCH /api/v1/orgs/{orgId}/automations/{automationId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/automations/${f.automationId}`,
    body: () => ({ name: "Renamed automation" }),
    targetType: "automation",
    action: /^automation\.updated$/,
    targetId: (f) => f.automationId,
  },
  "DELETE /api/v1/orgs/{orgId}/automations/{automationId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/automations/${f.automationId}`,
    targetType: "automation",
    action: /^automation\.deleted$/,
    targetId: (f) => f.automationId,
  },
  // Starting a conversation with a contact whose live one is unassigned continues it and takes it
  // (one `conversation.assigned`); with none, `conversation.started` (test/inbox/inbox-web-gaps).
  "POST /api/v1/orgs/{orgId}/conversations": {
    path: (f) => `/api/v1/orgs/${f.orgId}/conversations`,
    body: (f) => ({
      contactId: f.contactId,
      channelId: f.channelId,
      template: { templateId: f.templateId, variables: { "1": "Ann" } },
    }),
    targetType: "conversation",
    action: /^conversation\.(started|assigned)$/,
    targetId: (f) => f.conversationId,
  },
  "PATCH /api/v1/orgs/{orgId}/conversations/{conversationId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/conversations/${f.conversationId}`,
    body: () => ({ status: "pending" }),
    targetType: "conversation",
    action: /^conversation\.status_changed$/,
    targetId: (f) => f.conversationId,
  },
  "POST /api/v1/orgs/{orgId}/conversations/{conversationId}/assign": {
    path: (f) => `/api/v1/orgs/${f.orgId}/conversations/${f.conversationId}/assign`,
    body: (f) => ({ memberId: f.targetMemberId }),
    targetType: "conversation",
    action: /^conversation\.assigned$/,
    targetId: (f) => f.conversationId,
  },
  // A reply is recorded by its message row (its text is personal data, never copied into the
  // log); replying to an unassigned conversation assigns it to the replier, and that is recorded.
  "POST /api/v1/orgs/{orgId}/conversations/{conversationId}/messages": {
    path: (f) => `/api/v1/orgs/${f.orgId}/conversations/${f.conversationId}/messages`,
    body: () => ({ text: "Hello from the fixture" }),
    targetType: "conversation",
    action: /^conversation\.assigned$/,
    targetId: (f) => f.conversationId,
  },
  "POST /api/v1/orgs/{orgId}/conversations/{conversationId}/notes": {
    path: (f) => `/api/v1/orgs/${f.orgId}/conversations/${f.conversationId}/notes`,
    body: () => ({ text: "A private note" }),
    targetType: "conversation",
    action: /^conversation\.note_added$/,
    targetId: (f) => f.conversationId,
  },
  "POST /api/v1/orgs/{orgId}/conversations/{conversationId}/transfer": {
    as: (f) => f.admin,
    path: (f) => `/api/v1/orgs/${f.orgId}/conversations/${f.assignedConversationId}/transfer`,
    body: (f) => ({ memberId: f.targetMemberId, note: "Over to you" }),
    targetType: "conversation",
    action: /^conversation\.transferred$/,
    targetId: (f) => f.assignedConversationId,
  },
  "POST /api/v1/orgs/{orgId}/channels": {
    path: (f) => `/api/v1/orgs/${f.orgId}/channels`,
    body: () => ({ name: "New line", mode: "simulator", displayPhoneNumber: "+1 555 010 0001" }),
    targetType: "channel",
  },
  "PATCH /api/v1/orgs/{orgId}/channels/{channelId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/channels/${f.channelId}`,
    body: () => ({ name: "Renamed line" }),
    targetType: "channel",
    targetId: (f) => f.channelId,
  },
  "DELETE /api/v1/orgs/{orgId}/channels/{channelId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/channels/${f.channelId}`,
    targetType: "channel",
    targetId: (f) => f.channelId,
  },
  // Nothing listens at the simulator's URL in this test: the failed attempt is what is recorded.
  "POST /api/v1/orgs/{orgId}/channels/{channelId}/test": {
    path: (f) => `/api/v1/orgs/${f.orgId}/channels/${f.channelId}/test`,
    targetType: "channel",
    action: /^channel\.tested$/,
    targetId: (f) => f.channelId,
  },
  "PATCH /api/v1/orgs/{orgId}/settings": {
    path: (f) => `/api/v1/orgs/${f.orgId}/settings`,
    body: () => ({ timezone: "America/New_York", operatorsSeeUnassigned: true }),
    targetType: "settings",
    action: /^settings\.updated$/,
    targetId: (f) => f.orgId,
  },
  "PATCH /api/v1/orgs/{orgId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}`,
    body: () => ({ name: "Renamed Org" }),
    targetType: "organization",
    action: /^org\.updated$/,
    targetId: (f) => f.orgId,
  },
  "POST /api/v1/orgs/{orgId}/transfer-ownership": {
    path: (f) => `/api/v1/orgs/${f.orgId}/transfer-ownership`,
    body: (f) => ({ memberId: f.targetMemberId, password: STRONG_PASSWORD }),
    targetType: "member",
    action: /^ownership\.transferred$/,
    targetId: (f) => f.targetMemberId,
  },
  "POST /api/v1/orgs/{orgId}/leave": {
    as: (f) => f.target,
    path: (f) => `/api/v1/orgs/${f.orgId}/leave`,
    targetType: "member",
    targetId: (f) => f.targetMemberId,
  },
  "PATCH /api/v1/orgs/{orgId}/members/{memberId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/members/${f.targetMemberId}`,
    body: () => ({ firstName: "Renamed", roleIds: ["chat_manager"] }),
    targetType: "member",
    targetId: (f) => f.targetMemberId,
  },
  "PUT /api/v1/orgs/{orgId}/me/presence": {
    as: (f) => f.admin,
    path: (f) => `/api/v1/orgs/${f.orgId}/me/presence`,
    body: () => ({ status: "busy" }),
    targetType: "member",
    action: /^member\.presence_changed$/,
    targetId: (f) => f.adminMemberId,
  },
  "PUT /api/v1/orgs/{orgId}/members/{memberId}/capacity": {
    path: (f) => `/api/v1/orgs/${f.orgId}/members/${f.targetMemberId}/capacity`,
    body: () => ({ capacity: 4 }),
    targetType: "member",
    action: /^member\.capacity_changed$/,
    targetId: (f) => f.targetMemberId,
  },
  "DELETE /api/v1/orgs/{orgId}/members/{memberId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/members/${f.targetMemberId}`,
    targetType: "member",
    targetId: (f) => f.targetMemberId,
  },
  "POST /api/v1/orgs/{orgId}/invitations": {
    path: (f) => `/api/v1/orgs/${f.orgId}/invitations`,
    body: () => ({
      email: `new.${Date.now()}@example.com`,
      firstName: "New",
      lastName: "Person",
      roleIds: ["operator"],
    }),
    targetType: ["invitation", "member"],
    action: /^(invitation|member)\.[a-z_]+$/,
  },
  "POST /api/v1/orgs/{orgId}/invitations/{id}/resend": {
    path: (f) => `/api/v1/orgs/${f.orgId}/invitations/${f.invitationId}/resend`,
    targetType: "invitation",
    targetId: (f) => f.invitationId,
  },
  "DELETE /api/v1/orgs/{orgId}/invitations/{id}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/invitations/${f.invitationId}`,
    targetType: "invitation",
    targetId: (f) => f.invitationId,
  },
  "POST /api/v1/orgs/{orgId}/roles": {
    path: (f) => `/api/v1/orgs/${f.orgId}/roles`,
    body: () => ({ name: `Role ${Date.now()}`, description: "", permissions: ["contacts:read"] }),
    targetType: "role",
  },
  "PATCH /api/v1/orgs/{orgId}/roles/{roleId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/roles/${f.customRoleId}`,
    body: () => ({ name: "Renamed role", permissions: ["contacts:read", "templates:read"] }),
    targetType: "role",
    targetId: (f) => f.customRoleId,
  },
  "DELETE /api/v1/orgs/{orgId}/roles/{roleId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/roles/${f.customRoleId}`,
    targetType: "role",
    targetId: (f) => f.customRoleId,
  },
  "POST /api/v1/orgs/{orgId}/contacts": {
    path: (f) => `/api/v1/orgs/${f.orgId}/contacts`,
    body: () => ({ phone: "+15550900001", name: "New" }),
    targetType: "contact",
  },
  "PATCH /api/v1/orgs/{orgId}/contacts/{contactId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/contacts/${f.contactId}`,
    body: () => ({ name: "Renamed", optedOut: true }),
    targetType: "contact",
    targetId: (f) => f.contactId,
  },
  "DELETE /api/v1/orgs/{orgId}/contacts/{contactId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/contacts/${f.contactId}`,
    targetType: "contact",
    targetId: (f) => f.contactId,
  },
  "POST /api/v1/orgs/{orgId}/contacts/bulk": {
    path: (f) => `/api/v1/orgs/${f.orgId}/contacts/bulk`,
    body: (f) => ({ action: "add_tag", tagId: f.tagId, filter: {} }),
    targetType: "contact",
    action: /^contact\.bulk_add_tag$/,
  },
  "POST /api/v1/orgs/{orgId}/contacts/import": {
    path: (f) => `/api/v1/orgs/${f.orgId}/contacts/import`,
    rawBody: () => "phone,name\n+15550900002,Imported\n",
    headers: { "content-type": "text/csv" },
    targetType: "contact_import",
    action: /^contact\.import_started$/,
  },
  "POST /api/v1/orgs/{orgId}/tags": {
    path: (f) => `/api/v1/orgs/${f.orgId}/tags`,
    body: (f) => ({ name: "New tag", color: "#112233", teamId: f.teamId }),
    targetType: "tag",
  },
  "PATCH /api/v1/orgs/{orgId}/tags/{tagId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/tags/${f.tagId}`,
    body: () => ({ name: "Renamed tag" }),
    targetType: "tag",
    targetId: (f) => f.tagId,
  },
  "DELETE /api/v1/orgs/{orgId}/tags/{tagId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/tags/${f.tagId}`,
    targetType: "tag",
    targetId: (f) => f.tagId,
  },
  "POST /api/v1/orgs/{orgId}/lists": {
    path: (f) => `/api/v1/orgs/${f.orgId}/lists`,
    body: () => ({ name: "New list" }),
    targetType: "list",
  },
  "PATCH /api/v1/orgs/{orgId}/lists/{listId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/lists/${f.listId}`,
    body: () => ({ description: "Edited" }),
    targetType: "list",
    targetId: (f) => f.listId,
  },
  "DELETE /api/v1/orgs/{orgId}/lists/{listId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/lists/${f.listId}`,
    targetType: "list",
    targetId: (f) => f.listId,
  },
  "POST /api/v1/orgs/{orgId}/lists/{listId}/contacts": {
    path: (f) => `/api/v1/orgs/${f.orgId}/lists/${f.listId}/contacts`,
    body: (f) => ({ contactIds: [f.contactId, f.listedContactId] }),
    targetType: "list",
    action: /^list\.contacts_added$/,
    targetId: (f) => f.listId,
  },
  "DELETE /api/v1/orgs/{orgId}/lists/{listId}/contacts": {
    path: (f) => `/api/v1/orgs/${f.orgId}/lists/${f.listId}/contacts`,
    body: (f) => ({ contactIds: [f.contactId, f.listedContactId] }),
    targetType: "list",
    action: /^list\.contacts_removed$/,
    targetId: (f) => f.listId,
  },
  "POST /api/v1/orgs/{orgId}/teams": {
    path: (f) => `/api/v1/orgs/${f.orgId}/teams`,
    body: (f) => ({ name: "New team", memberIds: [f.targetMemberId] }),
    targetType: "team",
  },
  "PATCH /api/v1/orgs/{orgId}/teams/{teamId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/teams/${f.teamId}`,
    body: (f) => ({ memberIds: [f.adminMemberId, f.targetMemberId] }),
    targetType: "team",
    targetId: (f) => f.teamId,
  },
  "DELETE /api/v1/orgs/{orgId}/teams/{teamId}": {
    path: (f) => `/api/v1/orgs/${f.orgId}/teams/${f.teamId}`,
    targetType: "team",
    targetId: (f) => f.teamId,
  },
};

const FIXTURE_ACTOR = {
  type: "system" as const,
  id: null,
  name: "fixture",
  ip: null,
  userAgent: null,
  requestId: null,
};

const WRITE_METHODS = ["post", "patch", "put", "delete"];
let routes: string[] = [];

async function fixture(): Promise<Fixture> {
  const db = t.database.db;
  const owner = await createUser(db, { firstName: "Olive", lastName: "Owner" });
  // A real password, for routes that re-authenticate (ownership transfer).
  const passwordHash = await hashPassword(STRONG_PASSWORD);
  await db.execute(sql`update users set password_hash = ${passwordHash} where id = ${owner.id}`);
  const admin = await createUser(db, { firstName: "Adam", lastName: "Admin" });
  const nobody = await createUser(db, { firstName: "No", lastName: "Body" });
  const target = await createUser(db, { firstName: "Tara", lastName: "Target" });
  const { orgId } = await createOrg(db, owner);
  const adminMemberId = await addMember(db, orgId, admin, ["administrator"]);
  await addMember(db, orgId, nobody, []);
  const targetMemberId = await addMember(db, orgId, target, ["operator"]);
  const [inv] = await db
    .insert(invitations)
    .values({
      orgId,
      email: `invited.${Date.now()}.${Math.random()}@example.com`,
      firstName: "In",
      lastName: "Vited",
      roleIds: ["operator"],
      tokenHash: `hash-${Math.random()}`,
      expiresAt: new Date(Date.now() + 7 * 86_400_000),
      invitedByUserId: owner.id,
      invitedByName: "Olive Owner",
    })
    .returning();
  const customRoleId = `custom_${Math.random().toString(36).slice(2, 10)}`;
  await db
    .insert(roles)
    .values({ orgId, id: customRoleId, name: `Custom ${customRoleId}`, permissions: ["contacts:read"] });
  const [contact, listed] = await db
    .insert(contacts)
    .values([
      { orgId, phone: "+15550900100", name: "Fixture" },
      { orgId, phone: "+15550900101", name: "Listed" },
    ])
    .returning();
  const [tag] = await db.insert(tags).values({ orgId, name: "Fixture tag" }).returning();
  const [list] = await db.insert(contactLists).values({ orgId, name: "Fixture list" }).returning();
  await db.insert(listContacts).values({ orgId, listId: list!.id, contactId: listed!.id });
  const [team] = await db.insert(teams).values({ orgId, name: "Fixture team" }).returning();
  const [automation] = await db
    .insert(automations)
    .values({
      orgId,
      name: "Fixture automation",
      enabled: false,
      trigger: { type: "conversation_opened" },
      conditions: {},
      actions: [{ type: "set_status", status: "pending" }],
    })
    .returning();
  const channel = await createChannel(t.app.ctx, orgId, FIXTURE_ACTOR, {
    name: "Fixture line",
    mode: "simulator",
    displayPhoneNumber: "+1 555 010 0000",
  });
  await db.delete(activity).where(eq(activity.targetId, channel.id));
  const [template] = await db
    .insert(messageTemplates)
    .values({
      orgId,
      channelId: channel.id,
      wabaId: "waba-fixture",
      name: "fixture_hello",
      language: "en_US",
      category: "UTILITY",
      components: [{ type: "BODY", text: "Hi {{1}}", example: { body_text: [["Ann"]] } }],
      status: "APPROVED",
    })
    .returning();
  const recently = new Date(Date.now() - 60_000);
  const [conversation, assigned] = await db
    .insert(conversations)
    .values([
      { orgId, channelId: channel.id, contactId: contact!.id, lastInboundAt: recently },
      {
        orgId,
        channelId: channel.id,
        contactId: listed!.id,
        lastInboundAt: recently,
        assigneeMemberId: adminMemberId,
      },
    ])
    .returning();
  return {
    orgId,
    owner,
    admin,
    adminMemberId,
    nobody,
    target,
    targetMemberId,
    invitationId: inv!.id,
    customRoleId,
    contactId: contact!.id,
    listedContactId: listed!.id,
    tagId: tag!.id,
    listId: list!.id,
    teamId: team!.id,
    channelId: channel.id,
    templateId: template!.id,
    conversationId: conversation!.id,
    assignedConversationId: assigned!.id,
    automationId: automation!.id,
  };
}

const countOf = async (orgId: string) =>
  (await t.database.db.select({ n: count() }).from(activity).where(eq(activity.orgId, orgId)))[0]!.n;

beforeAll(async () => {
  t = await createTestApp();
  // The app's own route registry: every route, hidden from OpenAPI or not.
  routes = [
    ...new Set(
      registeredRoutes(t.app)
        .filter((r) => WRITE_METHODS.includes(r.method.toLowerCase()))
        .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, "{$1}")}`)
        .filter((r) => / \/api\/v1\/orgs\/\{orgId\}(\/|$)/.test(r)),
    ),
  ].sort();
  if (process.env.DEBUG_ROUTES) console.log(routes);
});
afterAll(async () => {
  await t?.close();
});

describe("activity records of state-changing organization routes", () => {
  it("has a scenario (or a stated exemption) for every state-changing organization route", () => {
    const missing = routes.filter((r) => !SCENARIOS[r] && !EXEMPT[r]);
    expect(missing, "add a scenario to test/activity/state-changing-routes.test.ts").toEqual([]);
  });

  it("the activity routes themselves change nothing", () => {
    expect(routes.filter((r) => r.includes("/activity"))).toEqual([]);
  });

  it("writes exactly one record of the right shape per successful change", async () => {
    const covered = routes.filter((r) => SCENARIOS[r]);
    for (const route of covered) {
      const s = SCENARIOS[route]!;
      const f = await fixture();
      const actor = s.as?.(f) ?? f.owner;
      const method = route.split(" ")[0]!;
      const before = await countOf(f.orgId);
      const res = await clientAs(t, actor).request(
        method,
        s.path(f),
        s.rawBody?.(f) ?? s.body?.(f) ?? (method === "DELETE" ? undefined : {}),
        s.headers,
      );
      expect(res.statusCode, `${route}: ${res.body}`).toBeLessThan(300);
      const records = await recordsOfRequest(t.database.db, res.headers["x-request-id"] as string);
      expect(records, route).toHaveLength(1);
      expect(await countOf(f.orgId), route).toBe(before + 1);
      const r = records[0]!;
      expect(r.orgId, route).toBe(f.orgId);
      expect(r.action, route).toMatch(s.action ?? new RegExp(`^${s.targetType}\\.[a-z_]+$`));
      expect([s.targetType].flat(), route).toContain(r.targetType);
      expect(r.actorType, route).toBe("user");
      expect(r.actorId, route).toBe(actor.id);
      expect(r.actorName, route).toBe(`${actor.firstName} ${actor.lastName}`);
      expect(r.ip, route).toBeTruthy();
      expect(r.userAgent, route).toBe("vitest");
      if (s.targetId) expect(r.targetId, route).toBe(s.targetId(f));
      // Never secrets or tokens in what the log keeps.
      const text = JSON.stringify(r.changes ?? {});
      expect(text, route).not.toMatch(/password|token|secret|hash/i);
    }
  }, 180_000); // one fixture per route, 40 routes: minutes on a busy 2-core machine

  it("writes no record when the change is refused", async () => {
    for (const route of routes) {
      if (EXEMPT[route]) continue;
      const s = SCENARIOS[route];
      const f = await fixture();
      const method = route.split(" ")[0]!;
      const path = s
        ? s.path(f)
        : route
            .split(" ")[1]!
            .replace("{orgId}", f.orgId)
            .replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000");
      const before = await countOf(f.orgId);
      // A member without roles is refused by every route that needs a permission; an outsider by all.
      for (const who of [f.nobody, await createUser(t.database.db)]) {
        const res = await clientAs(t, who).request(
          method,
          path,
          s?.rawBody?.(f) ?? s?.body?.(f) ?? (method === "DELETE" ? undefined : {}),
          s?.headers,
        );
        if (res.statusCode < 400) continue; // open to every member (e.g. leave): the outsider case covers it
        expect(await recordsOfRequest(t.database.db, res.headers["x-request-id"] as string), route).toEqual([]);
      }
      // Invalid input is refused too, and leaves no record.
      const bad = await clientAs(t, f.owner).request(
        method,
        path,
        method === "DELETE" ? undefined : { unexpected: [1] },
      );
      if (bad.statusCode >= 400) {
        expect(await recordsOfRequest(t.database.db, bad.headers["x-request-id"] as string), route).toEqual([]);
      }
      const after = await countOf(f.orgId);
      // Only what every member may do (leave, set their own availability) may have changed
      // something for a role-less member, with its one record.
      const everyMember = route.endsWith("/leave") || route.endsWith("/me/presence");
      expect(after - before, route).toBeLessThanOrEqual(everyMember || bad.statusCode < 400 ? 1 : 0);
    }
  }, 180_000); // one fixture per route, 40 routes: minutes on a busy 2-core machine
});
