import { buildApp } from "./app.js";
import { authzState } from "./authz/start.js";
import { loadConfigOrExit } from "./config.js";
import { openDatabase } from "./db/client.js";
import { createLogger, logFormatFor } from "./logger.js";

const config = loadConfigOrExit(process.env);
const log = createLogger(config.logLevel, undefined, logFormatFor(config));

/** A start-up failure stops the process with one clear line (and the details in the log). */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    log.debug({ err }, `${what} failed`);
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === "EADDRINUSE" ? `port ${config.port} is already in use` : (e.message ?? String(err));
    process.stderr.write(`Chorus could not start: ${what}: ${reason.split("\n")[0]}\n`);
    process.exit(1);
  }
}

const database = await step(
  config.databaseUrl ? "connecting to DATABASE_URL" : `opening the embedded database in DATA_DIR=${config.dataDir}`,
  () =>
    openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      idleInTransactionTimeoutMs: config.databaseIdleInTransactionTimeoutMs,
    }),
);
await step("applying database migrations", () => database.migrate());
const app = await step("starting the job queue and the HTTP app", () =>
  buildApp({ config, database, logger: log, serveWeb: true, workers: true }),
);

if (config.seedDemo) {
  const { seedDemo } = await import("./demo/seed.js");
  await step("seeding the demo organization (SEED_DEMO)", () => seedDemo(app.ctx));
}

await step("preparing the mail outbox", async () => {
  await app.ctx.outbox.purgeDelivered();
  const requeued = await app.ctx.outbox.requeueOrphans();
  if (requeued > 0) log.info({ requeued }, "mail outbox: pending messages given back to the job queue");
});
await step(`listening on ${config.host}:${config.port} (PORT)`, () =>
  app.listen({ port: config.port, host: config.host }),
);

const mail = config.devMailbox
  ? `development mailbox at ${config.appUrl}/dev/mailbox`
  : `SMTP server ${smtpHost(config.smtpUrl)}`;
const authorizationCache = authzState(app.ctx.authz);
log.info(
  {
    url: config.appUrl,
    database: database.kind,
    data: database.location,
    mail,
    authorizationCache,
    node: process.version,
  },
  `Chorus is running at ${config.appUrl} — data: ${database.kind} (${database.location}); mail: ${mail}; ` +
    `authorization cache: ${authorizationCache}; Node ${process.version}`,
);

/** host:port of the SMTP URL, never its credentials. */
function smtpHost(url: string | undefined): string {
  if (!url) return "(none)";
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || (u.protocol === "smtps:" ? "465" : "587")}`;
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down: no new connections, finishing in-flight requests");
  const force = setTimeout(() => {
    log.error("shutdown took too long; exiting");
    process.exit(1);
  }, 15_000);
  force.unref();
  try {
    // Stops accepting, waits for in-flight requests, then (onClose) lets the job workers finish
    // the jobs in hand and closes the mail transport.
    const closing = app.close();
    // A keep-alive connection busy when closing began turns idle once it has answered, and
    // would then hold the server open until the client lets go: close such connections as
    // soon as they are idle.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    await closing;
    clearInterval(sweep);
    log.info("shutdown: requests finished");
    await database.close();
    log.info("stopped");
    process.exit(0);
  } catch (err) {
    log.error({ err }, "error during shutdown");
    process.exit(1);
  }
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
