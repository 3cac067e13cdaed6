import { and, desc, eq, inArray, isNull, lt, lte, ne, or, sql } from "drizzle-orm";
import type { Transporter } from "nodemailer";
import nodemailer from "nodemailer";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Db, DbOrTx } from "../../db/client.js";
import { mailOutbox } from "../../db/schema/index.js";
import { type Locale, renderMail, type TemplateData, type TemplateName } from "./templates.js";

export interface OutboxOptions {
  db: Db;
  log: Logger;
  from: string;
  /** Absent: development mailbox (messages stay in the table, links go to the log). */
  smtpUrl: string | undefined;
  pollMs?: number;
  retryBaseMs?: number;
  maxAttempts?: number;
  /** How long a claimed message stays invisible to other workers while being sent. */
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
 * Durable outbox. `enqueue` is called inside the transaction of the change that
 * causes the mail, so the mail exists exactly when the change does. A worker claims
 * due rows (FOR UPDATE SKIP LOCKED + a lease, safe with several instances), sends
 * them, and marks them sent; failures retry with exponential backoff.
 */
export class Outbox {
  private readonly transport: Transporter | null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly pollMs: number;
  private readonly retryBaseMs: number;
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly messageIdDomain: string;
  private purgePending = true;

  /** The outbox the app runs with, from the environment (SMTP_URL, MAIL_FROM, MAIL_POLL_MS, …). */
  static fromConfig(db: Db, log: Logger, config: Config): Outbox {
    return new Outbox({
      db,
      log,
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
    this.pollMs = opts.pollMs ?? 2000;
    this.retryBaseMs = opts.retryBaseMs ?? 5000;
    this.maxAttempts = opts.maxAttempts ?? 12;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.messageIdDomain = /@([^\s<>@]+)>?\s*$/.exec(opts.from)?.[1] ?? "chorus.localhost";
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
    // The row becomes visible when the caller's transaction commits; a short delay
    // usually covers that, and the poll catches the rest.
    this.kickSoon();
    return row!.id;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    this.transport?.close();
  }

  kickSoon(): void {
    if (!this.stopped) this.schedule(30);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) return this.schedule(delayMs);
      this.running = this.purgeOnce()
        .then(() => this.drain())
        .then(() => undefined)
        .catch((err) => this.opts.log.error({ err }, "mail outbox: drain failed"))
        .finally(() => {
          this.running = null;
          if (!this.stopped && !this.timer) this.schedule(this.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async purgeOnce(): Promise<void> {
    if (!this.purgePending) return;
    await this.purgeDelivered();
    this.purgePending = false;
  }

  /** Sends every due message once; returns how many were sent. */
  async drain(batch = 20): Promise<number> {
    let sent = 0;
    for (;;) {
      const claimed = await this.claim(batch);
      if (claimed.length === 0) return sent;
      for (const m of claimed) if (await this.deliver(m)) sent++;
      if (claimed.length < batch) return sent;
    }
  }

  private async claim(batch: number) {
    const now = new Date();
    const due = this.opts.db
      .select({ id: mailOutbox.id })
      .from(mailOutbox)
      .where(
        and(
          eq(mailOutbox.status, "pending"),
          lte(mailOutbox.nextAttemptAt, now),
          or(isNull(mailOutbox.lockedUntil), lt(mailOutbox.lockedUntil, now)),
        ),
      )
      .orderBy(mailOutbox.nextAttemptAt)
      .limit(batch)
      .for("update", { skipLocked: true });
    return this.opts.db
      .update(mailOutbox)
      .set({ lockedUntil: new Date(now.getTime() + this.leaseMs), attempts: sql`${mailOutbox.attempts} + 1` })
      .where(inArray(mailOutbox.id, due))
      .returning();
  }

  private async deliver(m: Message): Promise<boolean> {
    let messageId: string | null;
    try {
      messageId = await this.send(m);
    } catch (err) {
      await this.recordFailure(m, err);
      return false;
    }
    // Accepted by the SMTP server (or stored, in the mailbox): from here on a database error is
    // bookkeeping, never a send failure, and must not send the message again.
    await this.recordSent(m, messageId);
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
  private async recordSent(m: Message, messageId: string | null): Promise<void> {
    const leaseEnds = m.lockedUntil?.getTime() ?? 0;
    for (let retry = 0; ; retry++) {
      try {
        await this.opts.db
          .update(mailOutbox)
          .set({
            status: "sent",
            sentAt: new Date(),
            lockedUntil: null,
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

  private async recordFailure(m: Message, err: unknown): Promise<void> {
    const attempts = m.attempts;
    const failed = attempts >= this.maxAttempts || isPermanent(err);
    const delay = Math.min(this.retryBaseMs * 2 ** (attempts - 1), 3_600_000);
    this.opts.log.warn(
      { err: (err as Error).message, to: m.toEmail, attempts, willRetry: !failed },
      failed ? "mail outbox: send failed for good" : "mail outbox: send failed, will retry",
    );
    await this.opts.db
      .update(mailOutbox)
      .set({
        status: failed ? "failed" : "pending",
        lockedUntil: null,
        lastError: String((err as Error).message).slice(0, 500),
        nextAttemptAt: new Date(Date.now() + delay),
        // Never to be sent: nothing to keep the links for.
        ...(failed ? PURGED : {}),
      })
      .where(eq(mailOutbox.id, m.id));
  }

  /**
   * With SMTP, rows sent or failed before bodies were dropped on delivery (older versions, or a
   * development mailbox switched to SMTP) lose them too; once per start.
   */
  private async purgeDelivered(): Promise<void> {
    if (!this.transport) return;
    await this.opts.db
      .update(mailOutbox)
      .set(PURGED)
      .where(and(inArray(mailOutbox.status, ["sent", "failed"]), ne(mailOutbox.textBody, "")));
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
