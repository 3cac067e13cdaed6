import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contacts, conversations } from "../../src/server/db/schema/index.js";
import { inboxSearch } from "../../src/server/modules/conversations/search.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { base, customerWrites, type InboxFixture, inboxOrg } from "./helpers.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;
let parcel: string;
let blueberry: string;
let unassigned: string;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Search Co");
  other = await inboxOrg(t, "Other Search Co");
  // Three conversations: the operator's, the second operator's, one unassigned.
  parcel = (await customerWrites(f, { name: "Paul Parcel", text: "My parcel arrived BROKEN, order 4471" }))
    .conversationId;
  blueberry = (await customerWrites(f, { name: "Bea Berry", text: "The secret word is blueberry-muffin" }))
    .conversationId;
  unassigned = (await customerWrites(f, { name: "Una Queue", text: "Do you ship 100 percent cotton?" })).conversationId;
  const assign = async (id: string, memberId: string) =>
    expect((await f.manager.client.post(`${base(f.org.orgId)}/${id}/assign`, { memberId })).statusCode).toBe(200);
  await assign(parcel, f.operator.memberId);
  await assign(blueberry, f.operator2.memberId);
  // The same text in another organization: never found from this one.
  await customerWrites(other, { name: "Bea Elsewhere", text: "blueberry-muffin as well" });
});
afterAll(async () => {
  await t.close();
});

const search = async (who: { client: InboxFixture["admin"]["client"] }, q: string, extra = "") => {
  const res = await who.client.get(`${base(f.org.orgId)}?q=${encodeURIComponent(q)}&limit=100${extra}`);
  expect(res.statusCode).toBe(200);
  return (res.json().items as { id: string }[]).map((i) => i.id).sort();
};

describe("inbox search q: contact name, phone and message text (issue 15)", () => {
  it("finds message text as a case-insensitive substring, only in the caller's organization", async () => {
    expect(await search(f.manager, "blueberry")).toEqual([blueberry]);
    expect(await search(f.manager, "UEBERRY-MUF")).toEqual([blueberry]);
    expect(await search(f.manager, "broken")).toEqual([parcel]);
    expect(await search(f.manager, "4471")).toEqual([parcel]);
    expect(await search(f.org.owner, "cotton")).toEqual([unassigned]);
    expect(await search(f.manager, "no such words")).toEqual([]);
  });

  it("still finds contact names (prefix) and phones", async () => {
    expect(await search(f.manager, "bea")).toEqual([blueberry]);
    expect(await search(f.manager, "Una Q")).toEqual([unassigned]);
    const [row] = await t.database.db
      .select({ phone: contacts.phone })
      .from(conversations)
      .innerJoin(contacts, and(eq(contacts.orgId, conversations.orgId), eq(contacts.id, conversations.contactId)))
      .where(and(eq(conversations.orgId, f.org.orgId), eq(conversations.id, parcel)));
    const phone = row!.phone;
    expect(phone).toMatch(/^\+\d+$/);
    expect(await search(f.manager, phone)).toEqual([parcel]);
  });

  it("respects visibility: an operator never finds text of a conversation they cannot see", async () => {
    expect(await search(f.operator, "broken")).toEqual([parcel]);
    expect(await search(f.operator, "blueberry")).toEqual([]);
    expect(await search(f.operator, "cotton")).toEqual([]);
    expect(await search(f.operator2, "blueberry")).toEqual([blueberry]);
    expect(await search(f.operator2, "broken")).toEqual([]);
    // No chat permission: nothing, whatever the text.
    expect(await search(f.noChats, "blueberry")).toEqual([]);
  });

  it("combines with views and filters", async () => {
    expect(await search(f.manager, "blueberry", "&view=unassigned")).toEqual([]);
    expect(await search(f.manager, "cotton", "&view=unassigned")).toEqual([unassigned]);
    expect(await search(f.manager, "blueberry", "&status=resolved")).toEqual([]);
    expect(await search(f.manager, "blueberry", "&status=open")).toEqual([blueberry]);
  });

  it("searches private notes, not system lines; % and _ are literal; under 3 characters only names", async () => {
    const note = await f.manager.client.post(`${base(f.org.orgId)}/${unassigned}/notes`, {
      text: "VIP customer, code zebra_42",
    });
    expect(note.statusCode).toBe(201);
    expect(await search(f.manager, "zebra_42")).toEqual([unassigned]);
    expect(await search(f.manager, "zebra%42")).toEqual([]);
    expect(await search(f.manager, "100 percent")).toEqual([unassigned]);
    expect(await search(f.manager, "100%")).toEqual([]);
    // "assigned to Otto Operator by Mia Manager" is a system line of the parcel conversation.
    expect(await search(f.manager, "assigned to")).toEqual([]);
    // Two characters: contact names only ("Pa…" is Paul Parcel, not "parcel" in a message).
    expect(await search(f.manager, "ar")).toEqual([]);
    expect(await search(f.manager, "pa")).toEqual([parcel]);
  });

  it("the dense plan (many matching messages: a probe per conversation) finds the same", async () => {
    const db = t.database.db;
    const visible = sql`${conversations.orgId} = ${f.org.orgId}`;
    for (const q of ["blueberry", "bea", "broken", "nothing at all"]) {
      const ids = async (bounds?: { contacts: number; messages: number }) => {
        const s = await inboxSearch(db, f.org.orgId, q, bounds);
        return (await db.select({ id: conversations.id }).from(conversations).where(and(visible, s!.where)))
          .map((r) => r.id)
          .sort();
      };
      const dense = await inboxSearch(db, f.org.orgId, q, { contacts: 0, messages: 0 });
      expect(dense!.sparse).toBe(q === "nothing at all");
      expect(await ids({ contacts: 0, messages: 0 })).toEqual(await ids());
    }
    expect(await search(f.manager, "blueberry")).toEqual([blueberry]);
  });
});
