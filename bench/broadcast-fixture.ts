// What `npm run bench broadcast` and test/broadcasts/kill.test.ts both set up around a broadcast
// sent by a separate worker process (bench/broadcast-worker.ts) through the fake Graph API.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Db } from "../src/server/db/client.js";
import { messageTemplates } from "../src/server/db/schema/index.js";
import type { SimNumber } from "../src/server/modules/whatsapp/simulator/fake-graph.js";
import type { StandaloneSimulator } from "../src/server/modules/whatsapp/simulator/server.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * Registers a number with the fake Graph API. Its status webhooks go nowhere, so what is
 * measured or counted is the sender's work alone.
 */
export function registerNumber(sim: StandaloneSimulator, n: Omit<SimNumber, "webhookUrl">): void {
  sim.numbers.set(n.phoneNumberId, { ...n, webhookUrl: "http://127.0.0.1:9/unused" });
}

/** An approved marketing template (en_US), in Chorus and in the fake Graph API under `metaId`. */
export async function approvedTemplate(
  db: Db,
  sim: StandaloneSimulator,
  t: {
    orgId: string;
    channelId: string;
    wabaId: string;
    name: string;
    metaId: string;
    components: Record<string, unknown>[];
  },
) {
  const { orgId, channelId, metaId, ...rest } = t;
  const template = { ...rest, language: "en_US", category: "MARKETING" as const, status: "APPROVED" as const };
  const [row] = await db
    .insert(messageTemplates)
    .values({ ...template, orgId, channelId, metaId })
    .returning();
  sim.state.templates.set(metaId, { ...template, id: metaId });
  return row!;
}

/**
 * Starts bench/broadcast-worker.ts on `databaseUrl`, sending to `graphUrl`; resolves once it is
 * ready. `started` sees the process at once, so a caller can kill it even if it never gets ready.
 */
export async function startBroadcastWorker(opts: {
  databaseUrl: string;
  graphUrl: string;
  env: NodeJS.ProcessEnv;
  started?: (child: ChildProcess) => void;
}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench/broadcast-worker.ts")], {
    cwd: ROOT,
    env: { ...opts.env, DATABASE_URL: opts.databaseUrl, WA_GRAPH_URL: opts.graphUrl },
    stdio: ["ignore", "pipe", "inherit"],
  });
  opts.started?.(child);
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    lines.on("line", (l) => l === "worker ready" && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
  return child;
}
