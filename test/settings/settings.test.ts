import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS } from "../../src/shared/schemas/settings.js";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { activityOf, base, customerWrites, type InboxFixture, inboxOrg } from "../inbox/helpers.js";

let t: TestApp;
let f: InboxFixture;
let other: InboxFixture;
const url = (orgId = f.org.orgId) => `/api/v1/orgs/${orgId}/settings`;

beforeAll(async () => {
  t = await createTestApp();
  f = await inboxOrg(t, "Settings Co");
  other = await inboxOrg(t, "Other Co");
});
afterAll(async () => {
  await t?.close();
});

const madridHours = {
  enabled: true,
  week: {
    mon: [
      { from: "09:00", to: "13:00" },
      { from: "15:00", to: "19:00" },
    ],
    tue: [{ from: "09:00", to: "19:00" }],
    wed: [{ from: "09:00", to: "19:00" }],
    thu: [{ from: "09:00", to: "19:00" }],
    fri: [{ from: "22:00", to: "02:00" }],
    sat: [],
    sun: [],
  },
  holidays: ["2026-12-25", "2027-01-01"],
};

describe("workspace settings", () => {
  it("an organization that never saved reads the defaults (version 0)", async () => {
    const res = await f.admin.client.get(url());
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...DEFAULT_SETTINGS, version: 0, updatedAt: null });
  });

  it("settings:manage saves a subset; nested objects replaced whole; one activity record with before/after", async () => {
    const res = await f.admin.client.patch(url(), { timezone: "Europe/Madrid", businessHours: madridHours });
    expect(res.statusCode).toBe(200);
    const saved = res.json();
    expect(saved).toMatchObject({ timezone: "Europe/Madrid", businessHours: madridHours, version: 1 });
    expect(saved.assignment).toEqual(DEFAULT_SETTINGS.assignment);
    const records = await activityOf(t, f.org.orgId, "settings.updated");
    expect(records).toHaveLength(1);
    expect(records[0]!.changes).toEqual({
      timezone: { before: "UTC", after: "Europe/Madrid" },
      businessHours: { before: DEFAULT_SETTINGS.businessHours, after: madridHours },
    });
    // The same values again change nothing and record nothing (jsonb's key order is not a change).
    const again = await f.admin.client.patch(url(), { businessHours: madridHours, timezone: "Europe/Madrid" });
    expect(again.json().version).toBe(1);
    expect(await activityOf(t, f.org.orgId, "settings.updated")).toHaveLength(1);
    // Another organization is untouched.
    expect((await other.admin.client.get(url(other.org.orgId))).json().version).toBe(0);
  });

  it("bad input is a 400 naming the field; nothing is saved", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ timezone: "Mars/Olympus" }, "timezone"],
      [
        { businessHours: { ...madridHours, week: { ...madridHours.week, mon: [{ from: "9:00", to: "17:00" }] } } },
        "businessHours.week.mon.0.from",
      ],
      [
        { businessHours: { ...madridHours, week: { ...madridHours.week, tue: [{ from: "10:00", to: "10:00" }] } } },
        "businessHours.week.tue.0.to",
      ],
      [{ businessHours: { ...madridHours, holidays: ["2026-02-30"] } }, "businessHours.holidays.0"],
      [{ assignment: { mode: "random", defaultCapacity: 5, reassignOnOffline: false } }, "assignment.mode"],
      [
        { assignment: { mode: "balanced", defaultCapacity: 0, reassignOnOffline: false } },
        "assignment.defaultCapacity",
      ],
      [{ defaultLanguage: "english" }, "defaultLanguage"],
      [{ secretField: 1 }, ""],
    ];
    for (const [body, path] of cases) {
      const res = await f.admin.client.patch(url(), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      if (path) expect(JSON.stringify(res.json().errors)).toContain(path);
    }
    expect((await f.admin.client.get(url())).json().version).toBe(1);
  });

  it("a stale version is refused with 409 settings_changed; concurrent saves both land in order", async () => {
    const stale = await f.admin.client.patch(url(), { defaultLanguage: "es", version: 0 });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe("settings_changed");
    const [a, b] = await Promise.all([
      f.admin.client.patch(url(), { defaultLanguage: "es" }),
      f.admin.client.patch(url(), { assignment: { mode: "balanced", defaultCapacity: 5, reassignOnOffline: true } }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const now = (await f.admin.client.get(url())).json();
    expect(now).toMatchObject({ defaultLanguage: "es", assignment: { mode: "balanced" }, version: 3 });
  });

  it("who may read and change: settings:read reads, only settings:manage writes, another org is 404", async () => {
    // Chat Manager and Operator hold neither settings permission.
    for (const who of [f.manager, f.operator, f.noChats]) {
      expect((await who.client.get(url())).statusCode).toBe(403);
      expect((await who.client.patch(url(), { defaultLanguage: "en" })).statusCode).toBe(403);
    }
    expect((await f.org.owner.client.get(url())).statusCode).toBe(200);
    // An admin of another organization learns nothing about this one.
    expect((await other.admin.client.get(url(f.org.orgId))).statusCode).toBe(404);
    expect((await other.admin.client.patch(url(f.org.orgId), { defaultLanguage: "en" })).statusCode).toBe(404);
  });

  it("operatorsSeeUnassigned turns the unassigned queue on and off for chats:read_assigned at once", async () => {
    const c = await customerWrites(f, { name: "Queue Person" });
    const one = `${base(f.org.orgId)}/${c.conversationId}`;
    expect((await f.operator.client.get(one)).statusCode).toBe(404);
    await f.admin.client.patch(url(), { operatorsSeeUnassigned: true });
    expect((await f.operator.client.get(one)).statusCode).toBe(200);
    const list = await f.operator.client.get(`${base(f.org.orgId)}?view=unassigned&limit=100`);
    expect(list.json().items.map((x: { id: string }) => x.id)).toContain(c.conversationId);
    await f.admin.client.patch(url(), { operatorsSeeUnassigned: false });
    expect((await f.operator.client.get(one)).statusCode).toBe(404);
  });
});
