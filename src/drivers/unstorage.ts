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
  JOB_STATUSES,
  accountedAttempts,
  JobIndex,
  randomId,
  StorageError,
  StoreLockedError,
  fromJobRecord,
  silentLogger,
  systemClock,
  toJobRecord,
  type ClaimRequest,
  type ClaimedJob,
  type Clock,
  type EnqueueResult,
  type IndexEntry,
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
import { becameClaimable } from "../core/transitions.ts";

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
  /** 2 since attempts stopped counting released claims; 1 records are read and upgraded. */
  v: 1 | 2;
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

/** What an entry looked like before a call changed it, so a failed write can be undone. */
interface Snapshot {
  created: boolean;
  job: Job;
  token: string | null;
  leaseExpiresAt: number;
  finishedAt: number;
}

type Tx = Map<IndexEntry, Snapshot>;

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
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #lockSettleMs: number;
  readonly #ownerLabel: string | null;
  readonly #logger: Logger;
  readonly #clock: Clock;

  readonly #index: JobIndex;
  /** The write-through set of the operation in progress (see #mutate). */
  #tx: Tx | null = null;
  readonly #listeners = new Set<() => void>();

  #opening: Promise<void> | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #renewing: Promise<void> | null = null;
  #nativeBatch: boolean | undefined;
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
    this.#lockTtlMs = nonNegative(options.lockTtlMs ?? 10_000, "lockTtlMs", 1);
    this.#lockWaitMs = nonNegative(options.lockWaitMs ?? 0, "lockWaitMs", 0);
    this.#lockSettleMs = nonNegative(options.lockSettleMs ?? 30, "lockSettleMs", 0);
    this.ownerId = options.ownerId ?? `owner-${randomId()}`;
    this.#ownerLabel = options.ownerLabel ?? null;
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#index = new JobIndex({
      retention: options.retention,
      onTouch: (e) => {
        // Not yet in the index means enqueue is creating it: undoing that is removing it.
        if (this.#tx && !this.#tx.has(e)) this.#tx.set(e, snapshot(e, this.#index.entry(e.job.id) !== e));
      },
    });
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
    return this.#mutate(() => this.#index.enqueue(jobs));
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return this.#mutate(() => this.#index.claim(request));
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean> {
    return this.#mutate(() => this.#index.extendLease(lease, leaseMs, now));
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    return this.#mutate(() => this.#index.complete(lease, result, now), now);
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    return this.#mutate(() => this.#index.fail(lease, errorMessage, outcome, now), now);
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    return this.#mutate(() => this.#index.release(lease));
  }

  async get(id: string): Promise<Job | null> {
    return this.#read(() => this.#index.get(id));
  }

  async cancel(id: string, now: number): Promise<boolean> {
    return this.#mutate(() => this.#index.cancel(id, now), now);
  }

  async retry(id: string, now: number): Promise<Job | null> {
    return this.#mutate(() => this.#index.retry(id, now));
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    return this.#read(() => this.#index.list(filter));
  }

  async stats(): Promise<QueueStats> {
    return this.#read(() => this.#index.stats());
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    return this.#read(() => this.#index.nextWakeAt(queues, now));
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
    await this.#renewing;
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
    this.#heartbeat = setInterval(() => {
      // Kept so that close() can wait for it: a lock write landing after close's unlink would
      // leave a stale lock that locks the next process out until it expires.
      const renewal = this.#renewLock().catch(() => {});
      this.#renewing = renewal;
      void renewal.finally(() => {
        if (this.#renewing === renewal) this.#renewing = null;
      });
    }, Math.max(1, Math.floor(this.#lockTtlMs / 3)));
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
    const entries: IndexEntry[] = [];
    for (let i = 0; i < keys.length; i += LOAD_BATCH) {
      const items = await this.#storage.getItems<StoredJob>(keys.slice(i, i + LOAD_BATCH));
      for (const { key, value } of items) {
        const e = parseStored(value);
        if (e) entries.push(e);
        // A record cut short by a crash mid-write is skipped rather than blocking the whole store.
        else this.#logger.warn("unstorage.unreadable_record", { key });
      }
    }
    // Sorting once at open restores insertion order for list() and finish order for retention.
    entries.sort((a, b) => a.seq - b.seq);
    for (const e of entries) this.#index.insert(e);
    this.#index.sortFinished();
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
   * Applies `fn` to the in-memory index, writes every touched job in one setItems, then (when
   * `pruneAt` is given, i.e. the call may have finished a job) applies retention and notifies.
   * A failed write restores the touched entries, so nothing is half-applied.
   */
  #mutate<T>(fn: () => T, pruneAt?: number): Promise<T> {
    return this.#serial(async () => {
      await this.#assertOwner();
      const tx: Tx = new Map();
      this.#tx = tx;
      let result: T;
      try {
        result = fn();
      } catch (error) {
        this.#rollback(tx);
        throw error;
      } finally {
        this.#tx = null;
      }
      if (tx.size === 0) return result;
      try {
        await this.#writeAll([...tx.keys()].map((e) => ({ key: this.#jobKey(e.job.id), value: toStored(e) })));
      } catch (error) {
        const undo = this.#undoWrites(tx);
        this.#rollback(tx);
        await undo;
        throw new StorageError(`UnstorageJobQueue: write failed, nothing was changed: ${message(error)}`, { cause: error });
      }
      if (pruneAt !== undefined) await this.#prune(pruneAt);
      if ([...tx.keys()].some((e) => becameClaimable(e.job))) this.#notify();
      return result;
    });
  }

  /**
   * Writes a batch: one call for drivers with a native batch write; otherwise key by key, waiting
   * for every write to settle before reporting a failure (unstorage's own fallback rejects at the
   * first failure while other writes are still in flight, which would land after the undo).
   */
  async #writeAll(items: { key: string; value: unknown }[]): Promise<void> {
    this.#nativeBatch ??= typeof this.#storage.getMount(this.#jobKey("")).driver.setItems === "function";
    if (this.#nativeBatch) return this.#storage.setItems(items as { key: string; value: string }[]);
    const results = await Promise.allSettled(items.map((i) => this.#storage.setItem(i.key, i.value as string)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
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

  #rollback(tx: Tx): void {
    for (const [e, snap] of tx) {
      this.#index.remove(e);
      if (snap.created) continue;
      e.job = snap.job;
      e.token = snap.token;
      e.leaseExpiresAt = snap.leaseExpiresAt;
      e.finishedAt = snap.finishedAt;
      this.#index.insert(e);
    }
  }

  /** Applies retention (judged by the caller's clock, like every time in the port) and deletes the pruned keys. */
  async #prune(now: number): Promise<void> {
    const removed = this.#index.prune(now);
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

function snapshot(e: IndexEntry, created: boolean): Snapshot {
  return { created, job: { ...e.job }, token: e.token, leaseExpiresAt: e.leaseExpiresAt, finishedAt: e.finishedAt };
}

function toStored(e: IndexEntry): StoredJob {
  return { v: 2, seq: e.seq, token: e.token, leaseExpiresAt: e.leaseExpiresAt, finishedAt: e.finishedAt, job: toJobRecord(e.job) };
}

function parseStored(value: unknown): IndexEntry | null {
  if (!value || typeof value !== "object") return null;
  const s = value as Partial<StoredJob>;
  const r = s.job;
  if ((s.v !== 1 && s.v !== 2) || typeof s.seq !== "number" || !r || typeof r !== "object" || typeof r.id !== "string") return null;
  if (!JOB_STATUSES.includes(r.status) || typeof r.runAt !== "number" || typeof r.createdAt !== "number") return null;
  const job = fromJobRecord(r);
  // Version 1 counted released claims as attempts and kept them across retryJob; as lost leases
  // they would now count toward maxStalls. Keep only the attempts that failures account for.
  if (s.v === 1) job.attempts = Math.min(job.attempts, accountedAttempts(job));
  return {
    job,
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
