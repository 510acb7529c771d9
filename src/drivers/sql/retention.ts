/**
 * When a SQL store prunes finished jobs, the same for every dialect. Finished rows come in two
 * kinds, each with its own partial index: unkeyed rows are bounded by count and age; rows with an
 * idempotency key are remembered (so a repeat stays a duplicate) and go by age only, once
 * `max(maxAgeMs, idempotencyWindowMs)` has passed, so counting and pruning never walk the
 * protected keyed rows however many there are. The store keeps the count of unkeyed finished
 * rows and the oldest finish time of each kind, so pruning runs only when a bound is passed by a
 * tenth and then goes back to the bound at once (amortized to almost nothing per job). A
 * finished job is counted as if unkeyed and as if it might be the oldest keyed one (the
 * transition does not say which it was); the re-read after a prune puts the figures right, so
 * the guess costs at most one spare prune per tenth of a bound. When other processes finish jobs
 * in the same database (`shared`), the local count misses theirs, so every tenth of the
 * allowance the store re-reads the true count first.
 */
import { DEFAULT_RETENTION, type RetentionOptions } from "../../core/index.ts";

/**
 * A prune to run: remove the `remove` oldest unkeyed finished rows, every unkeyed one finished
 * before `cutoff`, and every keyed one finished before `keyedCutoff`.
 */
export interface PrunePlan {
  remove: number;
  cutoff: number;
  keyedCutoff: number;
}

/** What the store's FINISHED statement reads: unkeyed count and oldest, oldest keyed. */
export interface FinishedCounts {
  count: number;
  oldest: number | null;
  oldestKeyed: number | null;
}

export class RetentionTracker {
  #count = 0;
  #oldest: number | null = null;
  #oldestKeyed: number | null = null;
  #sinceRefresh = 0;
  readonly #shared: boolean;

  constructor(shared: boolean) {
    this.#shared = shared;
  }

  /** The finished rows as the database counts them (after opening, a refresh or a prune). */
  set(counts: FinishedCounts): void {
    this.#count = counts.count;
    this.#oldest = counts.oldest;
    this.#oldestKeyed = counts.oldestKeyed;
    this.#sinceRefresh = 0;
  }

  /** Counts one newly finished job: a prune to run, "refresh" (re-read the count, then {@link plan}), or null. */
  finished(now: number, retention?: RetentionOptions): PrunePlan | "refresh" | null {
    this.#count++;
    if (this.#oldest === null) this.#oldest = now;
    if (this.#oldestKeyed === null) this.#oldestKeyed = now;
    if (this.#shared && ++this.#sinceRefresh >= step(retention)) return "refresh";
    return this.plan(now, retention);
  }

  /**
   * The prune the current figures call for, or null within bounds. Removing early is not allowed
   * (a job younger than maxAgeMs among the newest maxCount stays readable, a keyed one stays for
   * the window), keeping a little longer is: a prune waits until a bound is passed by a tenth,
   * then goes back to the bound exactly, so the next prune is far away.
   */
  plan(now: number, retention?: RetentionOptions): PrunePlan | null {
    const maxCount = retention?.maxCount ?? DEFAULT_RETENTION.maxCount;
    const maxAgeMs = retention?.maxAgeMs ?? DEFAULT_RETENTION.maxAgeMs;
    const keyedAgeMs = Math.max(maxAgeMs, retention?.idempotencyWindowMs ?? DEFAULT_RETENTION.idempotencyWindowMs);
    const tooMany = this.#count > maxCount + Math.floor(maxCount / 10);
    const tooOld = this.#oldest !== null && this.#oldest <= now - maxAgeMs - Math.floor(maxAgeMs / 10);
    const keyedTooOld = this.#oldestKeyed !== null && this.#oldestKeyed <= now - keyedAgeMs - Math.floor(keyedAgeMs / 10);
    if (!tooMany && !tooOld && !keyedTooOld) return null;
    return { remove: Math.max(0, this.#count - maxCount), cutoff: now - maxAgeMs, keyedCutoff: now - keyedAgeMs };
  }
}

const step = (retention?: RetentionOptions) => Math.max(1, Math.floor((retention?.maxCount ?? DEFAULT_RETENTION.maxCount) / 10));

/** A FINISHED row (`c`, `m`, `k` columns, numbers or numeric strings) as {@link FinishedCounts}. */
export function finishedCounts(row: { c?: unknown; m?: unknown; k?: unknown } | undefined): FinishedCounts {
  const time = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return { count: Number(row?.c ?? 0), oldest: time(row?.m), oldestKeyed: time(row?.k) };
}
