import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectProblem } from "../auth/support.js";
import { createTestApp, signUp, type TestApp, type TestClient } from "../helpers/app.js";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

/** One user signed in on two devices. */
async function twoDevices(): Promise<{ laptop: TestClient; phone: TestClient }> {
  const laptop = t.client();
  laptop.headers["user-agent"] = "Laptop Firefox";
  const user = await signUp(laptop);
  const phone = t.client();
  phone.headers["user-agent"] = "Phone Safari";
  await phone.post("/api/v1/auth/login", { email: user.email, password: user.password });
  return { laptop, phone };
}

describe("GET /me/sessions", () => {
  it("lists own live sessions newest first with device, IP and which is current", async () => {
    const { laptop } = await twoDevices();
    const res = await laptop.get("/api/v1/me/sessions");
    expect(res.statusCode).toBe(200);
    const { items, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(items.map((s: { device: string; current: boolean }) => [s.device, s.current])).toEqual([
      ["Phone Safari", false],
      ["Laptop Firefox", true],
    ]);
    expect(items[0]).toMatchObject({ ip: "127.0.0.1", createdAt: expect.any(String), lastUsedAt: expect.any(String) });
  });

  it("pages with a cursor", async () => {
    const { laptop } = await twoDevices();
    const first = (await laptop.get("/api/v1/me/sessions?limit=1")).json();
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (await laptop.get(`/api/v1/me/sessions?limit=1&cursor=${first.nextCursor}`)).json();
    expect(second.items).toHaveLength(1);
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect(second.nextCursor).toBeNull();
  });

  it("refuses a forged cursor with 400", async () => {
    const { laptop } = await twoDevices();
    const forged = Buffer.from(JSON.stringify({ at: "2026-02-30T00:00:00.000000Z", id: crypto.randomUUID() })).toString(
      "base64url",
    );
    expectProblem(await laptop.get(`/api/v1/me/sessions?cursor=${forged}`), 400, "invalid_cursor");
    expectProblem(await laptop.get("/api/v1/me/sessions?cursor=garbage"), 400, "invalid_cursor");
  });
});

describe("DELETE /me/sessions/:sessionId", () => {
  it("revokes another session: it fails on its very next request", async () => {
    const { laptop, phone } = await twoDevices();
    const phoneSession = (await laptop.get("/api/v1/me/sessions"))
      .json()
      .items.find((s: { current: boolean }) => !s.current);
    const res = await laptop.delete(`/api/v1/me/sessions/${phoneSession.id}`);
    expect(res.statusCode).toBe(204);
    expectProblem(await phone.get("/api/v1/me"), 401, "session_expired");
    expect((await laptop.get("/api/v1/me")).statusCode).toBe(200);
    expectProblem(await laptop.delete(`/api/v1/me/sessions/${phoneSession.id}`), 404, "session_not_found");
  });

  it("revokes the current session like a sign-out", async () => {
    const { laptop } = await twoDevices();
    const current = (await laptop.get("/api/v1/me/sessions")).json().items.find((s: { current: boolean }) => s.current);
    expect((await laptop.delete(`/api/v1/me/sessions/${current.id}`)).statusCode).toBe(204);
    expect(laptop.cookies.chorus_session).toBeUndefined();
    expectProblem(await laptop.get("/api/v1/me"), 401, "unauthenticated");
  });

  it("answers 404 for another user's session and for an unknown one, 400 for a bad id", async () => {
    const { laptop } = await twoDevices();
    const stranger = t.client();
    await signUp(stranger);
    const theirs = (await stranger.get("/api/v1/me/sessions")).json().items[0].id;
    expectProblem(await laptop.delete(`/api/v1/me/sessions/${theirs}`), 404, "session_not_found");
    expect((await stranger.get("/api/v1/me")).statusCode).toBe(200);
    expectProblem(await laptop.delete(`/api/v1/me/sessions/${crypto.randomUUID()}`), 404, "session_not_found");
    expectProblem(await laptop.delete("/api/v1/me/sessions/not-a-uuid"), 400, "validation_failed");
  });
});

describe("DELETE /me/sessions", () => {
  it("revokes every other session and keeps this one", async () => {
    const { laptop, phone } = await twoDevices();
    const res = await laptop.delete("/api/v1/me/sessions");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 1 });
    expectProblem(await phone.get("/api/v1/me"), 401, "session_expired");
    const left = (await laptop.get("/api/v1/me/sessions")).json().items;
    expect(left).toHaveLength(1);
    expect(left[0].current).toBe(true);
  });

  it("needs a session", async () => {
    expectProblem(await t.client().delete("/api/v1/me/sessions"), 401, "unauthenticated");
  });
});
