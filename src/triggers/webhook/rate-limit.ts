/**
 * The ingress rate limit of createWebhookTrigger: at most `perMinute` accepted requests per key
 * in any 60 s window (a sliding log, as the seed's FAQ describes), counted in this process or
 * isolate only.
 */

const WINDOW_MS = 60_000;

/** The refusal: when the next request of this key may pass. */
export interface RateLimited {
  retryAfterMs: number;
}

/** Sliding-window limiter over string keys; memory is `perMinute` numbers per active key. */
export class RateLimiter {
  readonly #perMinute: number;
  /** Per key: a ring of the last `perMinute` accepted instants, and where the next one goes. */
  readonly #logs = new Map<string, { at: Float64Array; next: number; count: number }>();
  #sinceSweep = 0;

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Counts one request of `key` at `now`, or refuses it (nothing counted). */
  hit(key: string, now: number): RateLimited | null {
    let log = this.#logs.get(key);
    if (!log) {
      if (++this.#sinceSweep >= 1024) this.#sweep(now);
      log = { at: new Float64Array(this.#perMinute), next: 0, count: 0 };
      this.#logs.set(key, log);
    }
    if (log.count === this.#perMinute) {
      // Full ring: `next` holds the oldest of the last perMinute requests.
      const oldest = log.at[log.next]!;
      if (oldest > now - WINDOW_MS) return { retryAfterMs: oldest + WINDOW_MS - now };
    } else {
      log.count++;
    }
    log.at[log.next] = now;
    log.next = (log.next + 1) % this.#perMinute;
    return null;
  }

  /** Keys with nothing in the window are forgotten, so many one-off keys cannot pile up. */
  #sweep(now: number): void {
    this.#sinceSweep = 0;
    for (const [key, log] of this.#logs) {
      const newest = log.at[(log.next + this.#perMinute - 1) % this.#perMinute]!;
      if (newest <= now - WINDOW_MS) this.#logs.delete(key);
    }
  }
}
