// Forged cursors of the right shape but with a time that does not exist (February 30th, month
// 13, hour 25) answer 400 invalid_cursor on every paginated list, never a 500 from the SQL cast;
// the same cursors with a real time are accepted. Audit finding 14: an id of the wrong shape for
// the list (a UUID where the list keys on a bigint, a number where it keys on a UUID) answers 400
// invalid_cursor too, never a 500 from the SQL cast nor a silently empty page.
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

/** `key` builds a cursor at a time with the list's id; `wrongIds` are ids of another list's shape. */
const lists: { name: string; url: () => string; key: (at: string, id?: unknown) => unknown; wrongIds: unknown[] }[] = [
  {
    name: "activity",
    url: () => `/api/v1/orgs/${orgId}/activity`,
    key: (at, id = 1) => ({ at: iso(at), id }),
    wrongIds: [ID, "1", -1, 1.5, 2 ** 63],
  },
  {
    name: "organization login activity",
    url: () => `/api/v1/orgs/${orgId}/login-activity`,
    key: (at, id = ID) => ({ at: iso(at), id }),
    wrongIds: [1, "not-a-uuid"],
  },
  {
    name: "my sessions",
    url: () => "/api/v1/me/sessions",
    key: (at, id = ID) => ({ at: iso(at), id }),
    wrongIds: [1, "not-a-uuid"],
  },
  {
    name: "my login activity",
    url: () => "/api/v1/me/login-activity",
    key: (at, id = ID) => ({ at: iso(at), id }),
    wrongIds: [1, "not-a-uuid"],
  },
  {
    name: "members by join date",
    url: () => `/api/v1/orgs/${orgId}/members?sort=joined`,
    key: (at, id = ID) => ({ s: "joined", k: pgText(at), id }),
    wrongIds: [1, "not-a-uuid"],
  },
  {
    name: "invitations",
    url: () => `/api/v1/orgs/${orgId}/invitations`,
    key: (at, id = ID) => ({ at: pgText(at), id }),
    wrongIds: [1, "not-a-uuid"],
  },
];

const IMPOSSIBLE = ["2025-02-30T10:00:00", "2025-13-01T10:00:00", "2025-01-01T25:00:00", "2025-01-01T10:61:00"];

describe.each(lists)("$name", ({ url, key, wrongIds }) => {
  const get = (c: string) => owner.client.get(`${url()}${url().includes("?") ? "&" : "?"}cursor=${c}`);

  it.each(IMPOSSIBLE)("refuses a cursor at %s with 400 invalid_cursor", async (at) => {
    const res = await get(cursor(key(at)));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_cursor" });
  });

  it.each(wrongIds)("audit finding 14: refuses a cursor whose id is %j with 400 invalid_cursor", async (id) => {
    const res = await get(cursor(key("2024-02-29T10:00:00", id)));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_cursor" });
  });

  it("accepts the same cursor at a time that exists", async () => {
    expect((await get(cursor(key("2024-02-29T10:00:00")))).statusCode).toBe(200);
  });
});
