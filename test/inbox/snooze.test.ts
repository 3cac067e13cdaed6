import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversations, messages } from "../../src/server/db/schema/index.js";
import { wakeSnoozed, wakeSnoozedJob } from "../../src/server/modules/conversations/snooze-job.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { activityOf, base, customerWrites, type InboxFixture, inboxOrg } from "./helpers.js";

let t: TestApp;
let f: InboxFixture;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Snooze Co");
});
afterAll(async () => {
  await t.close();
});

/** Snoozes through the API (a future time), then moves the time back as if it had passed. */
async function snoozedAndDue(minutesAgo: number | null): Promise<string> {
  const { conversationId } = await customerWrites(f);
  const res = await f.manager.client.patch(`${base(f.org.orgId)}/${conversationId}`, {
    status: "snoozed",
    snoozedUntil: new Date(Date.now() + 3_600_000).toISOString(),
  });
  expect(res.statusCode).toBe(200);
  if (minutesAgo !== null) {
    await t.database.db
      .update(conversations)
      .set({ snoozedUntil: new Date(Date.now() - minutesAgo * 60_000) })
      .where(and(eq(conversations.orgId, f.org.orgId), eq(conversations.id, conversationId)));
  }
  return conversationId;
}

const get = async (id: string) => (await f.manager.client.get(`${base(f.org.orgId)}/${id}`)).json();
const wakeLines = async (id: string) =>
  (
    await t.database.db
      .select({ body: messages.body, payload: messages.payload, sender: messages.senderMemberId })
      .from(messages)
      .where(
        and(
          eq(messages.orgId, f.org.orgId),
          eq(messages.conversationId, id),
          eq(messages.kind, "system"),
          sql`${messages.payload} -> 'event' ->> 'reason' = 'snooze_ended'`,
        ),
      )
  ).map((r) => ({ body: r.body, event: (r.payload as { event: unknown }).event, sender: r.sender }));

describe("snoozed conversations return to open when their time has passed (issue 15)", () => {
  it("the conversations.wake_snoozed job reopens the due ones with a system line and an activity record", async () => {
    const due = await snoozedAndDue(5);
    const notYet = await snoozedAndDue(null);
    const before = await get(due);
    expect(before).toMatchObject({ status: "snoozed" });

    await t.app.ctx.jobs.enqueue(t.database.db, wakeSnoozedJob, {});
    expect(await t.app.ctx.jobs.drain(wakeSnoozedJob)).toBe(1);

    const after = await get(due);
    expect(after).toMatchObject({ status: "open", snoozedUntil: null, version: before.version + 1 });
    expect(await get(notYet)).toMatchObject({ status: "snoozed" });
    expect(await wakeLines(notYet)).toEqual([]);

    // In the thread, as a system line by nobody (the member's own status changes name them).
    const thread = (await f.manager.client.get(`${base(f.org.orgId)}/${due}/messages`)).json().items;
    expect(thread[0]).toMatchObject({
      kind: "system",
      text: "reopened: the snooze ended",
      author: null,
      event: { type: "status_changed", from: "snoozed", to: "open", by: null, reason: "snooze_ended" },
    });
    const records = (await activityOf(t, f.org.orgId, "conversation.status_changed")).filter(
      (r) => r.targetId === due && r.actorType === "system",
    );
    expect(records).toHaveLength(1);
    expect(records[0]!.changes).toMatchObject({
      status: { before: "snoozed", after: "open" },
      snoozedUntil: { after: null },
      reason: { after: "snooze_ended" },
    });

    // Running again changes nothing: no second line, no second record.
    await t.app.ctx.jobs.enqueue(t.database.db, wakeSnoozedJob, {});
    await t.app.ctx.jobs.drain(wakeSnoozedJob);
    expect(await wakeLines(due)).toHaveLength(1);
    expect(await get(due)).toMatchObject({ status: "open", version: after.version });
  });

  it("two runs at once (two instances) reopen each conversation exactly once, in batches", async () => {
    // One after another: parallel webhooks would race each other's drain of the ingest job.
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await snoozedAndDue(10 + i));
    const [a, b] = await Promise.all([
      wakeSnoozed(t.database.db, { batchSize: 2 }),
      wakeSnoozed(t.database.db, { batchSize: 3 }),
    ]);
    expect(a + b).toBe(7);
    for (const id of ids) {
      expect(await get(id)).toMatchObject({ status: "open", snoozedUntil: null });
      expect(await wakeLines(id)).toHaveLength(1);
    }
    expect(await wakeSnoozed(t.database.db)).toBe(0);
  });

  it("a conversation un-snoozed by a member before the job runs is left as the member set it", async () => {
    const id = await snoozedAndDue(3);
    const res = await f.manager.client.patch(`${base(f.org.orgId)}/${id}`, { status: "pending" });
    expect(res.statusCode).toBe(200);
    expect(await wakeSnoozed(t.database.db)).toBe(0);
    expect(await get(id)).toMatchObject({ status: "pending" });
    expect(await wakeLines(id)).toEqual([]);
  });
});
