// `npm run jobs`: the background jobs of the database of DATABASE_URL (or the embedded one under
// DATA_DIR) as an operator sees them: counts per job type and state, then the most recent failed
// jobs with their last error. Read-only; run it beside a running instance.
import pino from "pino";
import { buildApp } from "../app.js";
import { loadConfigOrExit } from "../config.js";
import { openDatabase } from "../db/client.js";

const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: "silent" });
const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
// Registers every job type the app has, without serving or working.
const app = await buildApp({ config, database, logger: pino({ level: "silent" }) });
try {
  console.table(await app.ctx.jobs.counts());
  const failed = await app.ctx.jobs.failed(20);
  if (failed.length === 0) console.log("No failed jobs.");
  else console.table(failed);
} finally {
  await app.close();
  await database.close();
}
