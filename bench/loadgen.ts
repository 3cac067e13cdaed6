// A closed-loop HTTP/1.1 load generator on raw sockets, in the manner of autocannon (which is not
// installed): N kept-alive connections, each sending its next request as soon as the previous
// answer is complete; requests pre-serialized, answers parsed only as far as the status line,
// Content-Length (or the end of a chunked body). Cheap enough per request that the server, not
// the generator, is what is measured.
import net from "node:net";

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** Status code → count (anything not the expected code is an error the caller reports). */
  statuses: Record<number, number>;
}

export interface LoadOptions {
  port: number;
  connections: number;
  durationMs: number;
  /** The request bytes of the i-th request (i counts across connections). */
  request: (i: number) => Buffer;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
// Node writes the header names as the server set them: Fastify's and Chorus' are lower case.
const CONTENT_LENGTH = Buffer.from("\r\ncontent-length: ");
const CHUNKED = Buffer.from("\r\ntransfer-encoding: chunked");

export function httpRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Buffer {
  const payload = body === undefined ? "" : JSON.stringify(body);
  const lines = [`${method} ${path} HTTP/1.1`, "host: 127.0.0.1", "connection: keep-alive"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push("content-type: application/json", `content-length: ${Buffer.byteLength(payload)}`);
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${payload}`);
}

export async function load(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let counter = 0;
  let stopping = false;
  const started = performance.now();
  const deadline = started + opts.durationMs;

  const connection = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect({ port: opts.port, host: "127.0.0.1", noDelay: true });
      let buf = Buffer.alloc(0);
      let sentAt = 0;
      const next = () => {
        if (stopping || performance.now() >= deadline) {
          stopping = true;
          socket.end();
          resolve();
          return;
        }
        sentAt = performance.now();
        socket.write(opts.request(counter++));
      };
      socket.on("connect", next);
      socket.on("error", reject);
      socket.on("data", (chunk) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          // Parsed on the bytes, without decoding the head: a longer head (security headers)
          // must not cost the generator more than the server.
          const headEnd = buf.indexOf(CRLFCRLF);
          if (headEnd < 0) return;
          const status = (buf[9]! - 48) * 100 + (buf[10]! - 48) * 10 + (buf[11]! - 48);
          const cl = buf.indexOf(CONTENT_LENGTH);
          let end: number;
          if (cl >= 0 && cl < headEnd) {
            let n = 0;
            for (let i = cl + CONTENT_LENGTH.length; buf[i]! >= 48 && buf[i]! <= 57; i++) n = n * 10 + buf[i]! - 48;
            end = headEnd + 4 + n;
          } else if (buf.indexOf(CHUNKED) >= 0 && buf.indexOf(CHUNKED) < headEnd) {
            const term = buf.indexOf("\r\n0\r\n\r\n", headEnd);
            if (term < 0) return;
            end = term + 7;
          } else {
            end = headEnd + 4;
          }
          if (buf.length < end) return;
          buf = buf.subarray(end);
          latencies.push(performance.now() - sentAt);
          statuses[status] = (statuses[status] ?? 0) + 1;
          next();
        }
      });
    });

  await Promise.all(Array.from({ length: opts.connections }, connection));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0;
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    statuses,
  };
}
