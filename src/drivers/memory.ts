/**
 * MemoryJobQueue: the queue port in process memory. Per queue it keeps three heaps (ready jobs
 * by priority/due time/insertion, scheduled jobs by due time, leases by expiry), so enqueue and
 * claim are O(log n). Heap entries are invalidated lazily by a generation counter instead of
 * being searched for and removed.
 * @module
 */
import {
  BinaryHeap,
  DEFAULT_RETENTION,
  JobStatus,
  StorageError,
  emptyStatusCounts,
  isWaiting,
  type ClaimRequest,
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

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions {
  /** How many finished (completed or cancelled) jobs to keep, and for how long. */
  retention?: RetentionOptions;
}

interface Entry {
  job: Job;
  seq: number;
  runAt: number;
  token: string | null;
  leaseExpiresAt: number;
  /** Bumped on every state change; a heap item whose gen differs is stale. */
  gen: number;
  finishedAt: number;
}

/** A heap slot. The sort keys are copied in so comparisons never chase the entry pointer. */
interface Item {
  e: Entry;
  gen: number;
  priority: number;
  at: number;
  seq: number;
}

interface Lane {
  ready: BinaryHeap<Item>;
  delayed: BinaryHeap<Item>;
  leases: BinaryHeap<Item>;
  counts: Record<JobStatus, number>;
}

const readyOrder = (a: Item, b: Item): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.at !== b.at ? a.at < b.at : a.seq < b.seq;
// For the scheduled heap `at` is the due time; for the lease heap it is the lease expiry.
const timeOrder = (a: Item, b: Item): boolean => (a.at !== b.at ? a.at < b.at : a.seq < b.seq);
const live = (it: Item): boolean => it.e.gen === it.gen;
/** A fresh heap slot for `e` ordered by its due time; bumps the generation so older slots go stale. */
const dueItem = (e: Entry): Item => ({ e, gen: ++e.gen, priority: e.job.priority, at: e.runAt, seq: e.seq });
const leaseItem = (e: Entry): Item => ({ e, gen: ++e.gen, priority: 0, at: e.leaseExpiresAt, seq: e.seq });

/** An in-memory {@link JobQueue}: fast, single-process, lost on exit. */
export class MemoryJobQueue implements JobQueue {
  readonly #jobs = new Map<string, Entry>();
  readonly #lanes = new Map<string, Lane>();
  readonly #idempotency = new Map<string, string>();
  readonly #finished: Entry[] = [];
  #finishedHead = 0;
  readonly #listeners = new Set<() => void>();
  readonly #retention: Required<RetentionOptions>;
  #seq = 0;
  #closed = false;

  constructor(options: MemoryJobQueueOptions = {}) {
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    this.#assertOpen();
    // Check the whole batch before touching anything so a bad batch stores nothing.
    // (The batch-local maps are only needed, and only allocated, for batches of two or more.)
    const batchKeys = jobs.length > 1 ? new Map<string, number>() : null;
    const seenIds = jobs.length > 1 ? new Set<string>() : null;
    for (const job of jobs) {
      if (this.#jobs.has(job.id) || seenIds?.has(job.id)) throw new StorageError(`Job id ${job.id} already exists`);
      seenIds?.add(job.id);
    }
    const results: EnqueueResult[] = [];
    let created = 0;
    for (const job of jobs) {
      const key = job.idempotencyKey === null ? null : idemKey(job.queueName, job.idempotencyKey);
      if (key !== null) {
        const existingId = this.#idempotency.get(key);
        if (existingId !== undefined) {
          results.push({ job: copy(this.#jobs.get(existingId)!.job), created: false });
          continue;
        }
        const inBatch = batchKeys?.get(key);
        if (inBatch !== undefined) {
          results.push({ job: results[inBatch]!.job, created: false });
          continue;
        }
        batchKeys?.set(key, results.length);
      }
      const e: Entry = { job: frozenCopy(job), seq: this.#seq++, runAt: job.runAt.getTime(), token: null, leaseExpiresAt: 0, gen: 0, finishedAt: 0 };
      this.#jobs.set(job.id, e);
      if (key !== null) this.#idempotency.set(key, job.id);
      const lane = this.#lane(job.queueName);
      lane.counts[job.status]++;
      (job.status === JobStatus.SCHEDULED ? lane.delayed : lane.ready).push(dueItem(e));
      // The stored job is a copy, so the caller's own object can serve as the result.
      results.push({ job, created: true });
      created++;
    }
    if (created > 0) this.#notify();
    return results;
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    this.#assertOpen();
    const { now, leaseMs } = request;
    const out: ClaimedJob[] = [];
    for (const name of request.queues) {
      const lane = this.#lanes.get(name);
      if (!lane) continue;
      this.#promote(lane, now);
      while (out.length < request.limit) {
        const it = lane.ready.pop();
        if (!it) break;
        if (!live(it)) continue;
        const e = it.e;
        const token = crypto.randomUUID();
        this.#setStatus(e, JobStatus.RUNNING);
        e.job.startedAt = new Date(now);
        e.job.attempts++;
        e.token = token;
        e.leaseExpiresAt = now + leaseMs;
        lane.leases.push(leaseItem(e));
        out.push({ jobId: e.job.id, token, job: copy(e.job), leaseExpiresAt: e.leaseExpiresAt });
      }
      if (out.length >= request.limit) break;
    }
    return out;
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean> {
    const e = this.#held(lease);
    if (!e) return false;
    e.leaseExpiresAt = now + leaseMs;
    this.#lane(e.job.queueName).leases.push(leaseItem(e));
    return true;
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    const e = this.#held(lease);
    if (!e) return false;
    e.job.completedAt = new Date(now);
    e.job.result = result;
    this.#finish(e, JobStatus.COMPLETED, now);
    return true;
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const e = this.#held(lease);
    if (!e) return false;
    e.job.errorMessage = errorMessage;
    e.job.failedAt = new Date(now);
    if (outcome.status === JobStatus.RETRYING) {
      e.job.retryCount++;
      e.token = null;
      this.#requeue(e, JobStatus.RETRYING, outcome.retryAt);
      this.#notify();
    } else {
      this.#finish(e, outcome.status, now);
    }
    return true;
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    const e = this.#held(lease);
    if (!e) return false;
    e.token = null;
    e.job.startedAt = null;
    this.#requeue(e, JobStatus.PENDING, e.runAt);
    this.#notify();
    return true;
  }

  async get(id: string): Promise<Job | null> {
    const e = this.#jobs.get(id);
    return e ? copy(e.job) : null;
  }

  async cancel(id: string, now: number): Promise<boolean> {
    const e = this.#jobs.get(id);
    if (!e || !isWaiting(e.job.status)) return false;
    this.#finish(e, JobStatus.CANCELLED, now);
    return true;
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const e = this.#jobs.get(id);
    if (!e || (e.job.status !== JobStatus.DEAD_LETTER && e.job.status !== JobStatus.FAILED)) return null;
    e.job.retryCount = 0;
    this.#requeue(e, JobStatus.PENDING, now);
    this.#notify();
    return copy(e.job);
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    const limit = filter.limit ?? 100;
    const out: Job[] = [];
    for (const e of this.#jobs.values()) {
      if (out.length >= limit) break;
      const j = e.job;
      if (filter.status && j.status !== filter.status) continue;
      if (filter.queueName && j.queueName !== filter.queueName) continue;
      if (filter.jobType && j.jobType !== filter.jobType) continue;
      out.push(copy(j));
    }
    return out;
  }

  async stats(): Promise<QueueStats> {
    const byStatus = emptyStatusCounts();
    const byQueue: QueueStats["byQueue"] = {};
    for (const [name, lane] of this.#lanes) {
      byQueue[name] = { ...lane.counts };
      for (const s of Object.keys(byStatus) as JobStatus[]) byStatus[s] += lane.counts[s];
    }
    return { total: this.#jobs.size, byStatus, byQueue };
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    let best: number | null = null;
    const consider = (t: number) => (best = best === null || t < best ? t : best);
    for (const name of queues) {
      const lane = this.#lanes.get(name);
      if (!lane) continue;
      if (top(lane.ready)) return now;
      const d = top(lane.delayed);
      if (d) consider(d.at);
      const l = top(lane.leases);
      if (l) consider(l.at);
    }
    return best;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError("MemoryJobQueue is closed");
  }

  #lane(name: string): Lane {
    let lane = this.#lanes.get(name);
    if (!lane) {
      lane = {
        ready: new BinaryHeap(readyOrder),
        delayed: new BinaryHeap(timeOrder),
        leases: new BinaryHeap(timeOrder),
        counts: emptyStatusCounts(),
      };
      this.#lanes.set(name, lane);
    }
    return lane;
  }

  /** Moves due scheduled jobs and jobs with expired leases into the ready heap. */
  #promote(lane: Lane, now: number): void {
    for (let it = top(lane.delayed); it && it.at <= now; it = top(lane.delayed)) {
      lane.delayed.pop();
      lane.ready.push(dueItem(it.e));
    }
    for (let it = top(lane.leases); it && it.at <= now; it = top(lane.leases)) {
      lane.leases.pop();
      // Still RUNNING with the old token until someone claims it: a slow worker may yet finish.
      lane.ready.push(dueItem(it.e));
    }
  }

  #held(lease: LeaseRef): Entry | null {
    const e = this.#jobs.get(lease.jobId);
    return e && e.token === lease.token && e.job.status === JobStatus.RUNNING ? e : null;
  }

  #setStatus(e: Entry, status: JobStatus): void {
    const counts = this.#lane(e.job.queueName).counts;
    counts[e.job.status]--;
    counts[status]++;
    e.job.status = status;
  }

  #requeue(e: Entry, status: JobStatus, runAt: number): void {
    this.#setStatus(e, status);
    e.runAt = runAt;
    e.job.runAt = new Date(runAt);
    this.#lane(e.job.queueName).delayed.push(dueItem(e));
  }

  #finish(e: Entry, status: JobStatus, now: number): void {
    this.#setStatus(e, status);
    e.token = null;
    e.gen++;
    if (status === JobStatus.COMPLETED || status === JobStatus.CANCELLED) {
      e.finishedAt = now;
      this.#finished.push(e);
      this.#prune(now);
    }
  }

  /** Applies the retention policy to finished jobs, oldest first; amortized O(1). */
  #prune(now: number): void {
    const { maxCount, maxAgeMs } = this.#retention;
    while (this.#finishedHead < this.#finished.length) {
      const oldest = this.#finished[this.#finishedHead]!;
      const kept = this.#finished.length - this.#finishedHead;
      if (kept <= maxCount && oldest.finishedAt > now - maxAgeMs) break;
      this.#finishedHead++;
      this.#remove(oldest);
    }
    if (this.#finishedHead > 1024 && this.#finishedHead * 2 > this.#finished.length) {
      this.#finished.splice(0, this.#finishedHead);
      this.#finishedHead = 0;
    }
  }

  #remove(e: Entry): void {
    const j = e.job;
    this.#jobs.delete(j.id);
    this.#lane(j.queueName).counts[j.status]--;
    if (j.idempotencyKey !== null) {
      const key = idemKey(j.queueName, j.idempotencyKey);
      if (this.#idempotency.get(key) === j.id) this.#idempotency.delete(key);
    }
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

function top(heap: BinaryHeap<Item>): Item | undefined {
  let it = heap.peek();
  while (it && !live(it)) {
    heap.pop();
    it = heap.peek();
  }
  return it;
}

function idemKey(queueName: string, key: string): string {
  return `${queueName}\u0000${key}`;
}

/**
 * The stored job, with payload and metadata deep-frozen: handlers receive the stored objects
 * (no per-claim clone), so a handler that mutated its payload would otherwise change what a
 * retry sees, unlike in serializing drivers. Freezing makes such a mutation throw instead.
 */
function frozenCopy(job: Job): Job {
  return { ...job, payload: deepFreeze(job.payload), metadata: deepFreeze(job.metadata) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

function copy(job: Job): Job {
  return { ...job };
}
