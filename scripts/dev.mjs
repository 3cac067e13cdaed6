#!/usr/bin/env node
// `npm run dev`: the API server restarting on change (tsx watch, port 3000) and the Vite dev
// server for the web app with hot reload (port 5173, proxying /api, /docs and /dev/mailbox to
// the API). The API runs with APP_URL set to the Vite URL: the browser's Origin is that URL,
// and the server's CSRF check compares the Origin with APP_URL (email links point there too).
// Ctrl-C stops both.
import { spawn } from "node:child_process";
import { binOf } from "./bin.mjs";

const apiPort = process.env.PORT ?? "3000";
const webPort = process.env.WEB_PORT ?? "5173";
const webUrl = process.env.APP_URL ?? `http://localhost:${webPort}`;

const children = [
  spawn(process.execPath, [binOf("tsx"), "watch", "--clear-screen=false", "src/server/main.ts"], {
    stdio: "inherit",
    env: { ...process.env, PORT: apiPort, APP_URL: webUrl },
  }),
  spawn(process.execPath, [binOf("vite"), "--config", "vite.config.ts", "--port", webPort, "--strictPort"], {
    stdio: "inherit",
    env: { ...process.env, API_URL: `http://localhost:${apiPort}` },
  }),
];

let exiting = false;
function stop(code) {
  if (exiting) return;
  exiting = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  process.exitCode = code;
}
for (const c of children) c.on("exit", (code) => stop(code ?? 1));
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
