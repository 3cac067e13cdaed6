import { loadConfigOrExit } from "../config.js";
import { openDatabase } from "./client.js";

const config = loadConfigOrExit(process.env);
const database = await openDatabase({
  url: config.databaseUrl,
  dataDir: config.dataDir,
  connectTimeoutMs: config.databaseConnectTimeoutMs,
});
await database.migrate();
console.log(`migrations applied to ${database.kind} at ${database.location}`);
await database.close();
