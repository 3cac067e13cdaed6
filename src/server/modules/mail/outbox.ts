import { and, desc, eq, inArray, ne, sql } from "drizzle-orm";
import type { Transporter } from "nodemailer";
import nodemailer from "nodemailer";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { mailOutbox } from "../../db/schema/index.js";
import { defineJob, type JobRun, type JobType } from "../../jobs/define.js";
import type { JobQueue } from "../../jobs/queue.js";
import { type Locale, renderMail, type TemplateData, type TemplateName } from "./templates.js";

export interface OutboxOptions {
  db: Db;
  log: Logger;
  /** The job queue that delivers: each message is a `mail.send` job committed with it. */
  jobs: JobQueue;
  from: string;
  /** Absent: development mailbox (messages stay in the table, links go to the log). */
  smtpUrl: string | undefined;
  /** How often an idle worker looks for mail when no notification woke it. */
  pollMs?: number;
  retryBaseMs?: number;
  maxAttempts?: number;
  /** How long a message being sent stays invisible to other workers (the job's lease). */
  leaseMs?: number;
}

export const URL_RE = /https?:\/\/[^\s"<>]+/g;

type Message = typeof mailOutbox.$inferSelect;

/** A delivered (or abandoned) message keeps its recipient, template, times and error, not its text. */
const PURGED = { subject: "", textBody: "", htmlBody: "" } as const;

/** SMTP replies 5xx are permanent (unknown mailbox, rejected content): retrying cannot help. */
function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode;
  return typeof code === "number" && code >= 500 && code < 600;
}

/**
 * Durable outbox. `enqueue` is called inside the transaction of the change that causes the
 * mail: the message row (the mailbox's record: recipient, text, status, attempts) and its
 * `mail.send` job commit with the change or not at all. The job queue's workers deliver it,
 * on whichever instance claims the job, and retry with exponential backoff while the SMTP
 * server is down.
 */
export class Outbox {
  private readonly transport: Transporter | null;
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly messageIdDomain: string;
  private readonly job: JobType<{ messageId: string }>;

  /** The outbox the app runs with, from the environment (SMTP_URL, MAIL_FROM, MAIL_POLL_MS, …). */
  static fromConfig(db: Db, log: Logger, config: Config, jobs: JobQueue): Outbox {
    return new Outbox({
      db,
      log,
      jobs,
      from: config.mailFrom,
      smtpUrl: config.devMailbox ? undefined : config.smtpUrl,
      pollMs: config.mailPollMs,
      retryBaseMs: config.mailRetryBaseMs,
      maxAttempts: config.mailMaxAttempts,
    });
  }

  constructor(private readonly opts: OutboxOptions) {
    // Timeouts well under the lease: a send still running when its lease ends could be
    // claimed and sent again by another worker.
    this.transport = opts.smtpUrl
      ? nodemailer.createTransport({
          url: opts.smtpUrl,
          connectionTimeout: 10_000,
          greetingTimeout: 10_000,
          socketTimeout: 20_000,
        })
      : null;
    this.maxAttempts = opts.maxAttempts ?? 12;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.messageIdDomain = /@([^\s<>@]+)>?\s*$/.exec(opts.from)?.[1] ?? "chorus.localhost";
    this.job = defineJob<{ messageId: string }>({
      name: "mail.send",
      queue: {
        retryLimit: this.maxAttempts - 1,
        // pg-boss counts whole seconds: the first retry after at least a second.
        retryDelay: Math.max(1, Math.round((opts.retryBaseMs ?? 5000) / 1000)),
        retryBackoff: true,
        retryDelayMax: 3_600,
        expireInSeconds: Math.ceil(this.leaseMs / 1000),
      },
      work: { batchSize: 10, pollingIntervalSeconds: Math.max(0.5, (opts.pollMs ?? 2000) / 1000) },
    });
    opts.jobs.register(this.job, (run) => this.deliver(run));
  }

  get isDevMailbox(): boolean {
    return this.transport === null;
  }

  async enqueue<N extends TemplateName>(
    tx: DbOrTx,
    msg: { to: string; template: N; data: TemplateData<N>; locale: Locale; orgId?: string | null },
  ): Promise<string> {
    const rendered = renderMail(msg.template, msg.data, msg.locale);
    const [row] = await tx
      .insert(mailOutbox)
      .values({
        orgId: msg.orgId ?? null,
        toEmail: msg.to,
        template: msg.template,
        locale: msg.locale,
        subject: rendered.subject,
        textBody: rendered.text,
        htmlBody: rendered.html,
      })
      .returning({ id: mailOutbox.id });
    await this.opts.jobs.enqueue(tx, this.job, { messageId: row!.id });
    return row!.id;
  }

  /**
   * With SMTP, rows sent or failed before bodies were dropped on delivery (older versions, or a
   * development mailbox switched to SMTP) lose them too; main.ts runs it once at start.
   */
  async purgeDelivered(): Promise<void> {
    if (!this.transport) return;
    await this.opts.db
      .update(mailOutbox)
      .set(PURGED)
      .where(and(inArray(mailOutbox.status, ["sent", "failed"]), ne(mailOutbox.textBody, "")));
  }

  /**
   * Pending messages without a live `mail.send` job get one: rows written before mail went
   * through the job queue (an upgrade), or whose job was deleted by hand. main.ts runs it once
   * at start; a message already in the queue is left alone.
   */
  async requeueOrphans(): Promise<number> {
    await this.opts.jobs.start(); // its tables exist from then on
    const orphans = await this.opts.db.execute<{ id: string }>(sql`
      select m.id from mail_outbox m
      where m.status = 'pending' and not exists (
        select 1 from pgboss.job j
        where j.name = ${this.job.name} and j.state in ('created', 'retry', 'active')
          and j.data->>'messageId' = m.id::text)`);
    const ids = (orphans as unknown as { rows: { id: string }[] }).rows.map((r) => r.id);
    for (const id of ids) await this.opts.jobs.enqueue(this.opts.db, this.job, { messageId: id });
    return ids.length;
  }

  async stop(): Promise<void> {
    this.transport?.close();
  }

  /** Sends every message due now, in this process (tests, scripts); returns how many were sent. */
  drain(batch = 20): Promise<number> {
    return this.opts.jobs.drain(this.job, batch);
  }

  /**
   * The `mail.send` job. Safe to run twice: a message no longer pending (sent, failed, or taken
   * by a run that was presumed dead) is left alone. True when this run sent it.
   */
  private async deliver(run: JobRun<{ messageId: string }>): Promise<boolean> {
    const leaseEnds = Date.now() + this.leaseMs;
    const [m] = await this.opts.db
      .update(mailOutbox)
      .set({ attempts: sql`${mailOutbox.attempts} + 1` })
      .where(and(eq(mailOutbox.id, run.data.messageId), eq(mailOutbox.status, "pending")))
      .returning();
    if (!m) return false;
    let messageId: string | null;
    try {
      messageId = await this.send(m);
    } catch (err) {
      const permanent = isPermanent(err);
      await this.recordFailure(m, err, permanent || run.lastAttempt);
      // A permanent refusal is an outcome, recorded on the message; anything else is retried
      // by the queue, and a last failed attempt stays visible among the failed jobs.
      if (permanent) return false;
      throw err;
    }
    // Accepted by the SMTP server (or stored, in the mailbox): from here on a database error is
    // bookkeeping, never a send failure, and must not send the message again.
    await this.recordSent(m, messageId, leaseEnds);
    return true;
  }

  /** Hands the message to the SMTP server; resolves once accepted, with its Message-ID. */
  private async send(m: Message): Promise<string | null> {
    if (!this.transport) {
      // The development mailbox is the delivery: its links in the log are the feature.
      this.opts.log.info(
        { to: m.toEmail, subject: m.subject, links: m.textBody.match(URL_RE) ?? [] },
        "dev mailbox: message stored",
      );
      return null;
    }
    const info = await this.transport.sendMail({
      from: this.opts.from,
      to: m.toEmail,
      subject: m.subject,
      text: m.textBody,
      html: m.htmlBody,
      // The same Message-ID on every attempt: a receiver can tell a repeat delivery (after a
      // crash between acceptance and bookkeeping) from a new message.
      messageId: `<${m.id}@${this.messageIdDomain}>`,
      headers: { "X-Chorus-Message-Id": m.id },
    });
    return info.messageId ?? null;
  }

  /**
   * Marks the message sent; with SMTP also drops its subject and bodies, whose links carry live
   * tokens (the mailbox keeps them: it is where they are read). A failing statement (a dropped
   * connection, a failover) is retried while the lease still keeps other workers off the row.
   * If the lease runs out first, the row stays pending and is sent again once the lease ends:
   * delivery is at least once, a short database blip never causes a resend.
   */
  private async recordSent(m: Message, messageId: string | null, leaseEnds: number): Promise<void> {
    for (let retry = 0; ; retry++) {
      try {
        await this.opts.db
          .update(mailOutbox)
          .set({
            status: "sent",
            sentAt: new Date(),
            lastError: null,
            messageId,
            ...(this.transport ? PURGED : {}),
          })
          .where(and(eq(mailOutbox.id, m.id), eq(mailOutbox.status, "pending")));
        return;
      } catch (err) {
        const delay = Math.min(100 * 2 ** retry, 5000);
        if (Date.now() + delay > leaseEnds - 1000) {
          this.opts.log.error(
            { err, id: m.id, to: m.toEmail },
            "mail outbox: sent, but recording it failed until the lease ended; it will be sent again",
          );
          return;
        }
        this.opts.log.warn(
          { err: (err as Error).message, id: m.id, retryInMs: delay },
          "mail outbox: sent; recording it failed, retrying",
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async recordFailure(m: Message, err: unknown, failed: boolean): Promise<void> {
    this.opts.log.warn(
      { err: (err as Error).message, to: m.toEmail, attempts: m.attempts, willRetry: !failed },
      failed ? "mail outbox: send failed for good" : "mail outbox: send failed, will retry",
    );
    await this.opts.db
      .update(mailOutbox)
      .set({
        status: failed ? "failed" : "pending",
        lastError: String((err as Error).message).slice(0, 500),
        // Never to be sent: nothing to keep the links for.
        ...(failed ? PURGED : {}),
      })
      .where(eq(mailOutbox.id, m.id));
  }

  /** Newest first: the development mailbox. */
  async list(opts: { limit?: number; to?: string | undefined } = {}) {
    return this.opts.db
      .select()
      .from(mailOutbox)
      .where(opts.to ? sql`lower(${mailOutbox.toEmail}) = ${opts.to.trim().toLowerCase()}` : undefined)
      .orderBy(desc(mailOutbox.createdAt), desc(mailOutbox.id))
      .limit(opts.limit ?? 50);
  }

  async get(id: string) {
    const [row] = await this.opts.db.select().from(mailOutbox).where(eq(mailOutbox.id, id));
    return row ?? null;
  }
}
