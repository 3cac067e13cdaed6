import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activity, waChannels } from "../../src/server/db/schema/index.js";
import { SECRET_PURPOSE } from "../../src/server/modules/channels/repo.js";
import { SecretBox, secretBoxOf } from "../../src/server/modules/channels/secret-box.js";
import { type StandaloneSimulator, startSimulator } from "../../src/server/modules/whatsapp/simulator/server.js";
import { APP_URL, createTestApp, type TestApp } from "../helpers/app.js";
import { memberWith, orgWithOwner } from "../helpers/orgs.js";
import { insertCustomRole } from "../helpers/rbac.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  capturingLogger,
  connectChannel,
  drainWebhooks,
  inbound,
  postWebhook,
  uniquePhoneNumberId,
  WABA_ID,
} from "./helpers.js";

let t: TestApp;
let sim: StandaloneSimulator;
let logLines: string[];
const responses: string[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  const { logger, lines } = capturingLogger();
  logLines = lines;
  t = await createTestApp({ logger, env: { WA_GRAPH_URL: sim.url, LOG_LEVEL: "trace" } });
});
afterAll(async () => {
  await t.close();
  await sim.close();
});

const keep = <T extends { body: string }>(res: T): T => {
  responses.push(res.body);
  return res;
};

describe("channels", () => {
  it("connect: 201 with the webhook URL and verify token; secrets encrypted at rest and never answered", async () => {
    const org = await orgWithOwner(t, "Channel Co");
    const phoneNumberId = uniquePhoneNumberId();
    const res = keep(
      await org.owner.client.post(`/api/v1/orgs/${org.orgId}/channels`, {
        name: "Sales",
        mode: "cloud",
        phoneNumberId,
        wabaId: WABA_ID,
        displayPhoneNumber: "+1 555 010 0000",
        accessToken: ACCESS_TOKEN,
        appSecret: APP_SECRET,
      }),
    );
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: "Sales", mode: "cloud", phoneNumberId, wabaId: WABA_ID, mpsLimit: 80 });
    expect(body.webhookUrl).toMatch(new RegExp(`^${APP_URL}/api/v1/webhooks/whatsapp/[0-9a-f]{32}$`));
    expect(body.verifyToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Object.keys(body)).not.toContain("accessToken");
    expect(Object.keys(body)).not.toContain("appSecret");

    const [row] = await t.database.db.select().from(waChannels).where(eq(waChannels.id, body.id));
    for (const enc of [row!.accessTokenEnc, row!.appSecretEnc, row!.verifyTokenEnc]) {
      expect(enc).toMatch(/^v1\.[0-9a-f]{8}\./);
    }
    expect(JSON.stringify(row)).not.toContain(ACCESS_TOKEN);
    expect(JSON.stringify(row)).not.toContain(APP_SECRET);
    const box = secretBoxOf(t.config);
    expect(box.decrypt(row!.accessTokenEnc, SECRET_PURPOSE.accessToken)).toBe(ACCESS_TOKEN);
    // Bound to its purpose: the token's ciphertext does not open as an app secret.
    expect(() => box.decrypt(row!.accessTokenEnc, SECRET_PURPOSE.appSecret)).toThrow();

    const list = keep(await org.owner.client.get(`/api/v1/orgs/${org.orgId}/channels`));
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toHaveLength(1);
    expect(list.json().nextCursor).toBeNull();

    // The same number twice, here or elsewhere: 409.
    const other = await orgWithOwner(t, "Elsewhere");
    const dup = keep(
      await other.owner.client.post(`/api/v1/orgs/${other.orgId}/channels`, {
        name: "Copy",
        mode: "cloud",
        phoneNumberId,
        wabaId: WABA_ID,
        displayPhoneNumber: "+1 555 010 0000",
        accessToken: ACCESS_TOKEN,
        appSecret: APP_SECRET,
      }),
    );
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe("channel_exists");

    // A cloud channel needs its ids and secrets.
    const missing = keep(
      await org.owner.client.post(`/api/v1/orgs/${org.orgId}/channels`, {
        name: "Bare",
        mode: "cloud",
        displayPhoneNumber: "+1 555 010 0001",
      }),
    );
    expect(missing.statusCode).toBe(400);
    expect(
      missing
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(["accessToken", "appSecret", "phoneNumberId", "wabaId"]);
  });

  it("edit, rotate secrets, regenerate the verify token, disconnect; the activity log never holds a secret", async () => {
    const org = await orgWithOwner(t, "Rotate Co");
    const ch = await connectChannel(org);
    const newToken = "EAAGrotatedTOKENvalue9876543210xyzSECRET";
    const newSecret = "rotatedappsecret9876543210fedcba987654";
    const patched = keep(
      await org.owner.client.patch(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`, {
        name: "Renamed",
        accessToken: newToken,
        appSecret: newSecret,
        regenerateVerifyToken: true,
      }),
    );
    expect(patched.statusCode).toBe(200);
    expect(patched.json().name).toBe("Renamed");
    expect(patched.json().verifyToken).not.toBe(ch.verifyToken);

    // The new app secret signs from now on; the old one no longer does.
    const raw = inbound(ch.phoneNumberId, "15551239001", { type: "text", text: { body: "after rotation" } });
    expect((await postWebhook(t, ch.webhookKey, raw)).statusCode).toBe(401);
    const { sign } = await import("./helpers.js");
    expect((await postWebhook(t, ch.webhookKey, raw, sign(raw, newSecret))).statusCode).toBe(200);
    await drainWebhooks(t);

    const rows = await t.database.db.select().from(activity).where(eq(activity.orgId, org.orgId));
    const actions = rows.map((r) => r.action);
    expect(actions).toContain("channel.created");
    expect(actions).toContain("channel.updated");
    const updated = rows.find((r) => r.action === "channel.updated")!;
    expect(updated.changes).toMatchObject({
      name: { before: "Support line", after: "Renamed" },
      credentials: { after: "replaced: access, app, verification" },
    });
    const dump = JSON.stringify(rows);
    for (const s of [ACCESS_TOKEN, APP_SECRET, newToken, newSecret]) expect(dump).not.toContain(s);

    // Another organization's owner: 404 like a missing channel.
    const stranger = await orgWithOwner(t, "Stranger");
    const peek = keep(await stranger.owner.client.get(`/api/v1/orgs/${stranger.orgId}/channels/${ch.id}`));
    expect(peek.statusCode).toBe(404);
    expect(peek.json().code).toBe("channel_not_found");

    const del = await org.owner.client.delete(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`);
    expect(del.statusCode).toBe(204);
    expect((await org.owner.client.get(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`)).statusCode).toBe(404);
    expect((await postWebhook(t, ch.webhookKey, raw, sign(raw, newSecret))).statusCode).toBe(404);
    const after = await t.database.db.select().from(activity).where(eq(activity.orgId, org.orgId));
    expect(after.map((r) => r.action)).toContain("channel.deleted");
  });

  it("settings:read sees channels (with webhook URL and verify token); only settings:manage changes them", async () => {
    const org = await orgWithOwner(t, "Perm Co");
    const ch = await connectChannel(org);
    const readRole = await insertCustomRole(t.database.db, org.orgId, ["settings:read"]);
    const reader = await memberWith(t, org.orgId, [readRole]);
    const nobody = await memberWith(t, org.orgId, []);
    expect((await reader.client.get(`/api/v1/orgs/${org.orgId}/channels`)).statusCode).toBe(200);
    const denied = await reader.client.patch(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`, { name: "Mine" });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().missingPermission).toBe("settings:manage");
    expect((await reader.client.post(`/api/v1/orgs/${org.orgId}/channels/${ch.id}/test`)).statusCode).toBe(403);
    expect((await reader.client.delete(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`)).statusCode).toBe(403);
    expect((await nobody.client.get(`/api/v1/orgs/${org.orgId}/channels`)).statusCode).toBe(403);
  });

  it("any member lists the numbers to pick from (name, display number, mode): no Meta ids, webhook details or secrets, no other organization's", async () => {
    const org = await orgWithOwner(t, "Options Co");
    const ch = await connectChannel(org);
    const other = await orgWithOwner(t, "Options Other Co");
    await connectChannel(other);
    const templater = await memberWith(t, org.orgId, ["template_manager"]);
    const nobody = await memberWith(t, org.orgId, []);
    for (const who of [templater, nobody]) {
      const res = keep(await who.client.get(`/api/v1/orgs/${org.orgId}/channels/options`));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        items: [{ id: ch.id, name: "Support line", displayPhoneNumber: "+1 555 010 0000", mode: "cloud" }],
        nextCursor: null,
      });
      for (const word of [ch.phoneNumberId, WABA_ID, ch.verifyToken, ch.webhookUrl, ACCESS_TOKEN, APP_SECRET]) {
        expect(res.body).not.toContain(word);
      }
    }
    // Another organization's member gets no list of this one's numbers.
    const res = await other.owner.client.get(`/api/v1/orgs/${org.orgId}/channels/options`);
    expect(res.statusCode).toBe(404);
  });

  it("test connection reports the verified name and quality rating, or Meta's error", async () => {
    const org = await orgWithOwner(t, "Test Co");
    const ch = await connectChannel(org);
    sim.numbers.set(ch.phoneNumberId, {
      phoneNumberId: ch.phoneNumberId,
      wabaId: WABA_ID,
      displayPhoneNumber: "+1 555 010 0000",
      verifiedName: "Test Co Support",
      accessToken: ACCESS_TOKEN,
      appSecret: APP_SECRET,
      webhookUrl: "http://127.0.0.1:9/unused",
    });
    const ok = keep(await org.owner.client.post(`/api/v1/orgs/${org.orgId}/channels/${ch.id}/test`));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({
      ok: true,
      verifiedName: "Test Co Support",
      qualityRating: "GREEN",
      displayPhoneNumber: "+1 555 010 0000",
      error: null,
    });
    const shown = (await org.owner.client.get(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`)).json();
    expect(shown).toMatchObject({ verifiedName: "Test Co Support", qualityRating: "GREEN" });
    expect(shown.lastTestedAt).not.toBeNull();

    await org.owner.client.patch(`/api/v1/orgs/${org.orgId}/channels/${ch.id}`, {
      accessToken: "EAAGexpiredTOKEN000000000000000",
    });
    const bad = keep(await org.owner.client.post(`/api/v1/orgs/${org.orgId}/channels/${ch.id}/test`));
    expect(bad.statusCode).toBe(200);
    expect(bad.json()).toMatchObject({ ok: false, error: { code: 190 } });
    expect(bad.json().error.title).toMatch(/Invalid OAuth access token/);

    // A number Meta does not know: its error 100, reported.
    const unknownOrg = await orgWithOwner(t, "Unknown Co");
    const unknown = await connectChannel(unknownOrg);
    const res = keep(
      await unknownOrg.owner.client.post(`/api/v1/orgs/${unknownOrg.orgId}/channels/${unknown.id}/test`),
    );
    expect(res.json()).toMatchObject({ ok: false, error: { code: 100 } });
  });

  it("no secret in any response or log line", async () => {
    expect(logLines.length).toBeGreaterThan(20);
    const all = [...responses, ...logLines].join("\n");
    for (const s of [
      ACCESS_TOKEN,
      APP_SECRET,
      "EAAGrotatedTOKENvalue9876543210xyzSECRET",
      "rotatedappsecret9876543210fedcba987654",
    ]) {
      expect(all).not.toContain(s);
    }
  });
});

describe("simulator channels", () => {
  it("are generated ids and secrets in development, and refused in production", async () => {
    const org = await orgWithOwner(t, "Sim Co");
    const res = await org.owner.client.post(`/api/v1/orgs/${org.orgId}/channels`, {
      name: "Simulated",
      mode: "simulator",
      displayPhoneNumber: "+1 555 010 9999",
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().phoneNumberId).toMatch(/^\d{15}$/);

    const prod = await createTestApp({
      env: {
        NODE_ENV: "production",
        SMTP_URL: "smtp://127.0.0.1:9",
        SECRET_KEY: "a-production-secret-key-of-at-least-32-chars",
      },
    });
    try {
      const owner = await orgWithOwner(prod, "Prod Co");
      const refused = await owner.owner.client.post(`/api/v1/orgs/${owner.orgId}/channels`, {
        name: "Simulated",
        mode: "simulator",
        displayPhoneNumber: "+1 555 010 9999",
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().code).toBe("simulator_not_allowed");
      // And no fake Graph API or dev phone is mounted.
      expect((await prod.app.inject({ method: "GET", url: "/dev/phone" })).statusCode).toBe(404);
    } finally {
      await prod.close();
    }
  });
});

describe("secret box", () => {
  it("decrypts with a previous key while rotating; an unknown key is refused", () => {
    const old = new SecretBox("old-key-old-key-old-key-old-key-old!");
    const sealed = old.encrypt("EAAG-secret", "p");
    const rotated = new SecretBox("new-key-new-key-new-key-new-key-new!", ["old-key-old-key-old-key-old-key-old!"]);
    expect(rotated.decrypt(sealed, "p")).toBe("EAAG-secret");
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.isStale(rotated.encrypt("x", "p"))).toBe(false);
    const without = new SecretBox("new-key-new-key-new-key-new-key-new!");
    expect(() => without.decrypt(sealed, "p")).toThrow(/unknown key/);
    // Tampering is detected (GCM tag).
    const parts = sealed.split(".");
    parts[4] = Buffer.from("EAAG-secreT").toString("base64url");
    expect(() => old.decrypt(parts.join("."), "p")).toThrow();
  });
});
