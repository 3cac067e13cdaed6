import { eq } from "drizzle-orm";
import type { AppContext } from "../../context.js";
import { waChannels } from "../../db/schema/index.js";
import { appSecretOf, type ChannelRow, verifyTokenOf } from "../channels/repo.js";
import { GraphClient, type RetryPolicy } from "./graph-client.js";
import { WebhookBatcher } from "./ingest.js";
import { ThroughputLimiter } from "./throughput.js";

/** What the webhook route needs about a channel, by its webhook key. */
export interface WebhookChannel {
  orgId: string;
  channelId: string;
  phoneNumberId: string;
  appSecret: string;
  verifyToken: string;
}

/** How long an instance trusts its copy of a channel's webhook secrets (edits here apply at once). */
const CHANNEL_CACHE_MS = 5_000;

/**
 * Per app instance: the Graph API client, the per-channel throughput buckets, and a short-lived
 * cache of webhook keys → channel secrets (decrypting on every webhook would cost a query and
 * a decryption per request at 3,500 requests/s). Kept beside the AppContext, not in it.
 */
export class WhatsAppRuntime {
  readonly graph: GraphClient;
  readonly limiter = new ThroughputLimiter();
  readonly webhooks: WebhookBatcher;
  private readonly byKey = new Map<string, { at: number; channel: WebhookChannel | null }>();

  constructor(
    private readonly ctx: AppContext,
    retry?: RetryPolicy,
  ) {
    this.graph = new GraphClient({ timeoutMs: ctx.config.waHttpTimeoutMs, ...(retry ? { retry } : {}) });
    this.webhooks = new WebhookBatcher(ctx);
  }

  async channelByWebhookKey(key: string): Promise<WebhookChannel | null> {
    const hit = this.byKey.get(key);
    if (hit && performance.now() - hit.at < CHANNEL_CACHE_MS) return hit.channel;
    const [row] = await this.ctx.db.select().from(waChannels).where(eq(waChannels.webhookKey, key));
    const channel = row ? this.webhookChannel(row) : null;
    if (this.byKey.size > 10_000) this.byKey.clear();
    this.byKey.set(key, { at: performance.now(), channel });
    return channel;
  }

  /** A channel was edited or deleted here: forget what the cache holds of it. */
  forgetChannel(channelId: string): void {
    for (const [key, v] of this.byKey) if (!v.channel || v.channel.channelId === channelId) this.byKey.delete(key);
  }

  private webhookChannel(row: ChannelRow): WebhookChannel {
    return {
      orgId: row.orgId,
      channelId: row.id,
      phoneNumberId: row.phoneNumberId,
      appSecret: appSecretOf(this.ctx.config, row),
      verifyToken: verifyTokenOf(this.ctx.config, row),
    };
  }
}

const runtimes = new WeakMap<AppContext, WhatsAppRuntime>();

export function whatsappOf(ctx: AppContext): WhatsAppRuntime {
  let rt = runtimes.get(ctx);
  if (!rt) {
    rt = new WhatsAppRuntime(ctx);
    runtimes.set(ctx, rt);
  }
  return rt;
}

/** Tests: a runtime with a faster retry policy. */
export function setWhatsAppRuntime(ctx: AppContext, rt: WhatsAppRuntime): void {
  runtimes.set(ctx, rt);
}
