import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messages } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { activityOf, base, customerWrites, type InboxFixture, inboxOrg } from "./helpers.js";

// Exact outcomes under parallel requests. On PostgreSQL (TEST_DATABASE_URL) the transactions
// really overlap (row lock + compare-and-set); on PGlite they run one after another and the
// outcomes must be the same.
let t: TestApp;
let f: InboxFixture;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Race Co");
});
afterAll(async () => {
  await t.close();
});

async function systemLines(conversationId: string) {
  return t.database.db
    .select()
    .from(messages)
    .where(
      and(eq(messages.orgId, f.org.orgId), eq(messages.conversationId, conversationId), eq(messages.kind, "system")),
    );
}

describe("concurrent assignment", () => {
  it("five parallel assignments of an unassigned conversation: exactly one wins, four get 409 conversation_changed", async () => {
    const c = await customerWrites(f);
    const targets = [f.operator, f.operator2, f.manager, f.admin, f.reader];
    const results = await Promise.all(
      targets.map((to) =>
        f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, {
          memberId: to.memberId,
          expectedAssigneeMemberId: null,
        }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 409, 409, 409, 409]);
    const winner = results.find((r) => r.statusCode === 200)!.json().assignee.memberId;
    for (const r of results.filter((x) => x.statusCode === 409)) {
      expect(r.json()).toMatchObject({ code: "conversation_changed", assigneeMemberId: winner });
    }
    const now = (await f.manager.client.get(`${base(f.org.orgId)}/${c.conversationId}`)).json();
    expect(now.assignee.memberId).toBe(winner);
    expect(await systemLines(c.conversationId)).toHaveLength(1);
    const records = (await activityOf(t, f.org.orgId, "conversation.assigned")).filter(
      (a) => a.targetId === c.conversationId,
    );
    expect(records).toHaveLength(1);
    expect(records[0]!.changes).toEqual({ assigneeMemberId: { before: null, after: winner } });
  });

  it("a self-claim racing a manager's assignment: one wins, the other 409", async () => {
    const c = await customerWrites(f);
    const [claim, assign] = await Promise.all([
      f.reader.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, {
        memberId: f.reader.memberId,
        expectedAssigneeMemberId: null,
      }),
      f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/assign`, {
        memberId: f.operator.memberId,
        expectedAssigneeMemberId: null,
      }),
    ]);
    expect([claim.statusCode, assign.statusCode].sort()).toEqual([200, 409]);
    const expected = claim.statusCode === 200 ? f.reader.memberId : f.operator.memberId;
    expect((await f.manager.client.get(`${base(f.org.orgId)}/${c.conversationId}`)).json().assignee.memberId).toBe(
      expected,
    );
    expect(await systemLines(c.conversationId)).toHaveLength(1);
  });

  it("two members replying first to an unassigned conversation: both messages queue, one of them takes it", async () => {
    const c = await customerWrites(f);
    const [a, b] = await Promise.all([
      f.reader.client.post(`${base(f.org.orgId)}/${c.conversationId}/messages`, { text: "from Rita" }),
      f.manager.client.post(`${base(f.org.orgId)}/${c.conversationId}/messages`, { text: "from Mia" }),
    ]);
    // The row lock orders them: the first takes the conversation; the second then finds it
    // assigned to somebody else, which the chat manager may reply in (chats:assign) and the
    // reader may not (403).
    const statuses = [a.statusCode, b.statusCode];
    const conv = (await f.manager.client.get(`${base(f.org.orgId)}/${c.conversationId}`)).json();
    if (conv.assignee.memberId === f.reader.memberId) {
      expect(statuses).toEqual([202, 202]);
    } else {
      expect(conv.assignee.memberId).toBe(f.manager.memberId);
      expect(statuses).toEqual([403, 202]);
      expect(a.json().code).toBe("assigned_to_someone_else");
    }
    expect(await systemLines(c.conversationId)).toHaveLength(1);
  });
});
