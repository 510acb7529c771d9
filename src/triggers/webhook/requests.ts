/**
 * The requests a trigger is handling: each has a body deadline, and all can be cut short when
 * the trigger stops. One sweep timer serves every request, and runs only while some are open.
 */
import type { Clock } from "../../core/index.ts";

/** Why a request's wait for its body was cut short. */
export type CancelReason = "timeout" | "stopped";

/** One request being handled. */
export interface OpenRequest {
  /** Resolves when the request is cut short; a body read races it. */
  cancelled(): Promise<CancelReason>;
  /** The body is in (or not needed): the deadline no longer applies. */
  bodyDone(): void;
}

interface Entry extends OpenRequest {
  deadline: number;
  reading: boolean;
  done: Promise<unknown> | null;
  cancel(reason: CancelReason): void;
}

/** The open requests of one trigger. */
export class OpenRequests {
  readonly #entries = new Set<Entry>();
  readonly #clock: Clock;
  readonly #bodyTimeoutMs: number;
  readonly #sweepMs: number;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: { clock: Clock; bodyTimeoutMs: number }) {
    this.#clock = options.clock;
    this.#bodyTimeoutMs = options.bodyTimeoutMs;
    // Deadlines are checked a few times per timeout: a stalled body is cut within ~1.25x of it.
    this.#sweepMs = Math.min(1_000, Math.max(10, Math.floor(options.bodyTimeoutMs / 4)));
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Tracks `handle` (given the request's handle) until its promise settles. */
  run<T>(handle: (request: OpenRequest) => Promise<T>): Promise<T> {
    let reason: CancelReason | null = null;
    let wake: ((r: CancelReason) => void) | null = null;
    let waiting: Promise<CancelReason> | null = null;
    const entry: Entry = {
      deadline: this.#clock() + this.#bodyTimeoutMs,
      reading: true,
      done: null,
      cancelled: () => (waiting ??= reason ? Promise.resolve(reason) : new Promise((r) => (wake = r))),
      bodyDone: () => void (entry.reading = false),
      cancel: (r) => {
        if (reason || !entry.reading) return;
        reason = r;
        wake?.(r);
      },
    };
    this.#entries.add(entry);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), this.#sweepMs);
      // Where timers can be unref'd (Node, Bun), a sweep never keeps the process alive.
      (this.#timer as { unref?: () => void }).unref?.();
    }
    let done: Promise<T>;
    try {
      done = handle(entry);
    } catch (err) {
      done = Promise.reject(err);
    }
    entry.done = done;
    const finish = () => void this.#entries.delete(entry);
    done.then(finish, finish);
    return done;
  }

  /**
   * Waits for the open requests, at most `timeoutMs`; then cuts short those still waiting for
   * their body (they answer at once) and returns without waiting for the rest.
   */
  async drain(timeoutMs: number): Promise<void> {
    try {
      await this.#drain(timeoutMs);
    } finally {
      // Nothing left to sweep: the timer goes now, not at its next tick.
      if (this.#entries.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    }
  }

  async #drain(timeoutMs: number): Promise<void> {
    if (this.#entries.size === 0) return;
    const all = Promise.allSettled([...this.#entries].map((e) => e.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<true>((r) => (timer = setTimeout(() => r(true), timeoutMs)));
    const timedOut = await Promise.race([all.then(() => false), expired]);
    if (timer !== undefined) clearTimeout(timer); // Workers types take number | null, not undefined
    if (!timedOut) return;
    const reading = [...this.#entries].filter((e) => e.reading);
    for (const e of reading) e.cancel("stopped");
    await Promise.allSettled(reading.map((e) => e.done));
  }

  #sweep(): void {
    // Stopped by the sweep, not by the last request: back-to-back requests reuse one timer.
    if (this.#entries.size === 0) {
      clearInterval(this.#timer!);
      this.#timer = null;
      return;
    }
    const now = this.#clock();
    for (const e of this.#entries) if (e.reading && now >= e.deadline) e.cancel("timeout");
  }
}
