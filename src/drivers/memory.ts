/**
 * MemoryJobQueue: the queue port in process memory, on the core's {@link JobIndex} (heaps per
 * queue, so enqueue and claim are O(log n)). Fast, single-process, lost on exit.
 * @module
 */
import {
  StorageError,
  type BulkAction,
  type BulkFilter,
  type ClaimRequest,
  type JobChange,
  type JobPage,
  type JobProgress,
  type PageFilter,
  type ClaimedJob,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobQueue,
  type LeaseRef,
  type ListFilter,
  type QueueStats,
  type RetentionOptions,
} from "../core/index.ts";
import { JobIndex, withOwnDates } from "../core/job-index.ts";

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions {
  /** How many finished (completed or cancelled) jobs to keep, and for how long (default 1,000 and 24 h). */
  retention?: RetentionOptions;
}

/**
 * An in-memory {@link JobQueue}. Payloads and metadata are deep-frozen when stored: handlers get
 * the stored objects without a copy per claim, and a handler that tried to change its payload
 * would otherwise change what a retry sees, unlike with serializing drivers.
 */
export class MemoryJobQueue implements JobQueue {
  readonly #index: JobIndex;
  readonly #listeners = new Set<() => void>();
  readonly #watchers = new Set<(change: JobChange) => void>();
  #closed = false;

  constructor(options: MemoryJobQueueOptions = {}) {
    this.#index = new JobIndex({ retention: options.retention, adopt: adoptJob });
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    this.#assertOpen();
    // Frozen before the index sees the batch, so a refused batch stores nothing. An empty
    // metadata object is left alone: the stored copy gets NO_METADATA instead (adoptJob).
    for (const job of jobs) {
      deepFreeze(job.payload);
      if (!isEmptyObject(job.metadata)) deepFreeze(job.metadata);
    }
    const results = this.#index.enqueue(jobs);
    if (results.some((r) => r.created)) this.#notify();
    return results;
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    this.#assertOpen();
    const claimed = this.#index.claim(request);
    // The claim may have let more jobs of a key through (room left, a rate window moved on).
    if (this.#index.takeUnparked()) this.#notify();
    return claimed;
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    return this.#index.extendLease(lease, leaseMs, now);
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    const ok = this.#index.complete(lease, detachedResult(result), now);
    if (ok) {
      this.#changed(lease.jobId, "completed");
      this.#index.prune(now);
    }
    // A freed key slot let a parked job of that key wait again: idle workers should look.
    if (this.#index.takeUnparked()) this.#notify();
    return ok;
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const ok = this.#index.fail(lease, errorMessage, outcome, now);
    if ((ok && outcome.status === "retrying") || this.#index.takeUnparked()) this.#notify();
    if (ok) this.#changed(lease.jobId, outcome.status);
    return ok;
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    const ok = this.#index.release(lease);
    if (ok) this.#notify();
    return ok;
  }

  async get(id: string): Promise<Job | null> {
    return this.#index.get(id);
  }

  async cancel(id: string, now: number, options?: { running?: boolean }): Promise<boolean> {
    const ok = this.#index.cancel(id, now, options);
    if (ok) {
      this.#changed(id, "cancelled");
      this.#index.prune(now);
    }
    if (this.#index.takeUnparked()) this.#notify();
    return ok;
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const job = this.#index.retry(id, now);
    if (job) this.#notify();
    return job;
  }

  async setPaused(queueName: string, paused: boolean, _now: number): Promise<boolean> {
    this.#assertOpen();
    const changed = this.#index.setPaused(queueName, paused);
    if (changed && !paused) this.#notify();
    return changed;
  }

  async progress(lease: LeaseRef, value: JobProgress, _now: number): Promise<boolean> {
    const ok = this.#index.progress(lease, detachedResult(value) as JobProgress);
    if (ok) this.#changed(lease.jobId, "running");
    return ok;
  }

  async bulk(action: BulkAction, filter: BulkFilter, now: number): Promise<number> {
    this.#assertOpen();
    const { count } = this.#index.bulk(action, filter, now);
    if (count > 0 && action === "retry") this.#notify();
    if (count > 0 && action === "cancel") this.#index.prune(now);
    return count;
  }

  async listPage(filter: PageFilter = {}): Promise<JobPage> {
    return this.#index.listPage(filter);
  }

  watch(listener: (change: JobChange) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    return this.#index.list(filter);
  }

  async countWaiting(): Promise<number> {
    return this.#index.waitingCount();
  }

  async stats(): Promise<QueueStats> {
    return this.#index.stats();
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    return this.#index.nextWakeAt(queues, now);
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#watchers.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError("MemoryJobQueue is closed");
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #changed(jobId: string, status: JobChange["status"]): void {
    if (this.#watchers.size === 0) return;
    const change = { jobId, status };
    for (const watcher of this.#watchers) watcher(change);
  }
}

/**
 * Most jobs carry no metadata. Every stored job is kept for its whole life, so one shared frozen
 * object instead of an empty one per job is memory (and garbage-collector copying) saved.
 */
const NO_METADATA: Record<string, unknown> = Object.freeze({});

/** A plain object without any own key (symbols and non-enumerable ones included). */
function isEmptyObject(m: unknown): boolean {
  return typeof m === "object" && m !== null && Object.getPrototypeOf(m) === Object.prototype && Reflect.ownKeys(m).length === 0;
}

/** The index's own copy of a job being stored (payload and non-empty metadata already frozen). */
function adoptJob(job: Job): Job {
  // Own Dates too: the caller keeps its job object and may change its Dates in place.
  const own = withOwnDates(job);
  if (own.metadata !== NO_METADATA && isEmptyObject(own.metadata)) own.metadata = NO_METADATA;
  return own;
}

/**
 * The result as the other stores keep it: a frozen JSON copy, so neither the handler that still
 * holds the object nor a reader of the job can change what was stored. A value JSON cannot
 * encode (a BigInt) is kept as given, as before, rather than failing the completion.
 */
function detachedResult(result: unknown): unknown {
  if (typeof result !== "object" || result === null) return result;
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(result));
  } catch {
    return result;
  }
  deepFreeze(copy);
  return copy;
}

function deepFreeze(value: unknown): void {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
}
