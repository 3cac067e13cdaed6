import Fastify, { type FastifyInstance } from "fastify";
import { fakeGraphPlugin, type SimNumber, type SimSettings, SimulatorState } from "./fake-graph.js";

export interface StandaloneSimulator {
  /** Base URL to use as WA_GRAPH_URL / WA_SIMULATOR_URL. */
  url: string;
  state: SimulatorState;
  numbers: Map<string, SimNumber>;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The fake Graph API on its own port (tests, `npm run sim:graph`). Numbers are registered with
 * `numbers.set(…)` or `POST /_sim/numbers` (phone number id, WABA id, token, app secret and the
 * webhook URL the statuses go to).
 */
export async function startSimulator(
  opts: { port?: number; host?: string; settings?: Partial<SimSettings> } = {},
): Promise<StandaloneSimulator> {
  const state = new SimulatorState(opts.settings);
  const numbers = new Map<string, SimNumber>();
  const app = Fastify({ logger: false });
  let url = "";
  app.post<{ Body: SimNumber }>("/_sim/numbers", async (request) => {
    const n = request.body;
    numbers.set(n.phoneNumberId, n);
    return { ok: true };
  });
  await app.register(
    fakeGraphPlugin(state, {
      resolve: async (id) => numbers.get(id) ?? [...numbers.values()].find((n) => n.wabaId === id) ?? null,
      baseUrl: () => url,
    }),
  );
  await app.listen({ port: opts.port ?? 0, host: opts.host ?? "127.0.0.1" });
  const addr = app.server.address();
  url = `http://${opts.host ?? "127.0.0.1"}:${typeof addr === "object" && addr ? addr.port : opts.port}`;
  return {
    url,
    state,
    numbers,
    app,
    close: async () => {
      state.stop();
      await app.close();
    },
  };
}

// `npm run sim:graph -- --port 4010`
if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--port");
  const port = i > 0 ? Number(process.argv[i + 1]) : 4010;
  const sim = await startSimulator({ port });
  process.stdout.write(`Fake Graph API at ${sim.url} (register numbers with POST /_sim/numbers)\n`);
}
