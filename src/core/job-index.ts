/**
 * JobIndex: the in-memory state machine behind the memory and unstorage drivers. Per queue it
 * keeps three heaps (ready jobs by priority, due time and insertion; scheduled jobs by due time;
 * leases by expiry), so enqueue and claim are O(log n). Heap slots are invalidated lazily by a
 * generation counter instead of being searched for and removed.
 *
 * Every method is synchronous and applies one port operation. A driver that persists the index
 * passes `onTouch`, which sees each entry once before its first change in an operation, so the
 * driver can snapshot it for rollback and write it through afterwards.
 */
import { FlowGates } from "./flow-gates.ts";
import { Heap } from "./heap.ts";
import {
  JOB_STATUSES,
  JobStatus,
  THROUGHPUT_MINUTES,
  emptyStatusCounts,
  isFinished,
  type Job,
  type JobProgress,
  type QueueStats,
  type ThroughputBucket,
} from "./job.ts";
import { StorageError } from "./errors.ts";
import { randomId } from "./random-id.ts";
import * as T from "./transitions.ts";
import {
  DEFAULT_RETENTION,
  type BulkAction,
  type BulkFilter,
  type JobPage,
  type PageFilter,
  type ClaimRequest,
  type ClaimedJob,
  type EnqueueResult,
  type FailureOutcome,
  type LeaseRef,
  type ListFilter,
  type RetentionOptions,
} from "./queue.ts";

/** One job in the index, with the lease state a driver persists beside it. */
export interface IndexEntry {
  job: Job;
  /** Insertion order, the last claim tie-breaker. */
  seq: number;
  token: string | null;
  leaseExpiresAt: number;
  /** When the job became COMPLETED or CANCELLED (retention clock). */
  finishedAt: number;
  /** Bumped on every state change; a heap slot whose gen differs is stale. */
  gen: number;
}

/** A heap slot. The sort keys are copied in so comparisons never chase the entry pointer. */
interface Slot {
  e: IndexEntry;
  gen: number;
  priority: number;
  at: number;
  seq: number;
}

interface Lane {
  ready: Heap<Slot>;
  delayed: Heap<Slot>;
  leases: Heap<Slot>;
  counts: Record<JobStatus, number>;
  /** Kept counters of finished attempts per minute, oldest first (at most THROUGHPUT_MINUTES). */
  rate: ThroughputBucket[];
}

const readyOrder = (a: Slot, b: Slot): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.at !== b.at ? a.at < b.at : a.seq < b.seq;
// For the scheduled heap `at` is the due time; for the lease heap it is the lease expiry.
const timeOrder = (a: Slot, b: Slot): boolean => (a.at !== b.at ? a.at < b.at : a.seq < b.seq);
const live = (s: Slot): boolean => s.e.gen === s.gen;
/** A fresh slot ordered by due time; bumping the generation makes older slots stale. */
const dueSlot = (e: IndexEntry): Slot => ({ e, gen: ++e.gen, priority: e.job.priority, at: e.job.runAt.getTime(), seq: e.seq });
const leaseSlot = (e: IndexEntry): Slot => ({ e, gen: ++e.gen, priority: 0, at: e.leaseExpiresAt, seq: e.seq });

/** Options of {@link JobIndex}. */
export interface JobIndexOptions {
  retention?: RetentionOptions;
  /** Called once per entry and operation, before the entry's first change. */
  onTouch?: (entry: IndexEntry) => void;
  /** Makes the index's own copy of a job being enqueued (default: a shallow copy). */
  adopt?: (job: Job) => Job;
  /**
   * Makes the entry of a newly enqueued job from its adopted copy, with no lease and nothing
   * finished (default: a plain entry holding the copy). A driver short of memory may return the
   * copy itself when it is an entry too (`entry.job === entry`: one object per job).
   */
  entry?: (job: Job, seq: number) => IndexEntry;
}

const plainEntry = (job: Job, seq: number): IndexEntry => ({ job, seq, token: null, leaseExpiresAt: 0, finishedAt: 0, gen: 0 });

/** The in-memory job index shared by the memory and unstorage drivers. */
export class JobIndex {
  readonly #jobs = new Map<string, IndexEntry>();
  readonly #lanes = new Map<string, Lane>();
  readonly #idempotency = new Map<string, string>();
  readonly #paused = new Set<string>();
  /** Every entry in seq order (removed ones skipped lazily): the keyset order of listPage. */
  #order: IndexEntry[] = [];
  #orderDead = 0;
  // Finished jobs in finish order, those with an idempotency key apart: retention may not remove
  // a keyed one within the idempotency window, and must not stall behind it on the others.
  readonly #finished = new FinishedFifo();
  readonly #finishedKeyed = new FinishedFifo();
  /** Waiting jobs by (queue, debounce key): the job a debounced enqueue replaces. */
  readonly #debounced = new Map<string, IndexEntry>();
  readonly #gates = new FlowGates<IndexEntry, Slot>({
    before: readyOrder,
    live,
    unpark: (slot) => this.#lane(slot.e.job.queueName).ready.push(slot),
  });
  readonly #retention: Required<RetentionOptions>;
  readonly #onTouch: ((entry: IndexEntry) => void) | null;
  readonly #adopt: (job: Job) => Job;
  readonly #entry: (job: Job, seq: number) => IndexEntry;
  #seq = 0;

  constructor(options: JobIndexOptions = {}) {
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#onTouch = options.onTouch ?? null;
    this.#adopt = options.adopt ?? copy;
    this.#entry = options.entry ?? plainEntry;
  }

  get size(): number {
    return this.#jobs.size;
  }

  entry(id: string): IndexEntry | undefined {
    return this.#jobs.get(id);
  }

  /** Stores new jobs; a repeated (queueName, idempotencyKey) returns the existing job. All or nothing. */
  enqueue(jobs: readonly Job[]): EnqueueResult[] {
    // Check the whole batch before touching anything so a bad batch stores nothing.
    const seen = jobs.length > 1 ? new Set<string>() : null;
    for (const job of jobs) {
      if (this.#jobs.has(job.id) || seen?.has(job.id)) throw new StorageError(`Job id ${job.id} already exists`);
      seen?.add(job.id);
    }
    const results: EnqueueResult[] = [];
    for (const job of jobs) {
      if (job.debounce !== undefined) {
        const waiting = this.#debounced.get(idemKey(job.queueName, job.debounce.key));
        if (waiting && T.isClaimable(waiting.job) && waiting.job.debounce?.key === job.debounce.key && this.#jobs.get(waiting.job.id) === waiting) {
          this.#onTouch?.(waiting);
          this.#apply(waiting, () => T.debounceInto(waiting, this.#adopt(job)));
          this.#requeue(waiting);
          results.push({ job: copy(waiting.job), created: false });
          continue;
        }
      }
      if (job.idempotencyKey !== null) {
        // Earlier jobs of this batch are already indexed, so this also catches in-batch repeats.
        const existingId = this.#idempotency.get(idemKey(job.queueName, job.idempotencyKey));
        if (existingId !== undefined) {
          results.push({ job: copy(this.#jobs.get(existingId)!.job), created: false });
          continue;
        }
      }
      const e = this.#entry(this.#adopt(job), this.#seq++);
      this.#onTouch?.(e);
      this.insert(e);
      // The stored job is a copy, so the caller's own object can serve as the result.
      results.push({ job, created: true });
    }
    return results;
  }

  claim(request: ClaimRequest): ClaimedJob[] {
    const { now, leaseMs } = request;
    const out: ClaimedJob[] = [];
    this.#gates.wake(now);
    for (const name of request.queues) {
      const lane = this.#lanes.get(name);
      if (!lane || this.#paused.has(name)) continue;
      this.#promote(lane, now);
      while (out.length < request.limit) {
        const slot = lane.ready.pop();
        if (!slot) break;
        if (!live(slot)) continue;
        const e = slot.e;
        const gated = T.isGated(e.job);
        if (gated) {
          const gate = this.#gates.blocked(e, now);
          if (gate) {
            this.#gates.park(gate, slot);
            continue;
          }
        }
        this.#onTouch?.(e);
        const token = randomId();
        this.#apply(e, () => T.claim(e, token, now, leaseMs));
        e.job.leasedBy = request.workerId;
        lane.leases.push(leaseSlot(e));
        if (gated) this.#gates.claimed(e, now);
        out.push({ jobId: e.job.id, token, job: copy(e.job), leaseExpiresAt: e.leaseExpiresAt });
      }
      if (out.length >= request.limit) break;
    }
    return out;
  }

  extendLease(lease: LeaseRef, leaseMs: number, now: number): boolean | "cancelled" {
    if (T.cancelledUnder(this.#jobs.get(lease.jobId), lease)) return "cancelled";
    const e = this.#held(lease);
    if (!e) return false;
    T.extendLease(e, now, leaseMs);
    this.#lane(e.job.queueName).leases.push(leaseSlot(e));
    return true;
  }

  complete(lease: LeaseRef, result: unknown, now: number): boolean {
    const e = this.#held(lease);
    if (!e) return false;
    this.#apply(e, () => T.complete(e, result, now));
    this.#count(e, now, true);
    this.#gates.settled(e);
    this.#settle(e, now);
    return true;
  }

  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): boolean {
    const e = this.#held(lease);
    if (!e) return false;
    this.#apply(e, () => T.fail(e, errorMessage, outcome, now));
    this.#count(e, now, false);
    this.#gates.settled(e);
    if (T.isClaimable(e.job)) this.#requeue(e);
    else this.#settle(e, now);
    return true;
  }

  release(lease: LeaseRef): boolean {
    const e = this.#held(lease);
    if (!e) return false;
    this.#apply(e, () => T.release(e));
    this.#gates.settled(e);
    this.#requeue(e);
    return true;
  }

  get(id: string): Job | null {
    const e = this.#jobs.get(id);
    return e ? copy(e.job) : null;
  }

  cancel(id: string, now: number, options: { running?: boolean } = {}): boolean {
    const e = this.#jobs.get(id);
    if (!e || !T.canCancel(e.job, options.running === true)) return false;
    this.#onTouch?.(e);
    this.#apply(e, () => T.cancel(e));
    // A cancelled RUNNING job gives its key's slot back.
    this.#gates.settled(e);
    this.#settle(e, now);
    return true;
  }

  /** Stores a progress report of the lease holder; false when the lease was lost. */
  progress(lease: LeaseRef, value: JobProgress): boolean {
    const e = this.#held(lease);
    if (!e) return false;
    T.progress(e, value);
    return true;
  }

  /** Pauses or resumes a queue; true when that changed anything. */
  setPaused(queueName: string, paused: boolean): boolean {
    if (paused === this.#paused.has(queueName)) return false;
    if (paused) this.#paused.add(queueName);
    else this.#paused.delete(queueName);
    return true;
  }

  /** The paused queue names, sorted. */
  pausedQueues(): string[] {
    return [...this.#paused].sort();
  }

  /**
   * Applies a bulk action to every matching job (a walk of the index: bulk actions are rare and
   * operator-driven). Purged entries are returned so a persisting driver can delete them.
   */
  bulk(action: BulkAction, filter: BulkFilter, now: number): { count: number; removed: IndexEntry[] } {
    const removed: IndexEntry[] = [];
    let count = 0;
    const before = filter.olderThan?.getTime();
    for (const e of [...this.#jobs.values()]) {
      const j = e.job;
      if (filter.status !== undefined && j.status !== filter.status) continue;
      if (filter.queueName !== undefined && j.queueName !== filter.queueName) continue;
      if (filter.jobType !== undefined && j.jobType !== filter.jobType) continue;
      if (before !== undefined && !(j.createdAt.getTime() < before)) continue;
      if (action === "retry") {
        if (this.retry(j.id, now)) count++;
      } else if (action === "cancel") {
        if (this.cancel(j.id, now, { running: true })) count++;
      } else if (isFinished(j.status)) {
        this.#onTouch?.(e);
        this.remove(e);
        removed.push(e);
        count++;
      }
    }
    return { count, removed };
  }

  /** Newest first, after the cursor (an entry's seq): a binary search, then a walk of the page. */
  listPage(filter: PageFilter = {}): JobPage {
    const limit = filter.limit ?? 50;
    if (filter.idempotencyKey !== undefined) {
      const names = filter.queueName === undefined ? [...this.#lanes.keys()] : [filter.queueName];
      const jobs: Job[] = [];
      for (const name of names) {
        const id = this.#idempotency.get(idemKey(name, filter.idempotencyKey));
        const e = id === undefined ? undefined : this.#jobs.get(id);
        if (e && matches(e.job, filter)) jobs.push(copy(e.job));
      }
      return { jobs: jobs.slice(0, limit), nextCursor: null };
    }
    this.#compactOrder();
    const order = this.#order;
    let i = order.length - 1;
    if (filter.cursor !== undefined) {
      const after = Number(filter.cursor);
      // Last index whose seq is below the cursor.
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (order[mid]!.seq < after) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
    const jobs: Job[] = [];
    let last: IndexEntry | null = null;
    for (; i >= 0; i--) {
      const e = order[i]!;
      if (this.#jobs.get(e.job.id) !== e || !matches(e.job, filter)) continue;
      if (jobs.length === limit) return { jobs, nextCursor: String(last!.seq) };
      jobs.push(copy(e.job));
      last = e;
    }
    return { jobs, nextCursor: null };
  }

  retry(id: string, now: number): Job | null {
    const e = this.#jobs.get(id);
    if (!e || !T.canRedrive(e.job)) return null;
    this.#onTouch?.(e);
    this.#apply(e, () => T.redrive(e, now));
    this.#requeue(e);
    return copy(e.job);
  }

  /** Jobs in insertion order. Filtering walks the index: listing is for dashboards, not the hot path. */
  list(filter: ListFilter = {}): Job[] {
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

  /** Waiting jobs in every lane, from the lanes' counters. */
  waitingCount(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) n += lane.counts[JobStatus.PENDING] + lane.counts[JobStatus.SCHEDULED] + lane.counts[JobStatus.RETRYING];
    return n;
  }

  stats(): QueueStats {
    const lanes = this.#lanes;
    const stats = T.foldStats(
      (function* () {
        for (const [name, lane] of lanes) for (const s of JOB_STATUSES) yield [name, s, lane.counts[s]] as const;
      })(),
      [...this.#paused],
    );
    // Own properties (a queue may be called "__proto__"), on a plain object (it crosses RPC).
    const throughput: Record<string, ThroughputBucket[]> = {};
    for (const [name, lane] of this.#lanes) {
      Object.defineProperty(throughput, name, { value: lane.rate.map((x) => ({ ...x })), enumerable: true, writable: true, configurable: true });
    }
    return { ...stats, throughput };
  }

  nextWakeAt(queues: readonly string[], now: number): number | null {
    let best: number | null = null;
    for (const name of queues) {
      const lane = this.#lanes.get(name);
      // A paused queue needs no worker: waking for it would spin.
      if (!lane || this.#paused.has(name)) continue;
      if (top(lane.ready)) return now;
      for (const slot of [top(lane.delayed), top(lane.leases)]) {
        if (slot && (best === null || slot.at < best)) best = slot.at;
      }
    }
    // A rate-limited key's next allowed start (keys span queues, so it is not filtered by queue).
    const rate = this.#gates.nextWake();
    if (rate !== null && (best === null || rate < best)) best = Math.max(rate, now);
    return best;
  }

  /** True (once) when a finished or expired job let parked jobs of its key queue again: tell idle workers. */
  takeUnparked(): boolean {
    return this.#gates.takeUnparked();
  }

  /**
   * Applies the retention policy, oldest finished job first (amortized O(1) per job), and
   * returns the removed entries so a persisting driver can delete them.
   */
  prune(now: number): IndexEntry[] {
    const { maxCount, maxAgeMs, idempotencyWindowMs } = this.#retention;
    const removed: IndexEntry[] = [];
    const isLive = (x: { e: IndexEntry; gen: number }) => x.e.gen === x.gen && this.#jobs.get(x.e.job.id) === x.e;
    // A keyed job is remembered (not removed, by count or age) until the window has passed.
    const windowEnd = now - idempotencyWindowMs;
    for (;;) {
      const plain = this.#finished.peek(isLive);
      const keyed = this.#finishedKeyed.peek(isLive);
      const removableKeyed = keyed && keyed.finishedAt <= windowEnd ? keyed : undefined;
      const tooMany = this.#finished.size + this.#finishedKeyed.size > maxCount;
      // The oldest removable job goes first; either bound (count or age) may call for it.
      const next = !plain ? removableKeyed : !removableKeyed ? plain : removableKeyed.finishedAt < plain.finishedAt ? removableKeyed : plain;
      if (!next || (!tooMany && next.finishedAt > now - maxAgeMs)) break;
      (next === plain ? this.#finished : this.#finishedKeyed).shift();
      this.remove(next);
      removed.push(next);
    }
    return removed;
  }

  /**
   * Indexes an entry in whatever state it is (loading a store, undoing a failed write).
   * Entries must be inserted in `seq` order for list() to keep insertion order.
   */
  insert(e: IndexEntry): void {
    const j = e.job;
    this.#jobs.set(j.id, e);
    this.#seq = Math.max(this.#seq, e.seq + 1);
    this.#addToOrder(e);
    if (j.idempotencyKey !== null) this.#idempotency.set(idemKey(j.queueName, j.idempotencyKey), j.id);
    if (j.debounce !== undefined && T.isClaimable(j)) this.#debounced.set(idemKey(j.queueName, j.debounce.key), e);
    if (T.isGated(j)) this.#gates.loadStart(e);
    const lane = this.#lane(j.queueName);
    lane.counts[j.status]++;
    if (j.status === JobStatus.PENDING) lane.ready.push(dueSlot(e));
    else if (T.isClaimable(j)) lane.delayed.push(dueSlot(e));
    else if (j.status === JobStatus.RUNNING) lane.leases.push(leaseSlot(e));
    else if (T.isRetained(j.status)) this.#finishedOf(j).push({ e, gen: e.gen });
  }

  /** Takes an entry out of every map, counter and heap. */
  remove(e: IndexEntry): void {
    const j = e.job;
    if (this.#jobs.get(j.id) === e) {
      this.#jobs.delete(j.id);
      this.#orderDead++;
    }
    this.#lane(j.queueName).counts[j.status]--;
    e.gen++;
    if (j.idempotencyKey !== null) {
      const key = idemKey(j.queueName, j.idempotencyKey);
      if (this.#idempotency.get(key) === j.id) this.#idempotency.delete(key);
    }
    if (j.debounce !== undefined) {
      const key = idemKey(j.queueName, j.debounce.key);
      if (this.#debounced.get(key) === e) this.#debounced.delete(key);
    }
  }

  /** Re-sorts the finished list by finish time (after loading entries in seq order). */
  sortFinished(): void {
    this.#gates.sortStarts();
    this.#finished.sort();
    this.#finishedKeyed.sort();
  }

  #finishedOf(job: Job): FinishedFifo {
    return job.idempotencyKey === null ? this.#finished : this.#finishedKeyed;
  }

  /** Counts a finished attempt in its minute's bucket: O(1), no scan at stats() time. */
  #count(e: IndexEntry, now: number, completed: boolean): void {
    const rate = this.#lane(e.job.queueName).rate;
    const minute = now - (now % 60_000);
    let last = rate[rate.length - 1];
    if (!last || last.minute < minute) {
      last = { minute, completed: 0, failed: 0 };
      rate.push(last);
      while (rate.length > 0 && rate[0]!.minute <= minute - THROUGHPUT_MINUTES * 60_000) rate.shift();
    } else if (last.minute > minute) return; // a clock going backwards: not worth a bucket
    if (completed) last.completed++;
    else last.failed++;
  }

  #addToOrder(e: IndexEntry): void {
    const order = this.#order;
    if (order.length === 0 || order[order.length - 1]!.seq < e.seq) {
      order.push(e);
      return;
    }
    // Re-inserting an entry (undoing a failed write): keep seq order, replacing a stale copy.
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]!.seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    if (order[lo]?.seq === e.seq) {
      order[lo] = e;
      this.#orderDead = Math.max(0, this.#orderDead - 1);
    } else order.splice(lo, 0, e);
  }

  /** Drops removed entries from the keyset order once they are half of it (amortized O(1)). */
  #compactOrder(): void {
    if (this.#orderDead * 2 <= this.#order.length) return;
    this.#order = this.#order.filter((e) => this.#jobs.get(e.job.id) === e);
    this.#orderDead = 0;
  }

  #lane(name: string): Lane {
    let lane = this.#lanes.get(name);
    if (!lane) {
      lane = { ready: new Heap(readyOrder), delayed: new Heap(timeOrder), leases: new Heap(timeOrder), counts: emptyStatusCounts(), rate: [] };
      this.#lanes.set(name, lane);
    }
    return lane;
  }

  /** Moves due scheduled jobs and jobs with expired leases into the ready heap. */
  #promote(lane: Lane, now: number): void {
    for (let s = top(lane.delayed); s && s.at <= now; s = top(lane.delayed)) {
      lane.delayed.pop();
      lane.ready.push(dueSlot(s.e));
    }
    for (let s = top(lane.leases); s && s.at <= now; s = top(lane.leases)) {
      lane.leases.pop();
      // Still RUNNING with the old token until someone claims it: a slow worker may yet finish.
      lane.ready.push(dueSlot(s.e));
      // Its key's slot is free meanwhile.
      this.#gates.expired(s.e);
    }
  }

  /** The entry when `lease` is its current lease (touched, since every caller changes it). */
  #held(lease: LeaseRef): IndexEntry | null {
    const e = this.#jobs.get(lease.jobId);
    if (!e || !T.holdsLease(e, lease)) return null;
    this.#onTouch?.(e);
    return e;
  }

  /** Applies a transition and moves the entry between its lane's status counts. */
  #apply(e: IndexEntry, transition: () => void): void {
    const before = e.job.status;
    transition();
    const counts = this.#lane(e.job.queueName).counts;
    counts[before]--;
    counts[e.job.status]++;
  }

  /** Indexes a job that waits again (retry, release, redrive) by its due time. */
  #requeue(e: IndexEntry): void {
    this.#lane(e.job.queueName).delayed.push(dueSlot(e));
  }

  /** A job left the claimable and running states: stale its heap slots; retention starts its clock. */
  #settle(e: IndexEntry, now: number): void {
    e.gen++;
    if (T.isRetained(e.job.status)) {
      e.finishedAt = now;
      this.#finishedOf(e.job).push({ e, gen: e.gen });
    }
  }
}

/** Finished entries in finish order: a queue with amortized O(1) push and shift. */
class FinishedFifo {
  #items: { e: IndexEntry; gen: number }[] = [];
  #head = 0;

  /** Slots held, stale ones included (an upper bound of the live ones). */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: { e: IndexEntry; gen: number }): void {
    this.#items.push(item);
  }

  /** The oldest live entry, dropping stale slots in front of it. */
  peek(isLive: (item: { e: IndexEntry; gen: number }) => boolean): IndexEntry | undefined {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (isLive(item)) return item.e;
      this.shift();
    }
    return undefined;
  }

  shift(): void {
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Re-sorts by finish time (after loading entries in seq order). */
  sort(): void {
    this.#items = this.#items.slice(this.#head).sort((a, b) => a.e.finishedAt - b.e.finishedAt);
    this.#head = 0;
  }
}

function top(heap: Heap<Slot>): Slot | undefined {
  let s = heap.peek();
  while (s && !live(s)) {
    heap.pop();
    s = heap.peek();
  }
  return s;
}

function matches(j: Job, f: PageFilter): boolean {
  return (
    (f.status === undefined || j.status === f.status) &&
    (f.queueName === undefined || j.queueName === f.queueName) &&
    (f.jobType === undefined || j.jobType === f.jobType) &&
    (f.idempotencyKey === undefined || j.idempotencyKey === f.idempotencyKey)
  );
}

function idemKey(queueName: string, key: string): string {
  return `${queueName}\u0000${key}`;
}

/**
 * A caller's copy of a stored job. Dates are mutable objects, so each is copied too: a caller's
 * `job.runAt.setTime(...)` must not reach the stored job or other callers' copies.
 */
function copy(job: Job): Job {
  return withOwnDates(job);
}

/** A shallow copy of `job` with its own Date objects (one object literal, so one allocation shape). */
export function withOwnDates(job: Job): Job {
  return {
    ...job,
    createdAt: new Date(job.createdAt.getTime()),
    runAt: new Date(job.runAt.getTime()),
    scheduledAt: job.scheduledAt && new Date(job.scheduledAt.getTime()),
    startedAt: job.startedAt && new Date(job.startedAt.getTime()),
    completedAt: job.completedAt && new Date(job.completedAt.getTime()),
    failedAt: job.failedAt && new Date(job.failedAt.getTime()),
  };
}
