// A server process of bench/http.bench.ts (not a bench of its own: no `.bench.ts`).
//   node --import tsx bench/http-server.ts bare            a bare Fastify 5 app: GET /healthz
//   node --import tsx bench/http-server.ts chorus <root>   the Chorus app of the source tree <root>
//                                                          (this tree, or a `git worktree` of another commit)
// Chorus runs as `npm start` builds it (NODE_ENV=production, LOG_LEVEL=info, the production logger
// writing to /dev/null instead of stdout), on an in-memory PGlite, or on a fresh database of the
// PostgreSQL server of TEST_DATABASE_URL (dropped at the end). Seeded: one organization, its owner
// (a Bearer session) and 1,000 members holding one role each.
// Talks to the parent over IPC: sends {ready, port, ...fixture}; answers {profile: "start"|"stop"}
// (a CPU profile through the inspector, returned as a summary) and {exit}.
import { Session } from "node:inspector/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { summarizeProfile } from "./http-profile.js";

const [variant, rootArg] = process.argv.slice(2);
const send = (m: unknown) => process.send!(m);

interface Fixture {
  orgId: string;
  token: string;
  memberIds: string[];
  roles: [string, string];
}

async function bare(): Promise<{ port: number; close: () => Promise<void> }> {
  const { default: Fastify } = await import("fastify");
  const app = Fastify();
  app.get("/healthz", async () => ({ status: "ok" }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
}

async function chorus(root: string): Promise<{ port: number; close: () => Promise<void> } & Fixture> {
  const imp = (p: string) => import(pathToFileURL(path.join(root, p)).href);
  const [{ buildApp }, { loadConfig }, logging, { createTestDatabase }, schema, { createSession }, roles] =
    await Promise.all([
      imp("src/server/app.ts"),
      imp("src/server/config.ts"),
      imp("src/server/logger.ts"),
      imp("test/helpers/db.ts"),
      imp("src/server/db/schema/index.ts"),
      imp("src/server/modules/auth/sessions.ts"),
      imp("src/server/modules/roles/repo.ts"),
    ]);
  const { default: pino } = await import("pino");
  const { createLogger } = logging;
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "production",
    APP_URL: "https://chorus.bench.test",
    SMTP_URL: "smtp://127.0.0.1:1",
    LOG_LEVEL: "info",
    // Production requires one since the WhatsApp channel (secrets at rest); a base build ignores it.
    SECRET_KEY: "bench-secret-key-bench-secret-key-0123456789",
  });
  // Where `npm start` writes its JSON log (logDestination: stdout, asynchronous), here /dev/null; a
  // base build without logDestination wrote synchronously, as pino does by default.
  const logger = createLogger(
    process.env.BENCH_LOG_LEVEL ?? "info",
    // BENCH_LOG_DEST=none: lines composed, then dropped (what the write itself costs).
    process.env.BENCH_LOG_DEST === "none"
      ? { write: () => true }
      : (logging.logDestination?.("/dev/null") ?? pino.destination({ dest: "/dev/null", sync: true })),
  );
  const app = await buildApp({ config, database, logger });
  await app.listen({ port: 0, host: "127.0.0.1" });

  const db = database.db;
  const { users, memberships, memberRoles, organizations } = schema;
  const [owner] = await db
    .insert(users)
    .values({
      email: "owner@bench.test",
      passwordHash: "x",
      firstName: "Olive",
      lastName: "Owner",
      emailVerifiedAt: new Date(),
    })
    .returning();
  const session = await createSession(db, {
    userId: owner.id,
    ip: "127.0.0.1",
    userAgent: "bench",
    twoFactorVerified: false,
    idleTtlMs: 3_600_000,
  });
  const [org] = await db.insert(organizations).values({ name: "Bench" }).returning();
  await roles.seedSystemRoles(db, org.id);
  await db
    .insert(memberships)
    .values({ orgId: org.id, userId: owner.id, isOwner: true, firstName: "Olive", lastName: "Owner" });
  const names = ["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo"];
  const people = await db
    .insert(users)
    .values(
      Array.from({ length: 1000 }, (_, i) => ({
        email: `member${i}@bench.test`,
        passwordHash: "x",
        firstName: names[i % names.length]!,
        lastName: `Member${String(i).padStart(4, "0")}`,
        emailVerifiedAt: new Date(),
      })),
    )
    .returning({ id: users.id, firstName: users.firstName, lastName: users.lastName });
  const members = await db
    .insert(memberships)
    .values(
      people.map((u: { id: string; firstName: string; lastName: string }) => ({
        orgId: org.id,
        userId: u.id,
        firstName: u.firstName,
        lastName: u.lastName,
      })),
    )
    .returning({ id: memberships.id });
  const roleIds: [string, string] = ["operator", "contact_manager"];
  await db
    .insert(memberRoles)
    .values(members.map((m: { id: string }) => ({ orgId: org.id, memberId: m.id, roleId: roleIds[0] })));
  return {
    port: (app.server.address() as { port: number }).port,
    close: async () => {
      await app.close();
      await database.close();
    },
    orgId: org.id,
    token: session.token,
    memberIds: members.map((m: { id: string }) => m.id),
    roles: roleIds,
  };
}

const server = variant === "bare" ? await bare() : await chorus(path.resolve(rootArg ?? "."));
const inspector = new Session();
inspector.connect();

process.on("message", async (msg: { profile?: "start" | "stop"; exit?: boolean }) => {
  if (msg.profile === "start") {
    await inspector.post("Profiler.enable");
    await inspector.post("Profiler.setSamplingInterval", { interval: 200 });
    await inspector.post("Profiler.start");
    send({ profiling: true });
  } else if (msg.profile === "stop") {
    const { profile } = await inspector.post("Profiler.stop");
    send({ profileSummary: summarizeProfile(profile) });
  } else if (msg.exit) {
    await server.close();
    process.exit(0);
  }
});
// The bench process gone (finished or killed): no server outlives it.
process.on("disconnect", () => process.exit(0));
const { close: _close, ...info } = server;
send({ ready: true, ...info });
