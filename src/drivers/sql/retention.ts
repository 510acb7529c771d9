/**
 * When a SQL store prunes finished jobs, the same for every dialect. The store keeps a count of
 * finished rows and the oldest finish time, so pruning runs only when a bound is passed by a
 * tenth and then goes back to the bound at once (amortized to almost nothing per job). When other
 * processes finish jobs in the same database (`shared`), the local count misses theirs, so every
 * tenth of the allowance the store re-reads the true count first.
 */
import { DEFAULT_RETENTION, type RetentionOptions } from "../../core/index.ts";

/** A prune to run: remove the `remove` oldest finished rows and every one finished before `cutoff` (-1: none). */
export interface PrunePlan {
  remove: number;
  cutoff: number;
}

export class RetentionTracker {
  #count = 0;
  #oldest: number | null = null;
  #sinceRefresh = 0;
  readonly #shared: boolean;

  constructor(shared: boolean) {
    this.#shared = shared;
  }

  /** The finished rows as the database counts them (after opening, a refresh or a prune). */
  set(count: number, oldest: number | null): void {
    this.#count = count;
    this.#oldest = oldest;
    this.#sinceRefresh = 0;
  }

  /** Counts one newly finished job: a prune to run, "refresh" (re-read the count, then {@link plan}), or null. */
  finished(now: number, retention?: RetentionOptions): PrunePlan | "refresh" | null {
    this.#count++;
    if (this.#oldest === null) this.#oldest = now;
    if (this.#shared && ++this.#sinceRefresh >= step(retention)) return "refresh";
    return this.plan(now, retention);
  }

  /**
   * The prune the current count calls for, or null within bounds. Removing early is not allowed
   * (a job younger than maxAgeMs among the newest maxCount stays readable), keeping a little
   * longer is: a prune waits until a bound is passed by a tenth, then goes back to the bound
   * exactly, so the next prune is far away.
   */
  plan(now: number, retention?: RetentionOptions): PrunePlan | null {
    const maxCount = retention?.maxCount ?? DEFAULT_RETENTION.maxCount;
    const maxAgeMs = retention?.maxAgeMs ?? DEFAULT_RETENTION.maxAgeMs;
    const tooMany = this.#count > maxCount + Math.floor(maxCount / 10);
    const tooOld = this.#oldest !== null && this.#oldest <= now - maxAgeMs - Math.floor(maxAgeMs / 10);
    if (!tooMany && !tooOld) return null;
    return { remove: Math.max(0, this.#count - maxCount), cutoff: now - maxAgeMs };
  }
}

const step = (retention?: RetentionOptions) => Math.max(1, Math.floor((retention?.maxCount ?? DEFAULT_RETENTION.maxCount) / 10));
