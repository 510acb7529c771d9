/**
 * UnstorageJobQueue: the queue port over any unstorage `Storage`, with its scheduling index in
 * memory (the core's JobIndex over LightJobs: no payload, result or metadata) and every change
 * written through before the call returns; whole jobs are read from storage where a call returns
 * one. The owner lock lives in ./owner-lock.ts, the stored format in ./stored-job.ts.
 */
import type { Storage } from "unstorage";
import {
  JobStatus,
  StorageError,
  silentLogger,
  systemClock,
  type BulkAction,
  type BulkFilter,
  type JobChange,
  type JobPage,
  type JobProgress,
  type PageFilter,
  type ClaimRequest,
  type ClaimedJob,
  type Clock,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobQueue,
  type LeaseRef,
  type ListFilter,
  type Logger,
  type QueueStats,
  type RetentionOptions,
} from "../../core/index.ts";
import { JobIndex, withOwnDates } from "../../core/job-index.ts";
import { toJobRecord } from "../../core/job-record.ts";
import { randomId } from "../../core/random-id.ts";
import { becameClaimable } from "../../core/transitions.ts";
import { LightJob } from "./light-job.ts";
import { OwnerLock } from "./owner-lock.ts";
import { StoreKeys, checkMeta, decodeStored, parseBody, parseStored, toHead } from "./stored-job.ts";

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

// Keeps the number of files opened at once bounded on big stores.
const LOAD_BATCH = 256;

/** An index entry of this store: a LightJob, its own job. */
type Entry = LightJob;

/** What an entry looked like before a call changed it, so a failed write can be undone. */
interface Snapshot {
  created: boolean;
  before: LightJob;
}

type Tx = Map<Entry, Snapshot>;

/**
 * A durable {@link JobQueue} over unstorage, owned by one process at a time.
 *
 * Opening (explicitly with {@link UnstorageJobQueue.open}, or implicitly on the first call)
 * takes the owner lock and reads every job's small head key (never a payload) into memory;
 * afterwards claim and enqueue are O(log n) in memory plus batched writes and, for the jobs a
 * call returns or whose payload, result, error or progress it changes, one read of their body
 * keys. Every mutating call is serialized and written through before it resolves; when the write
 * fails, the in-memory change is undone and the call rejects with {@link StorageError}.
 */
export class UnstorageJobQueue implements JobQueue {
  readonly ownerId: string;
  readonly #storage: Storage;
  readonly #keys: StoreKeys;
  readonly #lock: OwnerLock;
  readonly #logger: Logger;
  readonly #clock: Clock;

  readonly #index: JobIndex;
  /**
   * The body text of each RUNNING job as last written, so completing, failing or reporting
   * progress parses it instead of reading it again. Text, so nothing is shared with the job a
   * handler holds; bounded by the jobs running; dropped when a job stops running or leaves.
   */
  readonly #running = new Map<string, string>();
  /** The write-through set of the operation in progress (see #mutate). */
  #tx: Tx | null = null;
  readonly #listeners = new Set<() => void>();
  readonly #watchers = new Set<(change: JobChange) => void>();

  #opening: Promise<void> | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #nativeBatch: boolean | undefined;
  #closed = false;

  constructor(options: UnstorageJobQueueOptions) {
    if (!options || typeof options.storage?.getItem !== "function") {
      throw new TypeError("UnstorageJobQueue: options.storage must be an unstorage Storage (createStorage(...))");
    }
    this.#storage = options.storage;
    const prefix = (options.prefix ?? "").replace(/:+$/, "");
    this.#keys = new StoreKeys(prefix ? `${prefix}:` : "");
    this.ownerId = options.ownerId ?? `owner-${randomId()}`;
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#lock = new OwnerLock({
      storage: this.#storage,
      key: this.#keys.lock,
      storeName: prefix,
      ownerId: this.ownerId,
      ownerLabel: options.ownerLabel ?? null,
      ttlMs: nonNegative(options.lockTtlMs ?? 10_000, "lockTtlMs", 1),
      waitMs: nonNegative(options.lockWaitMs ?? 0, "lockWaitMs", 0),
      settleMs: nonNegative(options.lockSettleMs ?? 30, "lockSettleMs", 0),
      logger: this.#logger,
      clock: this.#clock,
    });
    this.#index = new JobIndex({
      retention: options.retention,
      adopt: (job) => LightJob.of(job),
      entry: (job, seq) => Object.assign(job as LightJob, { seq }),
      onTouch: (e) => {
        // Not yet in the index means enqueue is creating it: undoing that is removing it.
        if (this.#tx && !this.#tx.has(e as Entry)) this.#tx.set(e as Entry, { created: this.#index.entry(e.job.id) !== e, before: (e as Entry).clone() });
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
    return this.#mutate(
      () => this.#index.enqueue(jobs),
      undefined,
      async (results, written) => Promise.all(results.map(async (r) => (r.created ? r : { job: await this.#whole(r.job.id, written), created: false }))),
    );
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return this.#mutate(
      () => this.#index.claim(request),
      undefined,
      async (claimed, written) => Promise.all(claimed.map(async (c) => ({ ...c, job: await this.#whole(c.jobId, written) }))),
    );
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    return this.#mutate(() => this.#index.extendLease(lease, leaseMs, now));
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    return this.#changed(lease.jobId, "completed", await this.#mutate(() => this.#index.complete(lease, result, now), now));
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    return this.#changed(lease.jobId, outcome.status, await this.#mutate(() => this.#index.fail(lease, errorMessage, outcome, now), now));
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    return this.#mutate(() => this.#index.release(lease));
  }

  async get(id: string): Promise<Job | null> {
    return this.#read(async () => (this.#index.entry(id) ? this.#whole(id) : null));
  }

  async cancel(id: string, now: number, options?: { running?: boolean }): Promise<boolean> {
    return this.#changed(id, "cancelled", await this.#mutate(() => this.#index.cancel(id, now, options), now));
  }

  /** Pauses or resumes a queue; the paused list is one key, written before the change is visible. */
  async setPaused(queueName: string, paused: boolean, _now: number): Promise<boolean> {
    return this.#serial(async () => {
      await this.#assertOwner();
      if (!this.#index.setPaused(queueName, paused)) return false;
      try {
        await this.#storage.setItem(this.#keys.paused, this.#index.pausedQueues());
      } catch (error) {
        this.#index.setPaused(queueName, !paused);
        throw new StorageError(`UnstorageJobQueue: write failed, nothing was changed: ${message(error)}`, { cause: error });
      }
      if (!paused) this.#notify();
      return true;
    });
  }

  async progress(lease: LeaseRef, value: JobProgress, _now: number): Promise<boolean> {
    return this.#changed(lease.jobId, "running", await this.#mutate(() => this.#index.progress(lease, value)));
  }

  /** Retry and cancel write every changed job in one batch; purge deletes the keys of the removed jobs. */
  async bulk(action: BulkAction, filter: BulkFilter, now: number): Promise<number> {
    if (action !== "purge") return this.#mutate(() => this.#index.bulk(action, filter, now).count, now);
    return this.#serial(async () => {
      await this.#assertOwner();
      const { count, removed } = this.#index.bulk(action, filter, now);
      const results = await Promise.allSettled(removed.flatMap((e) => this.#removeKeys(e.job.id)));
      const failed = results.filter((r) => r.status === "rejected").length;
      // Gone from the index either way; a key whose delete failed is gone after the next open's purge too.
      if (failed) this.#logger.warn("unstorage.purge_failed", { failed });
      return count;
    });
  }

  async listPage(filter: PageFilter = {}): Promise<JobPage> {
    return this.#read(async () => {
      const page = this.#index.listPage(filter);
      return { ...page, jobs: await this.#wholes(page.jobs) };
    });
  }

  watch(listener: (change: JobChange) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** Tells watchers about a change that happened (`status` as the call left the job; retention may have removed it since). */
  #changed(jobId: string, status: JobChange["status"], ok: boolean): boolean {
    if (ok) for (const w of this.#watchers) w({ jobId, status });
    return ok;
  }

  async retry(id: string, now: number): Promise<Job | null> {
    return this.#mutate(
      () => this.#index.retry(id, now),
      undefined,
      async (job, written) => job && this.#whole(job.id, written),
    );
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    return this.#read(async () => this.#wholes(this.#index.list(filter)));
  }

  async countWaiting(): Promise<number> {
    return this.#read(async () => this.#index.waitingCount());
  }

  async stats(): Promise<QueueStats> {
    return this.#read(async () => this.#index.stats());
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    return this.#read(async () => this.#index.nextWakeAt(queues, now));
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Waits for pending writes, stops the heartbeat and gives the lock up. The storage stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lock.stopRenewals();
    this.#listeners.clear();
    await this.#tail.catch(() => {});
    const opening = this.#opening;
    if (!opening) return;
    await opening.catch(() => {});
    await this.#lock.release();
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
    await this.#lock.acquire();
    try {
      await checkMeta(this.#storage, this.#keys.meta, this.#clock);
      await this.#load();
    } catch (error) {
      await this.#lock.drop();
      throw error instanceof StorageError ? error : new StorageError(`UnstorageJobQueue: cannot load the store: ${message(error)}`, { cause: error });
    }
    this.#lock.startHeartbeat();
  }

  /** Refuses to write without a live lock (see OwnerLock.assertOwner). */
  async #assertOwner(): Promise<void> {
    await this.#opened();
    await this.#lock.assertOwner();
  }

  /**
   * Reads every head key (small: no payload) into the index. A key of the earlier one-key formats
   * is upgraded: its body key is written first, then its head, so a crash in between leaves the
   * old record to upgrade again. Body keys without a head (a crash during an enqueue that never
   * returned) are deleted.
   */
  async #load(): Promise<void> {
    const base = this.#keys.jobs;
    const keys = await this.#storage.getKeys(base);
    const entries: Entry[] = [];
    for (let i = 0; i < keys.length; i += LOAD_BATCH) {
      const batch = keys.slice(i, i + LOAD_BATCH);
      // Raw reads: see decodeStored for why unstorage's parsing is bypassed.
      const raws = await Promise.all(batch.map((key) => this.#storage.getItemRaw(key)));
      const unreadable: Promise<void>[] = [];
      const upgrades: { entry: Entry; job: Job }[] = [];
      for (const [n, key] of batch.entries()) {
        const raw = raws[n];
        const parsed = parseStored(decodeStored(raw));
        if (parsed) {
          entries.push(parsed.entry);
          if (parsed.legacy) upgrades.push({ entry: parsed.entry, job: parsed.legacy });
        }
        // A record that cannot be read (cut short, wrong shape) must not keep the store from opening.
        else if (raw !== null && raw !== undefined) unreadable.push(this.#setAside(key, raw));
      }
      await Promise.all(unreadable);
      if (upgrades.length > 0) {
        await this.#writeAll(upgrades.map((u) => ({ key: this.#keys.body(u.job.id), value: toJobRecord(u.job) })));
        await this.#writeAll(upgrades.map((u) => ({ key: this.#keys.job(u.job.id), value: toHead(u.entry) })));
      }
    }
    const bodies = new Set(entries.map((e) => this.#keys.body(e.job.id)));
    const orphans = (await this.#storage.getKeys(this.#keys.bodies)).filter((key) => !bodies.has(key));
    await Promise.all(orphans.map((key) => this.#storage.removeItem(key)));
    // Sorting once at open restores insertion order for list() and finish order for retention.
    entries.sort((a, b) => a.seq - b.seq);
    const paused = await this.#storage.getItem<string[]>(this.#keys.paused);
    if (Array.isArray(paused)) for (const name of paused) if (typeof name === "string") this.#index.setPaused(name, true);
    for (const e of entries) this.#index.insert(e);
    this.#index.sortFinished();
    await this.#prune(this.#clock());
  }

  /** The whole job `id` (in the index): its body key's record under the head's fields. */
  async #whole(id: string, written?: Map<string, Job>): Promise<Job> {
    const known = written?.get(id);
    if (known) return withOwnDates(known);
    const e = this.#index.entry(id) as Entry;
    return e.merge(await this.#readBody(id));
  }

  /** The whole jobs of index copies, in their order. */
  async #wholes(jobs: readonly Job[]): Promise<Job[]> {
    const out: Job[] = [];
    for (let i = 0; i < jobs.length; i += LOAD_BATCH) out.push(...(await Promise.all(jobs.slice(i, i + LOAD_BATCH).map((j) => this.#whole(j.id)))));
    return out;
  }

  /** The job's body as last written: from #running for a running job, else read. */
  #bodyOf(id: string): Job | null | Promise<Job | null> {
    const text = this.#running.get(id);
    return text === undefined ? this.#readBody(id) : parseBody(decodeStored(text));
  }

  /** A body key's job; null (logged) when it is missing or unreadable, so the head's fields stand alone. */
  async #readBody(id: string): Promise<Job | null> {
    const key = this.#keys.body(id);
    let raw: unknown;
    try {
      raw = await this.#storage.getItemRaw(key);
    } catch (error) {
      throw new StorageError(`UnstorageJobQueue: cannot read ${key}, nothing was changed: ${message(error)}`, { cause: error });
    }
    const job = parseBody(decodeStored(raw));
    if (!job) this.#logger.warn("unstorage.unreadable_body", { key });
    return job;
  }

  /** Deletes a job's head and body keys. */
  #removeKeys(id: string): Promise<unknown>[] {
    this.#running.delete(id);
    return [this.#storage.removeItem(this.#keys.job(id)), this.#storage.removeItem(this.#keys.body(id))];
  }

  /**
   * Moves an unreadable record to the corrupt key beside the jobs (kept byte for byte for
   * inspection) and logs both keys. Runs under the owner lock at open; if the move fails the
   * record stays where it is and is skipped, as before.
   */
  async #setAside(key: string, raw: unknown): Promise<void> {
    const movedTo = this.#keys.corruptOf(key);
    try {
      if (typeof raw === "string" || raw instanceof Uint8Array) await this.#storage.setItemRaw(movedTo, raw);
      else await this.#storage.setItem(movedTo, raw as string);
      await this.#storage.removeItem(key);
      this.#logger.warn("unstorage.unreadable_record", { key, movedTo });
    } catch (error) {
      this.#logger.warn("unstorage.unreadable_record", { key, movedTo: null, error: message(error) });
    }
  }

  // ---- serialized read/modify/write ----

  /**
   * Runs `fn` after every earlier call, so reads see committed state only. Calls made before
   * close() still run; calls made after it are refused.
   */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StorageError("UnstorageJobQueue is closed"));
    const run = this.#tail.then(fn, fn);
    // Not run.catch(): that would keep the last call's result (e.g. a batch of payloads) alive.
    this.#tail = run.then(noop, noop);
    return run;
  }

  #read<T>(fn: () => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      await this.#opened();
      return fn();
    });
  }

  /**
   * Applies `fn` to the in-memory index and writes every touched job: first the body keys of the
   * jobs whose stored fields changed (each read, merged and written whole), then all their head
   * keys. Then `finish` turns the index's light copies in the result into whole jobs, and (when
   * `pruneAt` is given, i.e. the call may have finished a job) retention applies and listeners
   * hear of it. A failed read or write restores the touched entries, so nothing is half-applied.
   */
  #mutate<T>(fn: () => T, pruneAt?: number, finish?: (result: T, written: Map<string, Job>) => Promise<T>): Promise<T> {
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
      const written = await this.#commit(tx);
      if (pruneAt !== undefined) await this.#prune(pruneAt);
      if ([...tx.keys()].some((e) => becameClaimable(e.job))) this.#notify();
      return finish ? finish(result, written) : result;
    });
  }

  /** Writes the touched entries (see #mutate); returns the whole jobs whose bodies it wrote, by id. */
  async #commit(tx: Tx): Promise<Map<string, Job>> {
    const written = new Map<string, Job>();
    if (tx.size === 0) return written;
    const changed = [...tx].filter(([e]) => e.changes !== null);
    let before: (Job | null)[] = [];
    try {
      before = await Promise.all(changed.map(([e, snap]) => (snap.created ? null : this.#bodyOf(e.id))));
      const wholes = changed.map(([e], n) => e.merge(before[n]!));
      const texts = wholes.map((job) => JSON.stringify(toJobRecord(job)));
      if (wholes.length > 0) await this.#writeAll(wholes.map((job, n) => ({ key: this.#keys.body(job.id), value: texts[n] })));
      // A head that did not change (a progress report changes the body only) is not rewritten.
      const heads: { key: string; value: unknown }[] = [];
      for (const [e, snap] of tx) {
        const head = toHead(e);
        if (snap.created || JSON.stringify(head) !== JSON.stringify(toHead(snap.before))) heads.push({ key: this.#keys.job(e.id), value: head });
      }
      if (heads.length > 0) await this.#writeAll(heads);
      for (const [n, [e]] of changed.entries()) {
        written.set(e.id, wholes[n]!);
        e.changes = null; // stored now
        if (e.status === JobStatus.RUNNING) this.#running.set(e.id, texts[n]!);
      }
      for (const e of tx.keys()) if (e.status !== JobStatus.RUNNING || this.#index.entry(e.id) !== e) this.#running.delete(e.id);
    } catch (error) {
      const undo = this.#undoWrites(tx, before);
      this.#rollback(tx);
      await undo;
      // A StorageError here is a failed body read (#readBody).
      throw error instanceof StorageError ? error : new StorageError(`UnstorageJobQueue: write failed, nothing was changed: ${message(error)}`, { cause: error });
    }
    return written;
  }

  /**
   * Writes a batch: one call for drivers with a native batch write; otherwise key by key, waiting
   * for every write to settle before reporting a failure (unstorage's own fallback rejects at the
   * first failure while other writes are still in flight, which would land after the undo).
   */
  async #writeAll(items: { key: string; value: unknown }[]): Promise<void> {
    this.#nativeBatch ??= typeof this.#storage.getMount(this.#keys.job("")).driver.setItems === "function";
    if (this.#nativeBatch) return this.#storage.setItems(items as { key: string; value: string }[]);
    const results = await Promise.allSettled(items.map((i) => this.#storage.setItem(i.key, i.value as string)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /**
   * unstorage writes a batch key by key, so part of a failed batch may have landed: put those
   * keys back as they were (best effort; must run before the entries are restored in memory).
   * `before` holds the bodies read for the changed entries, in #commit's order.
   */
  async #undoWrites(tx: Tx, before: (Job | null)[]): Promise<void> {
    const writes: Promise<unknown>[] = [];
    let n = 0;
    for (const [e, snap] of tx) {
      const changed = e.changes !== null;
      const body = changed ? before[n++] : null;
      if (snap.created) {
        writes.push(...this.#removeKeys(e.job.id));
        continue;
      }
      writes.push(this.#storage.setItem(this.#keys.job(e.id), toHead(snap.before)));
      if (body) writes.push(this.#storage.setItem(this.#keys.body(e.job.id), toJobRecord(body)));
    }
    const failed = (await Promise.allSettled(writes)).filter((r) => r.status === "rejected").length;
    if (failed) this.#logger.error("unstorage.undo_failed", { keys: failed });
  }

  #rollback(tx: Tx): void {
    for (const [e, snap] of tx) {
      this.#index.remove(e);
      if (snap.created) continue;
      e.restore(snap.before);
      this.#index.insert(e);
    }
  }

  /** Applies retention (judged by the caller's clock, like every time in the port) and deletes the pruned keys. */
  async #prune(now: number): Promise<void> {
    const removed = this.#index.prune(now);
    if (removed.length === 0) return;
    // Best effort: a key that survives a failed delete is pruned again at the next open.
    const results = await Promise.allSettled(removed.flatMap((e) => this.#removeKeys(e.job.id)));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed) this.#logger.warn("unstorage.prune_failed", { failed });
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

function noop(): void {}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function nonNegative(value: number, name: string, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new RangeError(`UnstorageJobQueue: ${name} must be a number >= ${min}, got ${String(value)}`);
  }
  return value;
}
