import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, contacts, conversations, messages, teams } from "../../src/server/db/schema/index.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { type InboxFixture, inboxOrg } from "./helpers.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;
let sales: string;
let support: string;
let archive: string;

type Line = [at: string, kind: "in" | "out" | "note" | "resolved", by?: string | null];

let phoneNo = 0;
/** A conversation with exactly these lines at exactly these times (known data). */
async function conversation(
  fx: InboxFixture,
  createdAt: string,
  lines: Line[],
  teamId: string | null = null,
): Promise<string> {
  const db = t.database.db;
  phoneNo++;
  const [contact] = await db
    .insert(contacts)
    .values({ orgId: fx.org.orgId, phone: `+1555000${String(phoneNo).padStart(4, "0")}` })
    .returning();
  const [conv] = await db
    .insert(conversations)
    .values({
      orgId: fx.org.orgId,
      channelId: fx.ch.id,
      contactId: contact!.id,
      status: "resolved",
      teamId,
      createdAt: new Date(createdAt),
      lastMessageAt: new Date(lines.at(-1)![0]),
    })
    .returning();
  await db.insert(messages).values(
    lines.map(([at, kind, by]) => ({
      orgId: fx.org.orgId,
      conversationId: conv!.id,
      channelId: fx.ch.id,
      contactId: contact!.id,
      direction: kind === "in" ? ("in" as const) : ("out" as const),
      kind: kind === "in" || kind === "out" ? "message" : kind === "note" ? "note" : "system",
      type: kind === "in" || kind === "out" ? "text" : kind === "note" ? "note" : "system",
      body: kind,
      payload:
        kind === "resolved"
          ? { event: { type: "status_changed", from: "open", to: "resolved", by: { memberId: by } } }
          : {},
      status: kind === "in" ? ("received" as const) : ("read" as const),
      senderMemberId: kind === "in" ? null : (by ?? null),
      createdAt: new Date(at),
    })),
  );
  return conv!.id;
}

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Analytics Co");
  other = await inboxOrg(t, "Other Analytics Co");
  const otto = f.operator.memberId;
  const pia = f.operator2.memberId;
  const mia = f.manager.memberId;
  const team = async (name: string) =>
    (await t.database.db.insert(teams).values({ orgId: f.org.orgId, name }).returning())[0]!.id;
  sales = await team("Sales");
  support = await team("Support");
  archive = await team("Archive");
  // A: Otto answers after 2 minutes, resolves.
  await conversation(
    f,
    "2026-03-02T09:00:00Z",
    [
      ["2026-03-02T09:00:00Z", "in"],
      ["2026-03-02T09:01:00Z", "in"],
      ["2026-03-02T09:02:00Z", "out", otto],
      ["2026-03-02T09:05:00Z", "out", otto],
      ["2026-03-02T09:06:00Z", "note", mia],
      ["2026-03-02T09:10:00Z", "resolved", otto],
    ],
    sales,
  );
  // B: Pia answers after 10 minutes, Otto writes too, Pia resolves.
  await conversation(
    f,
    "2026-03-03T12:00:00Z",
    [
      ["2026-03-03T12:00:00Z", "in"],
      ["2026-03-03T12:10:00Z", "out", pia],
      ["2026-03-03T12:11:00Z", "out", otto],
      ["2026-03-03T12:20:00Z", "resolved", pia],
    ],
    sales,
  );
  // C: Otto answers after 5 minutes; resolves after the period (a resolution time, not a resolved count).
  await conversation(
    f,
    "2026-03-04T08:00:00Z",
    [
      ["2026-03-04T08:00:00Z", "in"],
      ["2026-03-04T08:05:00Z", "out", otto],
      ["2026-04-01T08:00:00Z", "resolved", otto],
    ],
    support,
  );
  // D: opened before the period; one of Otto's replies is inside it (counts as sent, not as a first response).
  await conversation(
    f,
    "2026-02-27T08:00:00Z",
    [
      ["2026-02-27T08:00:00Z", "in"],
      ["2026-02-27T08:01:00Z", "out", otto],
      ["2026-03-01T00:30:00Z", "out", otto],
    ],
    support,
  );
  // E: never answered.
  await conversation(f, "2026-03-05T08:00:00Z", [["2026-03-05T08:00:00Z", "in"]]);
  // F: after the period.
  await conversation(
    f,
    "2026-04-02T08:00:00Z",
    [
      ["2026-04-02T08:00:00Z", "in"],
      ["2026-04-02T08:01:00Z", "out", pia],
    ],
    sales,
  );
  // G: an automated first answer (no member) is nobody's first response; Pia's later reply is not one;
  // an automation's resolution is nobody's.
  await conversation(f, "2026-03-06T10:00:00Z", [
    ["2026-03-06T10:00:00Z", "in"],
    ["2026-03-06T10:01:00Z", "out", null],
    ["2026-03-06T10:03:00Z", "out", pia],
    ["2026-03-06T10:05:00Z", "resolved", null],
  ]);
  // H: opened and resolved before the period, reopened in it: resolution time from the first inbound
  // message in the period (2 hours, Pia's); no first response (opened before the period).
  await conversation(
    f,
    "2026-02-20T10:00:00Z",
    [
      ["2026-02-20T10:00:00Z", "in"],
      ["2026-02-20T10:01:00Z", "out", otto],
      ["2026-02-20T10:05:00Z", "resolved", otto],
      ["2026-03-10T10:00:00Z", "in"],
      ["2026-03-10T10:05:00Z", "in"],
      ["2026-03-10T10:30:00Z", "out", pia],
      ["2026-03-10T12:00:00Z", "resolved", pia],
    ],
    sales,
  );
  // Another organization's work is never counted here.
  await conversation(other, "2026-03-02T09:00:00Z", [
    ["2026-03-02T09:00:00Z", "in"],
    ["2026-03-02T09:00:30Z", "out", other.operator.memberId],
  ]);
});
afterAll(async () => {
  await t.close();
});

const url = (orgId: string, qs: string) => `/api/v1/orgs/${orgId}/analytics/chats?${qs}`;
const zero = {
  conversationsHandled: 0,
  conversationsResolved: 0,
  messagesSent: 0,
  medianFirstResponseSeconds: null,
  firstResponses: 0,
  medianResolutionSeconds: null,
  resolutions: 0,
};

describe("GET /analytics/chats (issue 15, chats:analytics)", () => {
  it("per member: handled, resolved, median first response, messages sent — exact numbers for known data", async () => {
    const res = await f.org.owner.client.get(url(f.org.orgId, "from=2026-03-01&to=2026-03-31"));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.from).toBe("2026-03-01T00:00:00.000Z");
    expect(body.to).toBe("2026-04-01T00:00:00.000Z");
    const by = new Map((body.items as { memberId: string }[]).map((i) => [i.memberId, i]));
    // Every member of the organization, the idle ones with zeros.
    expect(body.items).toHaveLength(7);
    expect(by.get(f.operator.memberId)).toEqual({
      memberId: f.operator.memberId,
      name: "Otto Operator",
      conversationsHandled: 4,
      conversationsResolved: 1,
      messagesSent: 5,
      medianFirstResponseSeconds: 210,
      firstResponses: 2,
      // A: 10 minutes; C: 28 days (resolved after the period).
      medianResolutionSeconds: (600 + 28 * 86_400) / 2,
      resolutions: 2,
    });
    expect(by.get(f.operator2.memberId)).toEqual({
      memberId: f.operator2.memberId,
      name: "Pia Second",
      conversationsHandled: 3,
      conversationsResolved: 2,
      messagesSent: 3,
      medianFirstResponseSeconds: 600,
      firstResponses: 1,
      // B: 20 minutes; H: 2 hours from its first inbound message in the period.
      medianResolutionSeconds: (1200 + 7200) / 2,
      resolutions: 2,
    });
    expect(by.get(f.manager.memberId)).toEqual({ memberId: f.manager.memberId, name: "Mia Manager", ...zero });
    expect(by.get(f.org.ownerMemberId)).toMatchObject(zero);
    expect(body.totals).toEqual({
      conversationsHandled: 6,
      conversationsResolved: 3,
      messagesSent: 8,
      medianFirstResponseSeconds: 300,
      firstResponses: 3,
      // 600, 1200, 7200, 28 days.
      medianResolutionSeconds: (1200 + 7200) / 2,
      resolutions: 4,
    });
  });

  it("per team of the conversation, every team by name then no team — exact numbers", async () => {
    const res = await f.manager.client.get(url(f.org.orgId, "from=2026-03-01&to=2026-03-31"));
    expect(res.statusCode).toBe(200);
    expect(res.json().teams).toEqual([
      { teamId: archive, name: "Archive", ...zero },
      {
        teamId: sales,
        name: "Sales",
        // A, B, H (F is after the period).
        conversationsHandled: 3,
        conversationsResolved: 3,
        messagesSent: 5,
        medianFirstResponseSeconds: (120 + 600) / 2,
        firstResponses: 2,
        medianResolutionSeconds: 1200,
        resolutions: 3,
      },
      {
        teamId: support,
        name: "Support",
        // C, D.
        conversationsHandled: 2,
        conversationsResolved: 0,
        messagesSent: 2,
        medianFirstResponseSeconds: 300,
        firstResponses: 1,
        medianResolutionSeconds: 28 * 86_400,
        resolutions: 1,
      },
      // E, G: only Pia's reply in G is a member's work.
      { teamId: null, name: null, ...zero, conversationsHandled: 1, messagesSent: 1 },
    ]);
  });

  it("times with offsets bound the period exactly ([from, to))", async () => {
    const res = await f.manager.client.get(
      url(f.org.orgId, `from=${encodeURIComponent("2026-03-02T10:01:30+01:00")}&to=2026-03-02T09:05:00Z`),
    );
    expect(res.statusCode).toBe(200);
    const otto = res.json().items.find((i: { memberId: string }) => i.memberId === f.operator.memberId);
    // 09:02 is in, 09:05 is not; conversation A was opened before `from`: no first response.
    expect(otto).toMatchObject({ messagesSent: 1, conversationsHandled: 1, firstResponses: 0 });
  });

  it("validates the period: 400 with a reason", async () => {
    const c = f.org.owner.client;
    const backwards = await c.get(url(f.org.orgId, "from=2026-03-10&to=2026-03-01"));
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json()).toMatchObject({ code: "invalid_period", reason: "to_not_after_from" });
    const long = await c.get(url(f.org.orgId, "from=2025-01-01&to=2026-01-02"));
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ code: "invalid_period", reason: "too_long", maxDays: 366 });
    // 366 days is allowed.
    expect((await c.get(url(f.org.orgId, "from=2024-01-01&to=2024-12-31"))).statusCode).toBe(200);
    for (const qs of ["from=2026-03-01", "from=yesterday&to=2026-03-01", "from=2026-02-30&to=2026-03-01", ""]) {
      const res = await c.get(url(f.org.orgId, qs));
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe("validation_failed");
    }
  });

  it("needs chats:analytics; another organization answers 404", async () => {
    const qs = "from=2026-03-01&to=2026-03-31";
    expect((await f.admin.client.get(url(f.org.orgId, qs))).statusCode).toBe(200);
    expect((await f.manager.client.get(url(f.org.orgId, qs))).statusCode).toBe(200);
    for (const who of [f.operator, f.reader, f.noChats]) {
      const res = await who.client.get(url(f.org.orgId, qs));
      expect(res.statusCode).toBe(403);
    }
    expect((await f.manager.client.get(url(other.org.orgId, qs))).statusCode).toBe(404);
  });
});

describe("GET /analytics/chats/export (CSV, chats:analytics)", () => {
  const exportUrl = (orgId: string, qs: string) => `/api/v1/orgs/${orgId}/analytics/chats/export?${qs}`;

  it("rows per member and per team by name, the total, a filename with the period; recorded", async () => {
    const db = t.database.db;
    // A name a spreadsheet would run as a formula stays text.
    const [evil] = await db.insert(teams).values({ orgId: f.org.orgId, name: "=HYPERLINK(1)" }).returning();
    const res = await f.manager.client.get(exportUrl(f.org.orgId, "from=2026-03-01&to=2026-03-31"));
    await db.delete(teams).where(and(eq(teams.orgId, f.org.orgId), eq(teams.id, evil!.id)));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toBe('attachment; filename="chat-analytics-2026-03-01_2026-03-31.csv"');
    const lines = res.body.trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "group,name,conversations_handled,conversations_resolved,messages_sent,median_first_response_seconds," +
        "first_responses,median_resolution_seconds,resolutions",
    );
    // 7 members, 4 teams + no team, the total.
    expect(lines).toHaveLength(1 + 7 + 5 + 1);
    expect(lines).toContain(`member,Otto Operator,4,1,5,210,2,${(600 + 28 * 86_400) / 2},2`);
    expect(lines).toContain("member,Pia Second,3,2,3,600,1,4200,2");
    expect(lines).toContain("member,Mia Manager,0,0,0,,0,,0");
    expect(lines).toContain("team,Sales,3,3,5,360,2,1200,3");
    expect(lines).toContain(`team,Support,2,0,2,300,1,${28 * 86_400},1`);
    expect(lines).toContain("team,'=HYPERLINK(1),0,0,0,,0,,0");
    expect(lines.at(-2)).toBe("team,(no team),1,0,1,,0,,0");
    expect(lines.at(-1)).toBe("total,,6,3,8,300,3,4200,4");
    // Names, never ids only.
    expect(res.body).not.toContain(f.operator.memberId);
    expect(res.body).not.toContain(sales);

    const records = await db
      .select()
      .from(activity)
      .where(and(eq(activity.orgId, f.org.orgId), eq(activity.action, "analytics.exported")));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      actorId: f.manager.id,
      targetType: "analytics",
      changes: { period: { after: { from: "2026-03-01T00:00:00.000Z", to: "2026-04-01T00:00:00.000Z" } } },
    });
  });

  it("a period of times names the file by its bounds", async () => {
    const res = await f.org.owner.client.get(
      exportUrl(f.org.orgId, `from=${encodeURIComponent("2026-03-02T10:01:30+01:00")}&to=2026-03-02T09:05:00Z`),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-disposition"]).toBe(
      'attachment; filename="chat-analytics-2026-03-02T09-01-30_2026-03-02T09-05-00.csv"',
    );
    expect(res.body).toContain("member,Otto Operator,1,0,1,,0,,0\r\n");
  });

  it("the same 400s for a bad period (no record), needs chats:analytics, another organization 404", async () => {
    const before = await t.database.db.select().from(activity).where(eq(activity.action, "analytics.exported"));
    const long = await f.manager.client.get(exportUrl(f.org.orgId, "from=2025-01-01&to=2026-01-02"));
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ code: "invalid_period", reason: "too_long", maxDays: 366 });
    const backwards = await f.manager.client.get(exportUrl(f.org.orgId, "from=2026-03-10&to=2026-03-01"));
    expect(backwards.json()).toMatchObject({ code: "invalid_period", reason: "to_not_after_from" });
    expect((await f.manager.client.get(exportUrl(f.org.orgId, "from=2026-03-01"))).json().code).toBe(
      "validation_failed",
    );
    const qs = "from=2026-03-01&to=2026-03-31";
    for (const who of [f.operator, f.reader, f.noChats]) {
      expect((await who.client.get(exportUrl(f.org.orgId, qs))).statusCode).toBe(403);
    }
    expect((await f.manager.client.get(exportUrl(other.org.orgId, qs))).statusCode).toBe(404);
    const after = await t.database.db.select().from(activity).where(eq(activity.action, "analytics.exported"));
    expect(after).toHaveLength(before.length);
  });
});
