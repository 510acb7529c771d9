/** Retry delays: fixed or exponential, capped, with optional full jitter. */

/** How long to wait before retry number n. */
export interface BackoffOptions {
  /** "exponential" (default) doubles the delay per retry; "fixed" keeps baseMs. */
  type?: "exponential" | "fixed";
  /** First delay (default 1,000 ms). */
  baseMs?: number;
  /** Upper bound of any delay (default 5 minutes). */
  maxMs?: number;
  /** Spread retries uniformly over [delay/2, delay] so failed jobs do not retry in lockstep (default true). */
  jitter?: boolean;
}

/**
 * Delay before the retry that follows `retryCount` earlier retries (0 for the first retry).
 * `random` is injectable for tests.
 */
export function backoffDelay(retryCount: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 1_000;
  const max = options.maxMs ?? 5 * 60_000;
  const raw = options.type === "fixed" ? base : base * 2 ** Math.min(retryCount, 52);
  const capped = Math.min(raw, max);
  if (options.jitter === false) return capped;
  return capped / 2 + random() * (capped / 2);
}
