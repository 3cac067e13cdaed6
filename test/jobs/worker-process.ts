// A worker instance in its own process (for the SIGKILL test): runs the probe job type on the
// PostgreSQL database of DATABASE_URL until killed; prints "ready" once working.
import pino from "pino";
import { openDatabase } from "../../src/server/db/client.js";
import { JobQueue } from "../../src/server/jobs/queue.js";
import { probeHandler, probeJob } from "./support.js";

const database = await openDatabase({ url: process.env.DATABASE_URL, poolSize: 4 });
const queue = new JobQueue(database, pino({ level: "silent" }), { workers: true, superviseIntervalSeconds: 1 });
queue.register(probeJob, probeHandler(database.db));
await queue.start();
process.stdout.write("ready\n");
