import net from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";

/** A port nothing listens on (yet): bound once by the OS, then released. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestSmtpOptions {
  port?: number;
  /** Answer every message with this SMTP error code (e.g. 550) instead of accepting it. */
  rejectWith?: number;
  /** Runs before a message is accepted; the server waits for it (lets a test hold a delivery). */
  beforeAccept?: (mail: ParsedMail) => Promise<void> | void;
}

/** A real SMTP server (smtp-server) that keeps every message it receives, parsed by mailparser. */
export class TestSmtp {
  readonly messages: ParsedMail[] = [];
  private listeners: (() => void)[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(opts: TestSmtpOptions = {}): Promise<TestSmtp> {
    let self: TestSmtp | null = null;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then(async (mail) => {
            if (opts.rejectWith) {
              const err = Object.assign(new Error("Mailbox unavailable"), { responseCode: opts.rejectWith });
              return callback(err);
            }
            await opts.beforeAccept?.(mail);
            self?.accept(mail);
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
    const port = opts.port ?? 0;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    const actual = (server.server.address() as net.AddressInfo).port;
    self = new TestSmtp(server, actual);
    return self;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  private accept(mail: ParsedMail): void {
    this.messages.push(mail);
    for (const l of this.listeners.splice(0)) l();
  }

  /** Resolves with the first received message matching `match` (already received or arriving later). */
  async waitFor(match: (m: ParsedMail) => boolean): Promise<ParsedMail> {
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  /** Resolves once `n` messages matching have arrived. */
  async waitForCount(n: number, match: (m: ParsedMail) => boolean = () => true): Promise<ParsedMail[]> {
    for (;;) {
      const found = this.messages.filter(match);
      if (found.length >= n) return found;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  withId(outboxId: string): ParsedMail[] {
    return this.messages.filter((m) => m.headers.get("x-chorus-message-id") === outboxId);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Re-checks `check` until it returns a truthy value (no deadline: the test timeout is the backstop). */
export async function until<T>(check: () => Promise<T | null | undefined | false>, everyMs = 10): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A test app whose mail goes to a real SMTP server: both start before this file's tests and
 * close after them. Read `smtp` and `t` inside the tests (they are set by then).
 */
export function withSmtpTestApp(): { readonly smtp: TestSmtp; readonly t: TestApp } {
  const env = {} as { smtp: TestSmtp; t: TestApp };
  beforeAll(async () => {
    env.smtp = await TestSmtp.start();
    env.t = await createTestApp({ env: { SMTP_URL: env.smtp.url } });
  });
  afterAll(async () => {
    await env.t?.close();
    await env.smtp?.close();
  });
  return env;
}
