/**
 * UnstorageJobQueue: the queue port over any unstorage `Storage` (fs, Redis, KV...).
 *
 * unstorage has neither indexes nor transactions, so the queue keeps its index in memory (the
 * same heaps as the memory driver, loaded once at open with one getKeys and batched getItems) and
 * writes every change through to the store before the call returns: one key per job holding its
 * JSON record, plus a `meta` key and an owner `lock` key.
 *
 * Because the index lives in one process, exactly one process may own a store at a time. The
 * owner holds a lock key with an expiry that a heartbeat keeps renewing. Another process opening
 * the same store gets a {@link StoreLockedError} (or waits up to `lockWaitMs` for the lock to
 * expire). When the owner dies, its lock expires, a new process takes over, and the jobs the dead
 * process was running become claimable again once their (persisted) leases expire.
 * @module
 */
import type { Storage } from "unstorage";
import {
  BinaryHeap,
  DEFAULT_RETENTION,
  JOB_STATUSES,
  JobStatus,
  StorageError,
  StoreLockedError,
  emptyStatusCounts,
  fromJobRecord,
  isWaiting,
  silentLogger,
  systemClock,
  toJobRecord,
  type ClaimRequest,
  type ClaimedJob,
  type Clock,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobQueue,
  type JobRecord,
  type LeaseRef,
  type ListFilter,
  type Logger,
  type QueueStats,
  type RetentionOptions,
} from "../core/index.ts";

/** Options of {@link UnstorageJobQueue}. */
export interface UnstorageJobQueueOptions {
  /** Any unstorage Storage. The queue never disposes it: whoever created it does. */
  storage: Storage;
  /** Key prefix, so several queues (or other data) can share one storage (default none). */
  prefix?: string;
  /** How many finished (completed or cancelled) jobs to keep, and for how long. */
  retention?: RetentionOptions;
  /**
   * How long the owner lock lasts without renewal (default 10,000 ms). The heartbeat renews it
   * every third of this; after a crash, a new process can take the store over this long after
   * the last renewal.
   */
  lockTtlMs?: number;
  /**
   * How long opening waits for a lock held by another process (default 0: fail at once with
   * {@link StoreLockedError}). Set it above `lockTtlMs` to wait out a crashed owner's lock.
   */
  lockWaitMs?: number;
  /**
   * After writing the lock, how long to wait before reading it back to confirm ownership
   * (default 30 ms). This catches two processes that start at the same instant.
   */
  lockSettleMs?: number;
  /** Identifies this owner in the lock (default a random id). */
  ownerId?: string;
  /** Free text stored next to the owner id, shown in lock errors (e.g. "pid 1234 on host-a"). */
  ownerLabel?: string;
  /** Receives warnings (unreadable records, lost lock); default silent. */
  logger?: Logger;
  clock?: Clock;
}

/** Format of the stored job value. */
interface StoredJob {
  v: 1;
  /** Insertion order, the last claim tie-breaker. */
  seq: number;
  token: string | null;
  leaseExpiresAt: number;
  finishedAt: number;
  job: JobRecord;
}

/** Format of the lock value. */
interface LockRecord {
  owner: string;
  label: string | null;
  acquiredAt: number;
  expiresAt: number;
}

const META_FORMAT = "portico-jobs/unstorage";
const META_VERSION = 1;
// Keeps the number of files opened at once bounded on big stores.
const LOAD_BATCH = 256;

interface Entry {
  job: Job;
  seq: number;
  token: string | null;
  leaseExpiresAt: number;
  finishedAt: number;
  /** Bumped on every state change; a heap item whose gen differs is stale. */
  gen: number;
}

/** A heap slot; the sort keys are copied in so comparisons never chase the entry. */
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

/** What an entry looked like before a call changed it, so a failed write can be undone. */
interface Snapshot {
  created: boolean;
  job: Job;
  token: string | null;
  leaseExpiresAt: number;
  finishedAt: number;
}

type Tx = Map<Entry, Snapshot>;

const readyOrder = (a: Item, b: Item): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.at !== b.at ? a.at < b.at : a.seq < b.seq;
const timeOrder = (a: Item, b: Item): boolean => (a.at !== b.at ? a.at < b.at : a.seq < b.seq);
const live = (it: Item): boolean => it.e.gen === it.gen;
const dueItem = (e: Entry): Item => ({ e, gen: ++e.gen, priority: e.job.priority, at: e.job.runAt.getTime(), seq: e.seq });
const leaseItem = (e: Entry): Item => ({ e, gen: ++e.gen, priority: 0, at: e.leaseExpiresAt, seq: e.seq });
const isKept = (s: JobStatus): boolean => s === JobStatus.COMPLETED || s === JobStatus.CANCELLED;

/**
 * A durable {@link JobQueue} over unstorage, owned by one process at a time.
 *
 * Opening (explicitly with {@link UnstorageJobQueue.open}, or implicitly on the first call)
 * takes the owner lock and loads every job into memory; afterwards claim and enqueue are
 * O(log n) in memory plus one batched write. Every mutating call is serialized and written
 * through before it resolves; when the write fails, the in-memory change is undone and the
 * call rejects with {@link StorageError}.
 */
export class UnstorageJobQueue implements JobQueue {
  readonly ownerId: string;
  readonly #storage: Storage;
  readonly #prefix: string;
  readonly #retention: Required<RetentionOptions>;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #lockSettleMs: number;
  readonly #ownerLabel: string | null;
  readonly #logger: Logger;
  readonly #clock: Clock;

  readonly #jobs = new Map<string, Entry>();
  readonly #lanes = new Map<string, Lane>();
  readonly #idempotency = new Map<string, string>();
  #finished: { e: Entry; gen: number }[] = [];
  #finishedHead = 0;
  /** Set by a call that finished a job: prune at this time once the call is committed. */
  #pruneAt: number | null = null;
  readonly #listeners = new Set<() => void>();
  #seq = 0;

  #opening: Promise<void> | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #lockExpiresAt = 0;
  #lost: string | null = null;
  #closed = false;

  constructor(options: UnstorageJobQueueOptions) {
    if (!options || typeof options.storage?.getItem !== "function") {
      throw new TypeError("UnstorageJobQueue: options.storage must be an unstorage Storage (createStorage(...))");
    }
    this.#storage = options.storage;
    const prefix = (options.prefix ?? "").replace(/:+$/, "");
    this.#prefix = prefix ? `${prefix}:` : "";
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#lockTtlMs = nonNegative(options.lockTtlMs ?? 10_000, "lockTtlMs", 1);
    this.#lockWaitMs = nonNegative(options.lockWaitMs ?? 0, "lockWaitMs", 0);
    this.#lockSettleMs = nonNegative(options.lockSettleMs ?? 30, "lockSettleMs", 0);
    this.ownerId = options.ownerId ?? `owner-${crypto.randomUUID()}`;
    this.#ownerLabel = options.ownerLabel ?? null;
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Takes the owner lock and loads the store. Called implicitly by every other method; call it
   * yourself to surface a locked store at startup.
   * @throws {StoreLockedError} another live process owns the store (after `lockWaitMs`)
   * @throws {StorageError} the store cannot be read or holds data of another format
   */
  open(): Promise<void> {
    if (this.#closed) return Promise.reject(new StorageError("UnstorageJobQueue is closed"));
    if (!this.#opening) {
      this.#opening = this.#open();
      // A failed open may be retried (e.g. once the other owner is gone).
      this.#opening.catch(() => (this.#opening = null));
    }
    return this.#opening;
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    return this.#mutate((tx) => {
      // Check the whole batch before touching anything so a bad batch stores nothing.
      const seen = new Set<string>();
      for (const job of jobs) {
        if (this.#jobs.has(job.id) || seen.has(job.id)) throw new StorageError(`Job id ${job.id} already exists`);
        seen.add(job.id);
      }
      const results: EnqueueResult[] = [];
      const batchKeys = new Map<string, number>();
      for (const job of jobs) {
        const key = job.idempotencyKey === null ? null : idemKey(job.queueName, job.idempotencyKey);
        if (key !== null) {
          const existingId = this.#idempotency.get(key);
          if (existingId !== undefined) {
            results.push({ job: copy(this.#jobs.get(existingId)!.job), created: false });
            continue;
          }
          const inBatch = batchKeys.get(key);
          if (inBatch !== undefined) {
            results.push({ job: results[inBatch]!.job, created: false });
            continue;
          }
          batchKeys.set(key, results.length);
        }
        const e: Entry = { job: { ...job }, seq: this.#seq++, token: null, leaseExpiresAt: 0, finishedAt: 0, gen: 0 };
        tx.set(e, { created: true, job: e.job, token: null, leaseExpiresAt: 0, finishedAt: 0 });
        this.#index(e);
        results.push({ job, created: true });
      }
      return results;
    });
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return this.#mutate((tx) => {
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
          this.#touch(tx, e);
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
    });
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean> {
    return this.#mutate((tx) => {
      const e = this.#held(lease);
      if (!e) return false;
      this.#touch(tx, e);
      e.leaseExpiresAt = now + leaseMs;
      this.#lane(e.job.queueName).leases.push(leaseItem(e));
      return true;
    });
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    return this.#mutate((tx) => {
      const e = this.#held(lease);
      if (!e) return false;
      this.#touch(tx, e);
      e.job.completedAt = new Date(now);
      e.job.result = result === undefined ? null : result;
      this.#finish(e, JobStatus.COMPLETED, now);
      return true;
    });
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    return this.#mutate((tx) => {
      const e = this.#held(lease);
      if (!e) return false;
      this.#touch(tx, e);
      e.job.errorMessage = errorMessage;
      e.job.failedAt = new Date(now);
      if (outcome.status === JobStatus.RETRYING) {
        e.job.retryCount++;
        e.token = null;
        this.#requeue(e, JobStatus.RETRYING, outcome.retryAt);
      } else {
        this.#finish(e, outcome.status, now);
      }
      return true;
    });
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    return this.#mutate((tx) => {
      const e = this.#held(lease);
      if (!e) return false;
      this.#touch(tx, e);
      e.token = null;
      e.job.startedAt = null;
      this.#requeue(e, JobStatus.PENDING, e.job.runAt.getTime());
      return true;
    });
  }

  async get(id: string): Promise<Job | null> {
    return this.#read(() => {
      const e = this.#jobs.get(id);
      return e ? copy(e.job) : null;
    });
  }

  async cancel(id: string, now: number): Promise<boolean> {
    return this.#mutate((tx) => {
      const e = this.#jobs.get(id);
      if (!e || !isWaiting(e.job.status)) return false;
      this.#touch(tx, e);
      this.#finish(e, JobStatus.CANCELLED, now);
      return true;
    });
  }

  async retry(id: string, now: number): Promise<Job | null> {
    return this.#mutate((tx) => {
      const e = this.#jobs.get(id);
      if (!e || (e.job.status !== JobStatus.DEAD_LETTER && e.job.status !== JobStatus.FAILED)) return null;
      this.#touch(tx, e);
      e.job.retryCount = 0;
      this.#requeue(e, JobStatus.PENDING, now);
      return copy(e.job);
    });
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    return this.#read(() => {
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
    });
  }

  async stats(): Promise<QueueStats> {
    return this.#read(() => {
      const byStatus = emptyStatusCounts();
      const byQueue: QueueStats["byQueue"] = {};
      for (const [name, lane] of this.#lanes) {
        byQueue[name] = { ...lane.counts };
        for (const s of JOB_STATUSES) byStatus[s] += lane.counts[s];
      }
      return { total: this.#jobs.size, byStatus, byQueue };
    });
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    return this.#read(() => {
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
    });
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Waits for pending writes, stops the heartbeat and gives the lock up. The storage stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#tail.catch(() => {});
    const opening = this.#opening;
    if (!opening) return;
    await opening.catch(() => {});
    this.#stopHeartbeat();
    if (this.#lost) return;
    try {
      const lock = await this.#readLock();
      if (lock?.owner === this.ownerId) await this.#storage.removeItem(this.#key("lock"));
    } catch (error) {
      // The lock then simply expires.
      this.#logger.warn("unstorage.unlock_failed", { error });
    }
  }

  // ---- opening and the owner lock ----

  /** Like open(), but also for calls queued before close(). */
  #opened(): Promise<void> {
    if (!this.#opening) {
      if (this.#closed) return Promise.reject(new StorageError("UnstorageJobQueue is closed"));
      return this.open();
    }
    return this.#opening;
  }

  async #open(): Promise<void> {
    await this.#acquireLock();
    try {
      await this.#checkMeta();
      await this.#load();
    } catch (error) {
      await this.#storage.removeItem(this.#key("lock")).catch(() => {});
      throw error instanceof StorageError ? error : new StorageError(`UnstorageJobQueue: cannot load the store: ${message(error)}`, { cause: error });
    }
    this.#heartbeat = setInterval(() => void this.#renewLock().catch(() => {}), Math.max(1, Math.floor(this.#lockTtlMs / 3)));
    // Never keep a process alive just for the heartbeat (Node/Bun timers have unref, Deno ids do not).
    (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  async #acquireLock(): Promise<void> {
    const deadline = this.#clock() + this.#lockWaitMs;
    for (;;) {
      let current = await this.#readLock();
      const now = this.#clock();
      if (!current || current.expiresAt <= now || current.owner === this.ownerId) {
        const mine: LockRecord = { owner: this.ownerId, label: this.#ownerLabel, acquiredAt: now, expiresAt: now + this.#lockTtlMs };
        await this.#writeLock(mine);
        // Two processes may both have seen a free lock; the later write wins and the other backs off.
        if (this.#lockSettleMs > 0) await sleep(this.#lockSettleMs);
        const check = await this.#readLock();
        if (check?.owner === this.ownerId) {
          this.#lockExpiresAt = mine.expiresAt;
          return;
        }
        current = check;
      }
      if (this.#clock() >= deadline) throw this.#lockedError(current);
      // Sleep until the holder's lock would expire (it may be renewed meanwhile: then go round again).
      const untilExpiry = current ? current.expiresAt - this.#clock() + 1 : this.#lockSettleMs;
      await sleep(Math.min(Math.max(untilExpiry, 5), Math.max(deadline - this.#clock(), 1)));
    }
  }

  #lockedError(lock: LockRecord | null): StoreLockedError {
    const who = lock ? `${lock.owner}${lock.label ? ` (${lock.label})` : ""}` : "another process";
    const until = lock ? ` until ${new Date(lock.expiresAt).toISOString()} unless renewed` : "";
    return new StoreLockedError(
      `The job store${this.#prefix ? ` "${this.#prefix.slice(0, -1)}"` : ""} is owned by ${who}${until}. ` +
        `Only one process may use an unstorage job store at a time: stop the other process, point this one at another ` +
        `store, or set lockWaitMs to wait for a crashed owner's lock to expire.`,
    );
  }

  async #readLock(): Promise<LockRecord | null> {
    const value = await this.#storage.getItem<LockRecord>(this.#key("lock"));
    return value && typeof value === "object" && typeof value.owner === "string" && typeof value.expiresAt === "number" ? value : null;
  }

  #writeLock(lock: LockRecord): Promise<void> {
    return this.#storage.setItem(this.#key("lock"), lock);
  }

  /** Heartbeat: confirms the lock is still ours and pushes its expiry; notices a takeover. */
  async #renewLock(): Promise<void> {
    if (this.#lost || this.#closed) return;
    try {
      const current = await this.#readLock();
      if (current && current.owner !== this.ownerId) {
        this.#loseLock(current);
        return;
      }
      const now = this.#clock();
      const expiresAt = now + this.#lockTtlMs;
      await this.#writeLock({ owner: this.ownerId, label: this.#ownerLabel, acquiredAt: current?.acquiredAt ?? now, expiresAt });
      this.#lockExpiresAt = expiresAt;
    } catch (error) {
      this.#logger.warn("unstorage.lock_renew_failed", { error });
      throw error;
    }
  }

  #loseLock(current: LockRecord | null): void {
    this.#lost = this.#lockedError(current).message;
    this.#stopHeartbeat();
    this.#logger.error("unstorage.lock_lost", { ownerId: this.ownerId, newOwner: current?.owner ?? null });
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  /** Refuses to write without a live lock; renews it first when the heartbeat fell behind. */
  async #assertOwner(): Promise<void> {
    await this.#opened();
    if (!this.#lost && this.#clock() >= this.#lockExpiresAt) await this.#renewLock();
    if (this.#lost) throw new StoreLockedError(`This process lost the job store: ${this.#lost}`);
  }

  async #checkMeta(): Promise<void> {
    const meta = await this.#storage.getItem<{ format?: string; version?: number }>(this.#key("meta"));
    if (meta === null || meta === undefined) {
      await this.#storage.setItem(this.#key("meta"), { format: META_FORMAT, version: META_VERSION, createdAt: this.#clock() });
      return;
    }
    if (typeof meta !== "object" || meta.format !== META_FORMAT || meta.version !== META_VERSION) {
      throw new StorageError(
        `UnstorageJobQueue: the store's meta key holds ${JSON.stringify(meta)}, expected format "${META_FORMAT}" version ${META_VERSION}`,
      );
    }
  }

  async #load(): Promise<void> {
    const base = this.#key("jobs");
    const keys = await this.#storage.getKeys(base);
    const entries: Entry[] = [];
    for (let i = 0; i < keys.length; i += LOAD_BATCH) {
      const items = await this.#storage.getItems<StoredJob>(keys.slice(i, i + LOAD_BATCH));
      for (const { key, value } of items) {
        const e = parseStored(value);
        if (e) entries.push(e);
        // A record cut short by a crash mid-write is skipped rather than blocking the whole store.
        else this.#logger.warn("unstorage.unreadable_record", { key });
      }
    }
    // Sorting once at open restores insertion order for list() and the finished list.
    entries.sort((a, b) => a.seq - b.seq);
    for (const e of entries) {
      this.#index(e);
      this.#seq = Math.max(this.#seq, e.seq + 1);
    }
    const kept = entries.filter((e) => isKept(e.job.status)).sort((a, b) => a.finishedAt - b.finishedAt);
    this.#finished = kept.map((e) => ({ e, gen: e.gen }));
    await this.#prune(this.#clock());
  }

  // ---- serialized read/modify/write ----

  /**
   * Runs `fn` after every earlier call, so reads see committed state only. Calls made before
   * close() still run; calls made after it are refused.
   */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError("UnstorageJobQueue is closed"));
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  #read<T>(fn: () => T): Promise<T> {
    return this.#serial(async () => {
      await this.#opened();
      return fn();
    });
  }

  /**
   * Applies `fn` to the in-memory index, writes every touched job in one setItems, then prunes
   * and notifies. A failed write restores the touched entries, so nothing is half-applied.
   */
  #mutate<T>(fn: (tx: Tx) => T): Promise<T> {
    return this.#serial(async () => {
      await this.#assertOwner();
      const tx: Tx = new Map();
      this.#pruneAt = null;
      let result: T;
      try {
        result = fn(tx);
      } catch (error) {
        this.#rollback(tx);
        throw error;
      }
      if (tx.size === 0) return result;
      try {
        await this.#storage.setItems([...tx.keys()].map((e) => ({ key: this.#jobKey(e.job.id), value: toStored(e) })));
      } catch (error) {
        const undo = this.#undoWrites(tx);
        this.#rollback(tx);
        await undo;
        throw new StorageError(`UnstorageJobQueue: write failed, nothing was changed: ${message(error)}`, { cause: error });
      }
      if (this.#pruneAt !== null) await this.#prune(this.#pruneAt);
      if ([...tx.keys()].some((e) => isWaiting(e.job.status))) this.#notify();
      return result;
    });
  }

  /**
   * unstorage writes a batch key by key, so part of a failed batch may have landed: put those
   * keys back as they were (best effort; must run before the entries are restored in memory).
   */
  async #undoWrites(tx: Tx): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const [e, snap] of tx) {
      const key = this.#jobKey(e.job.id);
      if (snap.created) writes.push(this.#storage.removeItem(key));
      else writes.push(this.#storage.setItem(key, toStored({ ...e, job: snap.job, token: snap.token, leaseExpiresAt: snap.leaseExpiresAt, finishedAt: snap.finishedAt })));
    }
    const failed = (await Promise.allSettled(writes)).filter((r) => r.status === "rejected").length;
    if (failed) this.#logger.error("unstorage.undo_failed", { keys: failed });
  }

  #touch(tx: Tx, e: Entry): void {
    if (!tx.has(e)) tx.set(e, { created: false, job: { ...e.job }, token: e.token, leaseExpiresAt: e.leaseExpiresAt, finishedAt: e.finishedAt });
  }

  #rollback(tx: Tx): void {
    for (const [e, snap] of tx) {
      this.#unindex(e);
      if (snap.created) continue;
      e.job = snap.job;
      e.token = snap.token;
      e.leaseExpiresAt = snap.leaseExpiresAt;
      e.finishedAt = snap.finishedAt;
      this.#index(e);
      if (isKept(e.job.status)) this.#finished.push({ e, gen: e.gen });
    }
  }

  // ---- the in-memory index ----

  /** Adds an entry to the maps, counters and the heap matching its status. */
  #index(e: Entry): void {
    const j = e.job;
    this.#jobs.set(j.id, e);
    if (j.idempotencyKey !== null) this.#idempotency.set(idemKey(j.queueName, j.idempotencyKey), j.id);
    const lane = this.#lane(j.queueName);
    lane.counts[j.status]++;
    if (j.status === JobStatus.PENDING) lane.ready.push(dueItem(e));
    else if (isWaiting(j.status)) lane.delayed.push(dueItem(e));
    else if (j.status === JobStatus.RUNNING) lane.leases.push(leaseItem(e));
  }

  #unindex(e: Entry): void {
    const j = e.job;
    if (this.#jobs.get(j.id) === e) this.#jobs.delete(j.id);
    this.#lane(j.queueName).counts[j.status]--;
    e.gen++;
    if (j.idempotencyKey !== null) {
      const key = idemKey(j.queueName, j.idempotencyKey);
      if (this.#idempotency.get(key) === j.id) this.#idempotency.delete(key);
    }
  }

  #lane(name: string): Lane {
    let lane = this.#lanes.get(name);
    if (!lane) {
      lane = { ready: new BinaryHeap(readyOrder), delayed: new BinaryHeap(timeOrder), leases: new BinaryHeap(timeOrder), counts: emptyStatusCounts() };
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
    e.job.runAt = new Date(runAt);
    this.#lane(e.job.queueName).delayed.push(dueItem(e));
  }

  #finish(e: Entry, status: JobStatus, now: number): void {
    this.#setStatus(e, status);
    e.token = null;
    e.gen++;
    if (isKept(status)) {
      e.finishedAt = now;
      this.#finished.push({ e, gen: e.gen });
      // Retention is judged by the caller's clock, like every other time in the port.
      this.#pruneAt = now;
    }
  }

  /** Applies retention, oldest finished job first, and deletes the pruned keys. */
  async #prune(now: number): Promise<void> {
    const { maxCount, maxAgeMs } = this.#retention;
    const removed: Entry[] = [];
    while (this.#finishedHead < this.#finished.length) {
      const oldest = this.#finished[this.#finishedHead]!;
      if (oldest.e.gen !== oldest.gen || this.#jobs.get(oldest.e.job.id) !== oldest.e) {
        this.#finishedHead++;
        continue;
      }
      const kept = this.#finished.length - this.#finishedHead;
      if (kept <= maxCount && oldest.e.finishedAt > now - maxAgeMs) break;
      this.#finishedHead++;
      this.#unindex(oldest.e);
      removed.push(oldest.e);
    }
    if (this.#finishedHead > 1024 && this.#finishedHead * 2 > this.#finished.length) {
      this.#finished.splice(0, this.#finishedHead);
      this.#finishedHead = 0;
    }
    if (removed.length === 0) return;
    // Best effort: a key that survives a failed delete is pruned again at the next open.
    const results = await Promise.allSettled(removed.map((e) => this.#storage.removeItem(this.#jobKey(e.job.id))));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed) this.#logger.warn("unstorage.prune_failed", { failed });
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #key(name: string): string {
    return this.#prefix + name;
  }

  #jobKey(id: string): string {
    return `${this.#prefix}jobs:${safeKeySegment(id)}`;
  }
}

function toStored(e: Entry): StoredJob {
  return { v: 1, seq: e.seq, token: e.token, leaseExpiresAt: e.leaseExpiresAt, finishedAt: e.finishedAt, job: toJobRecord(e.job) };
}

function parseStored(value: unknown): Entry | null {
  if (!value || typeof value !== "object") return null;
  const s = value as Partial<StoredJob>;
  const r = s.job;
  if (s.v !== 1 || typeof s.seq !== "number" || !r || typeof r !== "object" || typeof r.id !== "string") return null;
  if (!JOB_STATUSES.includes(r.status) || typeof r.runAt !== "number" || typeof r.createdAt !== "number") return null;
  return {
    job: fromJobRecord(r),
    seq: s.seq,
    token: typeof s.token === "string" ? s.token : null,
    leaseExpiresAt: typeof s.leaseExpiresAt === "number" ? s.leaseExpiresAt : 0,
    finishedAt: typeof s.finishedAt === "number" ? s.finishedAt : 0,
    gen: 0,
  };
}

/**
 * Ids become one key segment. Anything unstorage or a file system could misread is hex-encoded
 * behind a "~", which plain ids never contain, so the two forms cannot collide.
 */
function safeKeySegment(id: string): string {
  if (/^[A-Za-z0-9_-]{1,128}$/.test(id)) return id;
  let hex = "";
  for (const byte of new TextEncoder().encode(id)) hex += byte.toString(16).padStart(2, "0");
  return `~${hex}`;
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

function copy(job: Job): Job {
  return { ...job };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function nonNegative(value: number, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new RangeError(`UnstorageJobQueue: ${name} must be a number >= ${min}, got ${String(value)}`);
  }
  return value;
}
