import { Writable } from "node:stream";

/** A destination for a test's logger: every write as it came, unparsed. */
export function logSink(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      writes.push(String(chunk));
      done();
    },
  });
  return { stream, writes };
}
