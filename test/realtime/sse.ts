import type { AddressInfo } from "node:net";
import type { TestApp } from "../helpers/app.js";

export interface SseEvent {
  id: string | null;
  event: string;
  data: Record<string, unknown>;
}

/** The app listening on a real socket (SSE streams do not end: app.inject cannot read them). */
export async function listen(t: TestApp): Promise<string> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = t.app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * A client of `GET /orgs/:orgId/events` over a real socket (fetch): collects events and comment
 * lines as they arrive; waits for an event matching, or for the stream to end (no timers: the
 * test's timeout is the backstop).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  readonly #waiters = new Set<() => void>();
  readonly #abort = new AbortController();

  private constructor(readonly status: number) {}

  static async open(
    baseUrl: string,
    orgId: string,
    token: string,
    headers: Record<string, string> = {},
  ): Promise<SseClient> {
    const abort = new AbortController();
    const res = await fetch(`${baseUrl}/api/v1/orgs/${orgId}/events`, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${token}`, ...headers },
      signal: abort.signal,
    });
    const client = new SseClient(res.status);
    client.#abort.signal.addEventListener("abort", () => abort.abort());
    if (res.status !== 200 || !res.body) {
      client.ended = true;
      client.body = await res.text();
      return client;
    }
    client.contentType = res.headers.get("content-type");
    void client.#read(res.body);
    // Wait for the stream to be open (its first comment line): the subscription exists then.
    await client.#until(() => client.comments.length > 0 || client.ended);
    return client;
  }

  body = "";
  contentType: string | null = null;

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i = buf.indexOf("\n\n");
        while (i >= 0) {
          this.#parse(buf.slice(0, i));
          buf = buf.slice(i + 2);
          i = buf.indexOf("\n\n");
        }
        this.#wake();
      }
    } catch {
      // aborted
    }
    this.ended = true;
    this.#wake();
  }

  #parse(block: string): void {
    let id: string | null = null;
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const sep = line.indexOf(":");
      const field = sep < 0 ? line : line.slice(0, sep);
      const value = sep < 0 ? "" : line.slice(sep + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length === 0 && id === null) return;
    this.events.push({ id, event, data: data.length ? JSON.parse(data.join("\n")) : {} });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  async #until(check: () => boolean): Promise<void> {
    while (!check()) {
      await new Promise<void>((resolve) => {
        const w = () => {
          this.#waiters.delete(w);
          resolve();
        };
        this.#waiters.add(w);
      });
    }
  }

  /** The first event (already received or arriving later) that matches. */
  async next(match: (e: SseEvent) => boolean): Promise<SseEvent> {
    let found: SseEvent | undefined;
    await this.#until(() => {
      found = this.events.find(match);
      if (!found && this.ended) throw new Error(`stream ended; received: ${JSON.stringify(this.events)}`);
      return found !== undefined;
    });
    return found!;
  }

  /** Resolves once the server has ended the stream. */
  async closedByServer(): Promise<void> {
    await this.#until(() => this.ended);
  }

  of(conversationId: string): SseEvent[] {
    return this.events.filter((e) => e.data.conversationId === conversationId);
  }

  close(): void {
    this.#abort.abort();
  }
}
