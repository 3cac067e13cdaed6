import { Writable } from "node:stream";
import { eq, inArray, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/server/db/client.js";
import { mailOutbox } from "../../src/server/db/schema/index.js";
import type { Outbox, OutboxOptions } from "../../src/server/modules/mail/outbox.js";
import { createTestDatabase } from "../helpers/db.js";
import { openOutbox } from "../helpers/outbox.js";
import { freePort, TestSmtp, until } from "./smtp.js";

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// One database for the file (the outbox is emptied before each test); on PostgreSQL a second
// connection pool to it plays the second app instance.
let shared: Database & { url?: string };
let second: Database;
beforeAll(async () => {
  shared = await createTestDatabase();
  second = shared.url ? await openDatabase({ url: shared.url, poolSize: 4 }) : shared;
});
afterAll(async () => {
  if (second && second !== shared) await second.close();
  await shared?.close();
});
beforeEach(async () => {
  await shared.db.delete(mailOutbox);
  // And their jobs (the queue's schema exists once a first outbox has started).
  await shared.db.execute(sql`delete from pgboss.job where name = 'mail.send'`).catch(() => {});
});

async function database(): Promise<Database> {
  return shared;
}

/** An outbox on a job queue of its own (another instance); `workers` delivers by itself. */
async function outbox(
  db: Database,
  smtpUrl: string | undefined,
  over: Partial<Omit<OutboxOptions, "db" | "jobs">> & { workers?: boolean } = {},
): Promise<Outbox> {
  const o = await openOutbox(db, { log, smtpUrl, ...over });
  cleanups.push(o.close);
  return o.outbox;
}

async function enqueue(db: Database, o: Outbox, to: string, firstName = "Ada"): Promise<string> {
  return db.db.transaction((tx) =>
    o.enqueue(tx, {
      to,
      template: "verifyEmail",
      locale: "en",
      data: { firstName, url: `http://chorus.test/v?t=${to}` },
    }),
  );
}

async function row(db: Database, id: string) {
  const [r] = await db.db.select().from(mailOutbox).where(eq(mailOutbox.id, id));
  return r!;
}

describe("mail outbox", () => {
  it("commits mail with the caller's transaction: a rolled-back change leaves no mail", async () => {
    const db = await database();
    const o = await outbox(db, undefined);
    await expect(
      db.db.transaction(async (tx) => {
        await o.enqueue(tx, {
          to: "gone@example.com",
          template: "verifyEmail",
          locale: "en",
          data: { firstName: "A", url: "http://x" },
        });
        throw new Error("rollback");
      }),
    ).rejects.toThrow("rollback");
    const kept = await enqueue(db, o, "kept@example.com");
    const rows = await db.db.select().from(mailOutbox);
    expect(rows.map((r) => r.id)).toEqual([kept]);
    expect(rows[0]!.status).toBe("pending");
  });

  it("retries while the SMTP server is down and delivers exactly once when it comes up", async () => {
    const db = await database();
    const port = await freePort();
    const o = await outbox(db, `smtp://127.0.0.1:${port}`, { pollMs: 20, retryBaseMs: 20, workers: true });
    const id = await enqueue(db, o, "later@example.com");

    // Nothing listens on the port: the first attempt fails and the message stays pending.
    const failedOnce = await until(async () => {
      const r = await row(db, id);
      return r.attempts >= 1 && r.lastError ? r : null;
    });
    expect(failedOnce.status).toBe("pending");
    expect(failedOnce.lastError).toMatch(/ECONNREFUSED|connect/i);

    const smtp = await TestSmtp.start({ port });
    cleanups.push(() => smtp.close());
    const mail = await smtp.waitFor((m) => m.headers.get("x-chorus-message-id") === id);
    expect(mail.to && "text" in mail.to ? mail.to.text : "").toBe("later@example.com");
    const sent = await until(async () => {
      const r = await row(db, id);
      return r.status === "sent" ? r : null;
    });
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    expect(sent.sentAt).toBeInstanceOf(Date);
    expect(sent.lastError).toBeNull();
    // Nothing is left to send, and the message arrived once.
    expect(await o.drain()).toBe(0);
    expect(smtp.withId(id)).toHaveLength(1);
  });

  it("two workers on one database deliver each message exactly once, sharing the work", async () => {
    const db1 = await database();
    const db2 = second;
    let heldOnce = false;
    let releaseHeld!: () => void;
    const held = new Promise<void>((r) => {
      releaseHeld = r;
    });
    let heldArrived!: () => void;
    const firstArrived = new Promise<void>((r) => {
      heldArrived = r;
    });
    // The first message of worker one is held at the server until worker two has done its part.
    const smtp = await TestSmtp.start({
      beforeAccept: async (mail) => {
        if (!heldOnce && mail.from?.text.includes("one@")) {
          heldOnce = true;
          heldArrived();
          await held;
        }
      },
    });
    cleanups.push(() => smtp.close());
    const one = await outbox(db1, smtp.url, { from: "Worker One <one@chorus.test>" });
    const two = await outbox(db2, smtp.url, { from: "Worker Two <two@chorus.test>" });

    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await enqueue(i % 2 ? db2 : db1, i % 2 ? two : one, `m${i}@example.com`));

    const firstDrain = one.drain(20); // claims 20, blocks on the first send
    await firstArrived;
    const sentByTwo = await two.drain(20); // the 20 leased rows are skipped: it gets the other 10
    releaseHeld();
    const sentByOne = await firstDrain;

    expect(sentByOne).toBe(20);
    expect(sentByTwo).toBe(10);
    for (const id of ids) expect(smtp.withId(id)).toHaveLength(1);
    expect(smtp.messages).toHaveLength(30);
    const rows = await db1.db.select().from(mailOutbox).where(inArray(mailOutbox.id, ids));
    expect(rows.every((r) => r.status === "sent" && r.attempts === 1)).toBe(true);
    expect(await one.drain()).toBe(0);
    expect(await two.drain()).toBe(0);
  });

  it("concurrent drains of two workers never send a message twice", async () => {
    const db1 = await database();
    const db2 = second;
    const smtp = await TestSmtp.start();
    cleanups.push(() => smtp.close());
    const one = await outbox(db1, smtp.url);
    const two = await outbox(db2, smtp.url);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await enqueue(db1, one, `c${i}@example.com`));
    const counts = await Promise.all([one.drain(3), two.drain(3), one.drain(3), two.drain(3)]);
    // A drain may stop early when the rest is leased by the other; finish whatever is left.
    const rest = (await one.drain()) + (await two.drain());
    expect(counts.reduce((a, b) => a + b, 0) + rest).toBe(24);
    for (const id of ids) expect(smtp.withId(id)).toHaveLength(1);
  });

  it("marks a message failed after the maximum number of attempts, and stops trying", async () => {
    const db = await database();
    const port = await freePort(); // nobody listens
    const o = await outbox(db, `smtp://127.0.0.1:${port}`, { retryBaseMs: 1, maxAttempts: 3 });
    const id = await enqueue(db, o, "never@example.com");
    const failed = await until(async () => {
      await o.drain();
      const r = await row(db, id);
      return r.status === "failed" ? r : null;
    }, 5);
    expect(failed.attempts).toBe(3);
    expect(failed.sentAt).toBeNull();
    expect(failed.lastError).toBeTruthy();
    await o.drain();
    expect((await row(db, id)).attempts).toBe(3);
  });

  it("gives up at once on a permanent SMTP rejection (5xx)", async () => {
    const db = await database();
    const smtp = await TestSmtp.start({ rejectWith: 550 });
    cleanups.push(() => smtp.close());
    const o = await outbox(db, smtp.url, { retryBaseMs: 1, maxAttempts: 5 });
    const id = await enqueue(db, o, "unknown@example.com");
    expect(await o.drain()).toBe(0);
    const r = await row(db, id);
    expect(r.status).toBe("failed");
    expect(r.attempts).toBe(1);
    expect(r.lastError).toMatch(/550/);
  });

  it("keeps a transient SMTP rejection (4xx) pending for a retry", async () => {
    const db = await database();
    const smtp = await TestSmtp.start({ rejectWith: 451 });
    cleanups.push(() => smtp.close());
    const o = await outbox(db, smtp.url, { retryBaseMs: 60_000, maxAttempts: 5 });
    const id = await enqueue(db, o, "busy@example.com");
    expect(await o.drain()).toBe(0);
    const r = await row(db, id);
    expect(r.status).toBe("pending");
    expect(r.attempts).toBe(1);
    // Backoff: the job waits to retry, at least the base delay (60 s) from now.
    const [job] = (
      (await db.db.execute(
        sql`select state, start_after from pgboss.job where name = 'mail.send' and data->>'messageId' = ${id}`,
      )) as unknown as { rows: { state: string; start_after: string | Date }[] }
    ).rows;
    expect(job!.state).toBe("retry");
    expect(new Date(job!.start_after).getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(await o.drain()).toBe(0);
    expect((await row(db, id)).attempts).toBe(1);
  });
});

/** A logger whose lines the test reads. */
function capturingLog() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: "info" }, sink), lines };
}

describe("audit finding 13: a database error after the SMTP server accepted a message", () => {
  // The first statement marking a message sent fails, as on a dropped connection or a failover;
  // the fault counter is a sequence, which a rolled-back statement does not undo.
  beforeEach(async () => {
    await shared.db.execute(sql`create sequence mark_sent_faults`);
    await shared.db.execute(sql`
      create function fail_first_mark_sent() returns trigger language plpgsql as $$
      begin
        if new.status = 'sent' and old.status = 'pending' and nextval('mark_sent_faults') = 1 then
          raise exception 'injected fault: connection lost while marking sent';
        end if;
        return new;
      end $$`);
    await shared.db.execute(
      sql`create trigger fail_first_mark_sent before update on mail_outbox for each row execute function fail_first_mark_sent()`,
    );
  });
  afterEach(async () => {
    await shared.db.execute(sql`drop trigger fail_first_mark_sent on mail_outbox`);
    await shared.db.execute(sql`drop function fail_first_mark_sent()`);
    await shared.db.execute(sql`drop sequence mark_sent_faults`);
  });

  it("neither sends it again nor records a send failure; the message ends sent", async () => {
    const db = await database();
    const smtp = await TestSmtp.start();
    cleanups.push(() => smtp.close());
    const { log: captured, lines } = capturingLog();
    const o = await outbox(db, smtp.url, { log: captured, retryBaseMs: 1 });
    const id = await enqueue(db, o, "blip@example.com");

    // Drain until the message is recorded sent: a resend, had there been one, happens in here.
    const sent = await until(async () => {
      await o.drain();
      const r = await row(db, id);
      return r.status === "sent" ? r : null;
    });
    const faults = (await db.db.execute(sql`select last_value from mark_sent_faults`)) as unknown as {
      rows: { last_value: string | number }[];
    };
    expect(Number(faults.rows[0]!.last_value)).toBeGreaterThanOrEqual(2); // the fault fired, then a retry passed

    expect(smtp.withId(id)).toHaveLength(1);
    expect(sent).toMatchObject({ attempts: 1, lastError: null });
    expect(sent.sentAt).toBeInstanceOf(Date);
    expect(lines.filter((l) => l.msg.includes("send failed"))).toEqual([]);
    expect(lines.some((l) => l.msg.includes("recording it failed"))).toBe(true);
  });
});

describe("audit finding 3: with SMTP, no message text stays once its fate is settled", () => {
  it("a message refused for good keeps its recipient, template and error, not its text", async () => {
    const db = await database();
    const smtp = await TestSmtp.start({ rejectWith: 550 });
    cleanups.push(() => smtp.close());
    const o = await outbox(db, smtp.url);
    const id = await enqueue(db, o, "refused@example.com");
    expect(await o.drain()).toBe(0);
    expect(await row(db, id)).toMatchObject({
      status: "failed",
      toEmail: "refused@example.com",
      template: "verifyEmail",
      subject: "",
      textBody: "",
      htmlBody: "",
      lastError: expect.stringMatching(/550/),
    });
  });

  it("messages delivered before bodies were dropped lose them when the worker starts", async () => {
    const db = await database();
    const dev = await outbox(db, undefined); // e.g. a development mailbox, now switched to SMTP
    const old = await enqueue(db, dev, "old@example.com");
    expect(await dev.drain()).toBe(1);
    expect((await row(db, old)).textBody).toContain("http://chorus.test/v?t=old@example.com");

    const smtp = await TestSmtp.start();
    cleanups.push(() => smtp.close());
    const o = await outbox(db, smtp.url, { pollMs: 20, workers: true });
    await o.purgeDelivered(); // what main.ts does once at start
    const purged = await until(async () => {
      const r = await row(db, old);
      return r.textBody === "" ? r : null;
    });
    expect(purged).toMatchObject({ status: "sent", subject: "", htmlBody: "", toEmail: "old@example.com" });
    expect(smtp.messages).toHaveLength(0); // dropped, not sent again
  });

  it("the development mailbox keeps the text: it is where the mail is read", async () => {
    const db = await database();
    const dev = await outbox(db, undefined);
    const id = await enqueue(db, dev, "dev@example.com");
    expect(await dev.drain()).toBe(1);
    const r = await row(db, id);
    expect(r.status).toBe("sent");
    expect(r.textBody).toContain("http://chorus.test/v?t=dev@example.com");
    expect(r.htmlBody).toContain("http://chorus.test/v?t=dev@example.com");
  });
});
