import type { SSEReplyInterface } from "@fastify/sse";
import type { FastifyReply } from "fastify";
import type { AppContext } from "../../context.js";
import { resolveCaller } from "../../http/caller.js";
import { sessionTtlOf } from "../auth/sessions.js";
import type { LoadedMember } from "../members/load-member.js";
import { canReadConversation, type InboxRuleSettings, type RuleMember } from "../roles/object-rules.js";
import type { EventHub, EventRow, Subscriber } from "./hub.js";

/** Events a reconnect may replay; a longer gap is a `resync` (the client reloads). */
export const REPLAY_MAX = 1_000;
/** Rows waiting for one stream; a client that reads slower than this is disconnected (it reconnects and replays). */
export const MAX_PENDING = 2_000;
/** Bytes the socket may hold unsent for one stream before it is closed as too slow. */
export const MAX_BUFFERED_BYTES = 1 << 20;
/** The member's access is re-read at least this often, even when no event arrives. */
export const RECHECK_MS = 20_000;

export interface SseMessage {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/**
 * What `member` may receive of an event, by the ONE rules module (roles/object-rules.ts):
 * conversation and message events when the member may read the conversation as it was after the
 * change; the former assignee of a reassigned conversation hears only that it left them (ids);
 * a notification only its recipient. Pure: the benchmark and tests use it as the oracle too.
 */
export function messageFor(member: RuleMember, settings: InboxRuleSettings, row: EventRow): SseMessage | null {
  const base = { id: String(row.id), kind: row.kind, at: row.createdAt.toISOString() };
  if (row.kind === "notification.created") {
    return row.recipientMemberId === member.memberId
      ? { id: base.id, event: row.kind, data: { ...base, ...row.payload } }
      : null;
  }
  if (row.conversationId === null) return null;
  if (canReadConversation(member, { assigneeMemberId: row.assigneeMemberId }, settings)) {
    return {
      id: base.id,
      event: row.kind,
      data: {
        ...base,
        conversationId: row.conversationId,
        assigneeMemberId: row.assigneeMemberId,
        teamId: row.teamId,
        ...row.payload,
      },
    };
  }
  if (row.kind === "conversation.assigned" && row.previousAssigneeMemberId === member.memberId) {
    return { id: base.id, event: row.kind, data: { ...base, conversationId: row.conversationId, removed: true } };
  }
  return null;
}

/** Holds a permission that lets one read some conversations. */
const chatAccess = (m: LoadedMember) =>
  m.isOwner || m.permissions.has("chats:read_all") || m.permissions.has("chats:read_assigned");
const readsAll = (m: LoadedMember) => m.isOwner || m.permissions.has("chats:read_all");

export interface StreamOptions {
  orgId: string;
  member: LoadedMember;
  /** The session token the stream was opened with: its session and membership are re-checked with it. */
  token: string;
  twoFactorVerified: boolean;
}

/**
 * One member's open stream. Everything it sends goes through one promise chain: the replay
 * first, then live rows in the order the hub hands them over, each batch after a fresh look at
 * the member's session and membership through the guard's cache (a committed role change or
 * removal retires the cached entry, so the next batch reads the database). Losing chat access,
 * the membership or the session closes the stream.
 */
export class EventStream implements Subscriber {
  readonly orgId: string;
  readonly userId: string;
  readonly memberId: string;
  #member: LoadedMember;
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  #closed = false;
  #rechecking = false;
  readonly #replayed = new Set<number>();
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;
  private readonly sse: SSEReplyInterface;

  constructor(
    private readonly ctx: AppContext,
    private readonly hub: EventHub,
    private readonly reply: FastifyReply,
    private readonly opts: StreamOptions,
  ) {
    this.sse = reply.sse;
    this.orgId = opts.orgId;
    this.userId = opts.member.userId;
    this.memberId = opts.member.memberId;
    this.#member = opts.member;
    this.#unsubscribe = hub.subscribe(this);
    this.sse.onClose(() => this.#teardown());
    this.#timer = setInterval(() => this.recheck(), RECHECK_MS);
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** First thing on the chain: replay after `Last-Event-ID`, or a `resync` when that cannot be done. */
  start(lastEventId: string | null): void {
    this.#enqueue(async () => {
      this.sse.sendHeaders();
      // A comment, so that proxies and the client see the stream open at once.
      this.reply.raw.write(": connected\n\n");
      if (lastEventId === null || lastEventId === "") return;
      const id = /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : null;
      if (id === null || !(await this.hub.kept(this.orgId, id))) return this.#resync("gone");
      const rows = await this.hub.after(this.orgId, id, REPLAY_MAX + 1);
      if (rows.length > REPLAY_MAX) return this.#resync("too_many");
      for (const r of rows) this.#replayed.add(r.id);
      await this.#send(rows, false);
    });
  }

  deliver(rows: readonly EventRow[]): void {
    if (this.#closed || rows.length === 0) return;
    // Fast path: nothing here the member may see, judged on the member as last read (a change of
    // their access retires it at once through recheck()): skipping never sends anything, so it is
    // safe; anything that may be sent is judged again after a fresh look at the member.
    const settings = this.hub.settingsNow(this.orgId);
    if (settings && !rows.some((r) => messageFor(this.#member, settings, r) !== null)) return;
    this.#pending += rows.length;
    if (this.#pending > MAX_PENDING || this.reply.raw.writableLength > MAX_BUFFERED_BYTES) {
      this.close("slow_client");
      return;
    }
    this.#enqueue(async () => {
      try {
        await this.#send(rows, true);
      } finally {
        this.#pending -= rows.length;
      }
    });
  }

  recheck(): void {
    if (this.#rechecking || this.#closed) return;
    this.#rechecking = true;
    this.#enqueue(async () => {
      this.#rechecking = false;
      await this.#check();
    });
  }

  resync(): void {
    this.#enqueue(() => this.#resync("missed"));
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.ctx.log.debug({ orgId: this.orgId, userId: this.userId, reason }, "event stream closed");
    this.#teardown();
    this.sse.close();
  }

  #teardown(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unsubscribe();
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain
      .then(() => (this.#closed ? undefined : task()))
      .catch((err) => {
        this.ctx.log.warn({ err, orgId: this.orgId }, "event stream failed");
        this.close("error");
      });
  }

  async #send(rows: readonly EventRow[], live: boolean): Promise<void> {
    const member = await this.#check();
    if (!member) return;
    const settings = await this.hub.settings(this.orgId);
    for (const row of rows) {
      if (this.#closed) return;
      // Live rows the replay already sent (a row committed while the replay read).
      if (live && this.#replayed.has(row.id)) continue;
      const msg = messageFor(member, settings, row);
      if (msg) await this.sse.send(msg);
    }
  }

  async #resync(reason: string): Promise<void> {
    const last = await this.hub.latest(this.orgId);
    await this.sse.send({ ...(last ? { id: String(last) } : {}), event: "resync", data: { reason } });
  }

  /** The member as of now, or null after closing the stream (session or membership gone, chat access lost). */
  async #check(): Promise<LoadedMember | null> {
    if (this.#closed) return null;
    const caller = await resolveCaller(
      this.ctx.db,
      this.ctx.authz.cache,
      this.opts.token,
      this.orgId,
      sessionTtlOf(this.ctx.config),
    );
    const member = caller?.membership?.member ?? null;
    if (!caller) this.close("session_ended");
    else if (!member) this.close("member_removed");
    else if (member.requireTwoFactor && !caller.twoFactorVerified) this.close("two_factor_required");
    else if (chatAccess(this.#member) && !chatAccess(member)) this.close("chat_access_removed");
    else if (readsAll(this.#member) && !readsAll(member)) this.close("chat_access_reduced");
    if (this.#closed || !member) return null;
    this.#member = member;
    return member;
  }
}
