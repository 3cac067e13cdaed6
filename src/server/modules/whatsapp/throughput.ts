/**
 * Per-channel send throughput: a token bucket of `mps` tokens refilled at `mps` per second,
 * and a waiting line per priority (0 = replies, 1 = bulk/broadcast) so a reply queued behind
 * a broadcast goes first. In-process: each instance keeps its own buckets (with several
 * instances, give each a share of the number's limit, or let 130429 + backoff even it out).
 */
export const PRIORITY_REPLY = 0;
export const PRIORITY_BULK = 1;

interface Waiter {
  resolve: () => void;
}

interface Bucket {
  mps: number;
  tokens: number;
  refilledAt: number;
  lines: Waiter[][];
  timer: NodeJS.Timeout | null;
}

export class ThroughputLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** Resolves when the channel may send one more message. */
  acquire(channelId: string, mps: number, priority = PRIORITY_REPLY): Promise<void> {
    const b = this.bucket(channelId, mps);
    this.refill(b);
    if (b.tokens >= 1 && b.lines.every((l) => l.length === 0)) {
      b.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const p = Math.max(0, Math.min(b.lines.length - 1, priority));
      b.lines[p]!.push({ resolve });
      this.schedule(b);
    });
  }

  /** How many wait on a channel (tests, diagnostics). */
  waiting(channelId: string): number {
    return this.buckets.get(channelId)?.lines.reduce((n, l) => n + l.length, 0) ?? 0;
  }

  private bucket(channelId: string, mps: number): Bucket {
    let b = this.buckets.get(channelId);
    if (!b) {
      b = { mps, tokens: mps, refilledAt: performance.now(), lines: [[], []], timer: null };
      this.buckets.set(channelId, b);
    } else if (b.mps !== mps) {
      b.mps = mps;
      b.tokens = Math.min(b.tokens, mps);
    }
    return b;
  }

  private refill(b: Bucket): void {
    const now = performance.now();
    b.tokens = Math.min(b.mps, b.tokens + ((now - b.refilledAt) / 1000) * b.mps);
    b.refilledAt = now;
  }

  private schedule(b: Bucket): void {
    if (b.timer) return;
    const wait = Math.max(1, Math.ceil(((1 - b.tokens) / b.mps) * 1000));
    b.timer = setTimeout(() => {
      b.timer = null;
      this.refill(b);
      for (const line of b.lines) {
        while (line.length > 0 && b.tokens >= 1) {
          b.tokens -= 1;
          line.shift()!.resolve();
        }
      }
      if (b.lines.some((l) => l.length > 0)) this.schedule(b);
    }, wait);
  }
}
