import { existsSync } from "node:fs";
import path from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { Config } from "./config.js";
import { AppError } from "./http/problem.js";
import { projectRoot } from "./lib/project-root.js";

export const WEB_DIST = path.join(projectRoot(), "dist/web");

/**
 * Serves the built React app: its files as they are, and index.html for any other GET
 * outside /api and /docs (client-side routing). Unknown API paths keep their problem+json 404.
 */
export async function serveWebApp(app: FastifyInstance, _config: Config): Promise<void> {
  if (!existsSync(path.join(WEB_DIST, "index.html"))) {
    app.log.warn({ dir: WEB_DIST }, "web app not built (run npm run build:web); serving the API only");
    return;
  }
  await app.register(fastifyStatic, { root: WEB_DIST, wildcard: false, index: false });
  app.get("/*", { schema: { hide: true } }, async (request, reply) => {
    const url = request.url.split("?")[0] ?? "/";
    if (url.startsWith("/api/") || url === "/api" || url.startsWith("/docs")) {
      throw new AppError(404, "route_not_found", `No route ${request.method} ${url}.`);
    }
    return reply.header("cache-control", "no-cache").type("text/html; charset=utf-8").sendFile("index.html");
  });
}
