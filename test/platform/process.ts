import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const COMPILED_MAIN = "dist/node/src/server/main.js";

/** `npm run build:server`: the server compiled to plain JavaScript, as `npm start` runs it. */
export function buildServer(): void {
  execFileSync(process.execPath, [path.join(ROOT, "scripts/build-server.mjs")], { cwd: ROOT, stdio: "inherit" });
}

/** The environment of a spawned server: only what a user would set, nothing inherited by accident. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    ...extra,
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** `tsx src/server/main.ts` as a child process, its JSON log lines parsed as they come. */
export class ServerProcess {
  readonly lines: LogLine[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private listeners: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (raw) => {
      try {
        this.lines.push(JSON.parse(raw) as LogLine);
      } catch {
        this.lines.push({ level: 0, msg: raw });
      }
      this.notify();
    });
    child.stderr!.on("data", (d) => {
      this.stderr += String(d);
    });
    this.exited = new Promise((resolve) => {
      child.on("exit", (code) => {
        this.notify();
        resolve(code);
      });
    });
  }

  /**
   * `tsx src/server/main.ts`, run as `node --import tsx` so that signals reach the server itself;
   * or, with `compiled`, what `npm start` runs: `node dist/node/src/server/main.js` (build it first
   * with buildServer()).
   */
  static spawn(env: Record<string, string>, opts: { compiled?: boolean } = {}): ServerProcess {
    const args = opts.compiled ? [COMPILED_MAIN] : ["--import", "tsx", "src/server/main.ts"];
    return new ServerProcess(
      spawn(process.execPath, args, {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** The first log line matching, already logged or to come; rejects if the process exits first. */
  async waitForLog(match: (l: LogLine) => boolean): Promise<LogLine> {
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`server exited (${this.child.exitCode}) before the expected log line; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  async waitForCount(n: number, match: (l: LogLine) => boolean): Promise<LogLine[]> {
    for (;;) {
      const found = this.lines.filter(match);
      if (found.length >= n) return found;
      if (this.child.exitCode !== null) throw new Error(`server exited (${this.child.exitCode}); ${this.stderr}`);
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  ready(): Promise<LogLine> {
    return this.waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("Chorus is running"));
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Runs the server with `env` until it exits on its own; for configuration errors. */
export async function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const p = ServerProcess.spawn(env);
  const code = await p.exited;
  return { code, stderr: p.stderr };
}
