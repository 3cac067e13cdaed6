// Forged cursors of the right shape but with a time that does not exist (February 30th, month
// 13, hour 25) answer 400 invalid_cursor on every paginated list, never a 500 from the SQL cast;
// the same cursors with a real time are accepted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { orgWithOwner, type Person } from "../helpers/orgs.js";

let t: TestApp;
let orgId: string;
let owner: Person;
beforeAll(async () => {
  t = await createTestApp();
  ({ orgId, owner } = await orgWithOwner(t, "Cursors"));
});
afterAll(async () => {
  await t?.close();
});

const ID = "00000000-0000-4000-8000-000000000001";
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** ISO 8601 UTC with microseconds: the activity, login activity and /me lists. */
const iso = (date: string) => `${date}.000000Z`;
/** PostgreSQL's timestamptz text: the members and invitations lists. */
const pgText = (date: string) => `${date.replace("T", " ")}+00`;

const lists: { name: string; url: () => string; key: (at: string) => unknown }[] = [
  { name: "activity", url: () => `/api/v1/orgs/${orgId}/activity`, key: (at) => ({ at: iso(at), id: 1 }) },
  {
    name: "organization login activity",
    url: () => `/api/v1/orgs/${orgId}/login-activity`,
    key: (at) => ({ at: iso(at), id: ID }),
  },
  { name: "my sessions", url: () => "/api/v1/me/sessions", key: (at) => ({ at: iso(at), id: ID }) },
  { name: "my login activity", url: () => "/api/v1/me/login-activity", key: (at) => ({ at: iso(at), id: ID }) },
  {
    name: "members by join date",
    url: () => `/api/v1/orgs/${orgId}/members?sort=joined`,
    key: (at) => ({ s: "joined", k: pgText(at), id: ID }),
  },
  { name: "invitations", url: () => `/api/v1/orgs/${orgId}/invitations`, key: (at) => ({ at: pgText(at), id: ID }) },
];

const IMPOSSIBLE = ["2025-02-30T10:00:00", "2025-13-01T10:00:00", "2025-01-01T25:00:00", "2025-01-01T10:61:00"];

describe.each(lists)("$name", ({ url, key }) => {
  const get = (c: string) => owner.client.get(`${url()}${url().includes("?") ? "&" : "?"}cursor=${c}`);

  it.each(IMPOSSIBLE)("refuses a cursor at %s with 400 invalid_cursor", async (at) => {
    const res = await get(cursor(key(at)));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_cursor" });
  });

  it("accepts the same cursor at a time that exists", async () => {
    expect((await get(cursor(key("2024-02-29T10:00:00")))).statusCode).toBe(200);
  });
});
