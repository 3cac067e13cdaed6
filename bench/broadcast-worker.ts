// The worker process of `npm run bench broadcast`: Chorus with job workers on the bench's
// database (DATABASE_URL), sending through the fake Graph API (WA_GRAPH_URL). Killed with
// SIGKILL mid-run by the bench, then started again.
import pino from "pino";
import { buildApp } from "../src/server/app.js";
import { loadConfig } from "../src/server/config.js";
import { openDatabase } from "../src/server/db/client.js";

const config = loadConfig({
  NODE_ENV: "test",
  LOG_LEVEL: "silent",
  DATABASE_URL: process.env.DATABASE_URL!,
  WA_GRAPH_URL: process.env.WA_GRAPH_URL!,
});
const database = await openDatabase({ url: process.env.DATABASE_URL!, poolSize: 10 });
const app = await buildApp({ config, database, logger: pino({ level: "silent" }), workers: true });
await app.ready();
await app.ctx.jobs.start();
process.stdout.write("worker ready\n");
