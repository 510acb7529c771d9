/**
 * IndexedDBJobQueue: the queue port on IndexedDB. Each mutating call is one readwrite
 * transaction (./connection.ts) awaiting only IndexedDB requests; lease-bound calls share
 * transactions by group commit (./group-commit.ts); the layout and migrations are ./schema.ts.
 */
import type { IDBPObjectStore } from "idb";
import { randomId } from "../../core/random-id.ts";
import * as T from "../../core/transitions.ts";
import {
  DEFAULT_RETENTION,
  JobStatus,
  StorageError,
  WAITING_STATUSES,
  type ClaimRequest,
  type ClaimedJob,
  type EnqueueResult,
  type FailureOutcome,
  isFinished,
  type BulkAction,
  type BulkFilter,
  type Job,
  type JobChange,
  type JobPage,
  type JobProgress,
  type JobQueue,
  type PageFilter,
  type LeaseRef,
  type ListFilter,
  type QueueStats,
  type RetentionOptions,
} from "../../core/index.ts";
import { Connection, type WriteTx } from "./connection.ts";
import { toStorageError } from "./errors.ts";
import { GroupCommit, type OpResult } from "./group-commit.ts";
import {
  COUNTERS_KEY,
  DEBOUNCE_INDEX,
  FINISHED_INDEX,
  FINISHED_KEYED_INDEX,
  FLOW,
  GATE_WAKE_INDEX,
  KEY_RUNNING_INDEX,
  PARKED_INDEX,
  IDEMPOTENCY_INDEX,
  IDEM_KEY_INDEX,
  JOBS,
  META,
  PAUSED,
  QUEUE_SEQ_INDEX,
  SEQ_INDEX,
  STATUS_SEQ_INDEX,
  QUEUE_STATUS_INDEX,
  READY_INDEX,
  STATUS_INDEX,
  TIMED_INDEX,
  markIdle,
  markParked,
  markReady,
  markTimed,
  newRow,
  rowToJob,
  type Counters,
  type JobRow,
  type RateGate,
} from "./schema.ts";
import { ChangeFeed, WakeSignal } from "./wake.ts";

/** Options of {@link IndexedDBJobQueue}. */
export interface IndexedDBJobQueueOptions {
  /** Database name; every tab using the same name shares one queue (default "portico-jobs"). */
  dbName?: string;
  /** How many finished (completed or cancelled) jobs to keep, and for how long. */
  retention?: RetentionOptions;
  /**
   * How long to wait when another tab keeps an older version of the database open and so
   * blocks a schema upgrade, before failing with a StorageError (default 5,000 ms).
   */
  blockedTimeoutMs?: number;
  /**
   * Called after an enqueue stored new jobs (not for idempotent repeats), with those jobs. A
   * page passes `() => requestJobSync()` from portico-jobs/service-worker so that its service
   * worker runs them, also after the tab is closed. Its errors and rejections are ignored.
   */
  onEnqueue?: (jobs: readonly Job[]) => void | Promise<void>;
}

/** A lease-bound call waiting for the next group commit. */
interface LeaseOp {
  action: string;
  lease: LeaseRef;
  change: (row: JobRow) => void;
  /** Set for calls that finish the job: retention runs at this time. */
  pruneAt: number | undefined;
  /** A renewal: answers "cancelled" when the job was cancelled under this lease. */
  renewal?: boolean;
}

/**
 * Issues a request without waiting for it: its failure aborts the transaction, which #write
 * reports, so the request's own rejection is only silenced here.
 */
const quiet = (request: Promise<unknown>): void => void request.catch(() => undefined);

// Sorts after every number, string and Date in IndexedDB key order: the open end of a prefix range.
const MAX_KEY: [] = [];

/**
 * A {@link JobQueue} in IndexedDB, shared by every tab of the origin that opens the same
 * `dbName`. Opening is lazy: the first call opens (and if needed upgrades) the database.
 *
 * @example
 * ```ts
 * const queue = new IndexedDBJobQueue({ dbName: "my-app-jobs" });
 * const jobs = new JobService({ queue });
 * const worker = new WorkerManager({ queue, handlers: [sendItem] });
 * await worker.start();
 * ```
 */
export class IndexedDBJobQueue implements JobQueue {
  /** The database name this queue lives in. */
  readonly dbName: string;
  readonly #retention: Required<RetentionOptions>;
  readonly #wake: WakeSignal;
  readonly #changes: ChangeFeed<JobChange>;
  readonly #db: Connection;
  readonly #leaseOps: GroupCommit<LeaseOp>;
  readonly #onEnqueue: IndexedDBJobQueueOptions["onEnqueue"];
  #lastSeq = 0;

  constructor(options: IndexedDBJobQueueOptions = {}) {
    const dbName = options.dbName ?? "portico-jobs";
    if (typeof dbName !== "string" || dbName.length === 0) throw new StorageError("IndexedDBJobQueue: options.dbName must be a non-empty string");
    this.dbName = dbName;
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#db = new Connection(dbName, options.blockedTimeoutMs ?? 5_000);
    this.#leaseOps = new GroupCommit(
      (batch) => this.#runLeaseOps(batch),
      (error, op) => toStorageError(error, this.dbName, op.action),
    );
    this.#wake = new WakeSignal(`portico-jobs:${dbName}`);
    this.#changes = new ChangeFeed(`portico-jobs:${dbName}:changes`);
    if (options.onEnqueue !== undefined && typeof options.onEnqueue !== "function") throw new StorageError("IndexedDBJobQueue: options.onEnqueue must be a function");
    this.#onEnqueue = options.onEnqueue;
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    if (jobs.length === 0) {
      this.#db.assertOpen();
      return [];
    }
    let created = 0;
    let duplicateId: string | null = null;
    const debounced = jobs.some((j) => j.debounce !== undefined);
    const results = await this.#db.write(`store ${jobs.length} job(s)`, [JOBS], async (tx) => {
      const store = tx.objectStore(JOBS);
      // Debounced jobs: the waiting job with the key takes each one's place (looked up first).
      const replaced = new Map<number, JobRow>();
      if (debounced) {
        const index = store.index(DEBOUNCE_INDEX);
        for (let i = 0; i < jobs.length; i++) {
          const job = jobs[i]!;
          if (job.debounce === undefined) continue;
          const row = (await index.get([job.queueName, job.debounce.key])) as JobRow | undefined;
          if (!row || !T.isClaimable(row.job) || row.token !== null) continue;
          T.debounceInto(row, job);
          if (row.job.status === JobStatus.PENDING) markReady(row);
          else markTimed(row, row.job.runAt.getTime());
          quiet(store.put(row));
          replaced.set(i, row);
        }
      }
      // Look up every idempotency key first (all requests in flight at once), then write.
      let existing: (JobRow | undefined | null)[] = [];
      if (jobs.some((j) => j.idempotencyKey !== null)) {
        const idem = store.index(IDEMPOTENCY_INDEX);
        existing = (await Promise.all(jobs.map((j) => (j.idempotencyKey === null ? null : idem.get([j.queueName, j.idempotencyKey]))))) as (JobRow | undefined | null)[];
      }
      const out: EnqueueResult[] = [];
      const batchKeys = new Map<string, number>();
      jobs.forEach((job, i) => {
        const debouncedRow = replaced.get(i);
        if (debouncedRow) {
          out.push({ job: { ...debouncedRow.job }, created: false });
          return;
        }
        const found = existing[i];
        if (found) {
          out.push({ job: rowToJob(found), created: false });
          return;
        }
        if (job.idempotencyKey !== null) {
          const key = `${job.queueName}\u0000${job.idempotencyKey}`;
          const first = batchKeys.get(key);
          if (first !== undefined) {
            out.push({ job: out[first]!.job, created: false });
            return;
          }
          batchKeys.set(key, out.length);
        }
        // add (not put): an id that already exists fails the request, which aborts the whole batch.
        store.add(newRow(job, this.#nextSeq())).catch((error: unknown) => {
          if ((error as { name?: string } | null)?.name === "ConstraintError") duplicateId ??= job.id;
        });
        // The stored row is a structured clone, so the caller's object can serve as the result.
        out.push({ job, created: true });
        created++;
      });
      return out;
    }).catch((error: unknown) => {
      if (duplicateId === null) throw error;
      throw new StorageError(`IndexedDB "${this.dbName}": job id ${duplicateId} already exists; nothing of the batch was stored`, { cause: error });
    });
    if (created > 0) {
      this.#wake.notify();
      if (this.#onEnqueue) this.#tellEnqueued(results.filter((r) => r.created).map((r) => r.job));
    }
    return results;
  }

  /** Runs the onEnqueue hook; the jobs are stored already, so its failure must not fail the enqueue. */
  #tellEnqueued(jobs: Job[]): void {
    try {
      void Promise.resolve(this.#onEnqueue!(jobs)).catch(() => undefined);
    } catch {
      // Ignored, as documented.
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    const { now, leaseMs, limit } = request;
    if (limit <= 0 || request.queues.length === 0) return [];
    return this.#db.write("claim jobs", [JOBS, FLOW, PAUSED], async (tx) => {
      const store = tx.objectStore(JOBS);
      const paused = tx.objectStore(PAUSED);
      const ready = store.index(READY_INDEX);
      const timed = store.index(TIMED_INDEX);
      const out: ClaimedJob[] = [];
      const flow = new ClaimGates(tx, now);
      await flow.openDueGates();
      for (const queueName of request.queues) {
        // A paused queue (paused in any tab: the record is in this transaction) is skipped.
        if ((await paused.getKey(queueName)) !== undefined) continue;
        // Move jobs whose time has come (due schedules, retries, expired leases) into the ready
        // index; an expired job stays RUNNING with its old token until someone claims it.
        const due = IDBKeyRange.bound([queueName], [queueName, now, MAX_KEY]);
        for (let cursor = await timed.openCursor(due); cursor; cursor = await cursor.continue()) {
          const row = cursor.value as JobRow;
          markReady(row);
          quiet(cursor.update(row));
        }
        const range = IDBKeyRange.bound([queueName], [queueName, MAX_KEY]);
        // A gated row that cannot start is parked (out of the ready index), so a claim walks at
        // most `limit` rows plus the rows it parks, each parked once.
        for (let cursor = await ready.openCursor(range); cursor && out.length < limit; cursor = await cursor.continue()) {
          const row = cursor.value as JobRow;
          if (T.isGated(row.job)) {
            const gate = await flow.blocked(row);
            if (gate !== null) {
              if (row.token !== null) {
                // An expired lease waits for its key like the others: its lease is lost either way.
                row.job.status = JobStatus.PENDING;
                row.token = null;
              }
              markParked(row, gate);
              quiet(cursor.update(row));
              continue;
            }
          }
          const token = randomId();
          const job = row.job;
          T.claim(row, token, now, leaseMs);
          markTimed(row, row.leaseExpiresAt);
          quiet(cursor.update(row));
          if (T.isGated(row.job)) await flow.started(row);
          // put cloned the row, so handing out `job` cannot alias the store.
          out.push({ jobId: job.id, token, job, leaseExpiresAt: row.leaseExpiresAt });
        }
        if (out.length >= limit) break;
      }
      await flow.save();
      return out;
    });
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    return this.#leaseOps.submit({
      action: "extend a lease",
      lease,
      change: (row) => {
        T.extendLease(row, now, leaseMs);
        markTimed(row, row.leaseExpiresAt);
      },
      pruneAt: undefined,
      renewal: true,
    });
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    const ok = await this.#withLease(
      "complete a job",
      lease,
      (row) => {
        T.complete(row, result, now);
        this.#settle(row, now);
      },
      now,
    );
    if (ok) this.#changes.publish({ jobId: lease.jobId, status: JobStatus.COMPLETED });
    return ok;
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const ok = await this.#withLease("record a failure", lease, (row) => {
      T.fail(row, errorMessage, outcome, now);
      if (T.isClaimable(row.job)) markTimed(row, row.job.runAt.getTime());
      else this.#settle(row, now);
    });
    if (ok && outcome.status === JobStatus.RETRYING) this.#wake.notify();
    if (ok) this.#changes.publish({ jobId: lease.jobId, status: outcome.status });
    return ok;
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    const ok = await this.#withLease("release a job", lease, (row) => {
      T.release(row);
      markReady(row);
    });
    if (ok) this.#wake.notify();
    return ok;
  }

  async get(id: string): Promise<Job | null> {
    const row = (await this.#db.read("read a job", (db) => db.get(JOBS, id))) as JobRow | undefined;
    return row ? rowToJob(row) : null;
  }

  async cancel(id: string, now: number, options: { running?: boolean } = {}): Promise<boolean> {
    const running = options.running === true;
    const ok = await this.#db.write("cancel a job", [JOBS, META], async (tx) => {
      const store = tx.objectStore(JOBS);
      const row = (await store.get(id)) as JobRow | undefined;
      if (!row || !T.canCancel(row.job, running)) return false;
      const key = row.job.status === JobStatus.RUNNING ? row.job.concurrencyKey : undefined;
      T.cancel(row);
      this.#settle(row, now);
      quiet(store.put(row));
      // A running job held a slot of its concurrency key: the next parked job may start.
      if (key !== undefined) await unpark(store, `c${key}`, 1);
      await this.#prune(tx, now, row.finished ? 1 : 0);
      return true;
    });
    if (ok) this.#changes.publish({ jobId: id, status: JobStatus.CANCELLED });
    return ok;
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const job = await this.#db.write("retry a job", [JOBS], async (tx) => {
      const store = tx.objectStore(JOBS);
      const row = (await store.get(id)) as JobRow | undefined;
      if (!row || !T.canRedrive(row.job)) return null;
      T.redrive(row, now);
      markReady(row);
      await store.put(row);
      return row.job;
    });
    if (job) this.#wake.notify();
    return job;
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    const limit = filter.limit ?? 100;
    if (limit <= 0) return [];
    return this.#db.read("list jobs", async (db) => {
      const tx = db.transaction(JOBS, "readonly");
      const store = tx.objectStore(JOBS);
      const { jobType } = filter;
      // Only jobType is checked row by row.
      const { source, range } = narrowest(store, filter);
      if (jobType === undefined) return ((await source.getAll(range, limit)) as JobRow[]).map(rowToJob);
      const out: Job[] = [];
      for (let cursor = await source.openCursor(range); cursor && out.length < limit; cursor = await cursor.continue()) {
        const row = cursor.value as JobRow;
        if (row.job.jobType === jobType) out.push(rowToJob(row));
      }
      return out;
    });
  }

  async stats(): Promise<QueueStats> {
    return this.#db.read("count jobs", async (db) => {
      const tx = db.transaction([JOBS, PAUSED], "readonly");
      const index = tx.objectStore(JOBS).index(QUEUE_STATUS_INDEX);
      const paused = (await tx.objectStore(PAUSED).getAllKeys()) as string[];
      // One key per distinct (queue, status) pair, then a native count of each.
      const pairs: [string, JobStatus][] = [];
      for (let c = await index.openKeyCursor(null, "nextunique"); c; c = await c.continue()) pairs.push(c.key as [string, JobStatus]);
      const counts = await Promise.all(pairs.map((p) => index.count(IDBKeyRange.only(p))));
      return T.foldStats(
        pairs.map(([queueName, status], i) => [queueName, status, counts[i]!] as const),
        paused,
      );
    });
  }

  /**
   * Waiting jobs (PENDING, SCHEDULED, RETRYING) in every queue: three native counts over the
   * status index in one read transaction, so every tab's and the service worker's writes count.
   */
  async countWaiting(): Promise<number> {
    return this.#db.read("count waiting jobs", async (db) => {
      const index = db.transaction(JOBS, "readonly").objectStore(JOBS).index(STATUS_INDEX);
      const counts = await Promise.all(WAITING_STATUSES.map((s) => index.count(IDBKeyRange.only(s))));
      return counts.reduce((a, b) => a + b, 0);
    });
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    if (queues.length === 0) return null;
    return this.#db.read("look for due jobs", async (db) => {
      const tx = db.transaction([JOBS, FLOW, PAUSED], "readonly");
      const store = tx.objectStore(JOBS);
      const ready = store.index(READY_INDEX);
      const timed = store.index(TIMED_INDEX);
      const paused = tx.objectStore(PAUSED);
      let best: number | null = null;
      for (const q of queues) {
        if ((await paused.getKey(q)) !== undefined) continue;
        if (await ready.openKeyCursor(IDBKeyRange.bound([q], [q, MAX_KEY]))) return now;
        // The first key of the queue's timed range is its earliest wake-up.
        const first = await timed.openKeyCursor(IDBKeyRange.bound([q], [q, MAX_KEY]));
        if (first) {
          const at = (first.key as [string, number, number])[1];
          if (best === null || at < best) best = at;
        }
      }
      // A rate window that moves on wakes its parked jobs (rate keys span queues).
      const gate = await tx.objectStore(FLOW).index(GATE_WAKE_INDEX).openKeyCursor();
      if (gate) {
        const at = Math.max(gate.key as number, now);
        if (best === null || at < best) best = at;
      }
      return best;
    });
  }

  /** Calls `listener` when jobs may have become claimable: an enqueue here or in another tab, or `online`. */
  subscribe(listener: () => void): () => void {
    return this.#wake.subscribe(listener);
  }

  /** Pauses or resumes `queueName` for every tab's claims: one record in the paused store. */
  async setPaused(queueName: string, paused: boolean, now: number): Promise<boolean> {
    if (typeof queueName !== "string" || queueName.length === 0) throw new StorageError("IndexedDBJobQueue.setPaused: queueName must be a non-empty string");
    const changed = await this.#db.write(paused ? "pause a queue" : "resume a queue", [PAUSED], async (tx) => {
      const store = tx.objectStore(PAUSED);
      const was = (await store.getKey(queueName)) !== undefined;
      if (was === paused) return false;
      if (paused) quiet(store.put(now, queueName));
      else quiet(store.delete(queueName));
      return true;
    });
    if (changed && !paused) this.#wake.notify();
    return changed;
  }

  /** Stores the holder's progress on the job; false when the lease was lost. Group-committed. */
  async progress(lease: LeaseRef, value: JobProgress, _now: number): Promise<boolean> {
    const ok = await this.#withLease("report progress", lease, (row) => T.progress(row, value));
    if (ok) this.#changes.publish({ jobId: lease.jobId, status: JobStatus.RUNNING });
    return ok;
  }

  /**
   * Applies `action` to every job matching `filter` in one readwrite transaction, walking the
   * narrowest index for the filter (bulk actions are rare and operator-driven); returns the count.
   */
  async bulk(action: BulkAction, filter: BulkFilter, now: number): Promise<number> {
    if (action !== "retry" && action !== "cancel" && action !== "purge") throw new StorageError(`IndexedDBJobQueue.bulk: unknown action ${String(action)}`);
    const { status, queueName, jobType } = filter;
    const before = filter.olderThan?.getTime();
    if (status === undefined && queueName === undefined && jobType === undefined && before === undefined) {
      throw new StorageError("IndexedDBJobQueue.bulk: the filter is empty (set status, queueName, jobType or olderThan)");
    }
    const changed: JobChange[] = [];
    const count = await this.#db.write(`${action} jobs`, [JOBS, META], async (tx) => {
      const store = tx.objectStore(JOBS);
      const { source, range } = narrowest(store, filter);
      let n = 0;
      let cancelled = 0;
      let counted = 0;
      let purgedFinished = 0;
      const freed: string[] = [];
      for (let c = await source.openCursor(range); c; c = await c.continue()) {
        const row = c.value as JobRow;
        const j = row.job;
        if (status !== undefined && j.status !== status) continue;
        if (jobType !== undefined && j.jobType !== jobType) continue;
        if (before !== undefined && !(j.createdAt.getTime() < before)) continue;
        if (action === "retry") {
          if (!T.canRedrive(j)) continue;
          T.redrive(row, now);
          markReady(row);
          quiet(c.update(row));
        } else if (action === "cancel") {
          if (!T.canCancel(j, true)) continue;
          if (j.status === JobStatus.RUNNING && j.concurrencyKey !== undefined) freed.push(j.concurrencyKey);
          T.cancel(row);
          this.#settle(row, now);
          quiet(c.update(row));
          cancelled++;
          // Only unkeyed rows are in the counted finished index (keyed ones wait out the window).
          if (row.finished) counted++;
        } else {
          if (!isFinished(j.status)) continue;
          if (row.finished) purgedFinished++;
          quiet(c.delete());
        }
        changed.push({ jobId: j.id, status: j.status });
        n++;
      }
      for (const key of freed) await unpark(store, `c${key}`, 1);
      if (cancelled > 0) await this.#prune(tx, now, counted);
      if (purgedFinished > 0) {
        // Purged rows left the finished index: the retention counter follows.
        const meta = tx.objectStore(META);
        const counters = ((await meta.get(COUNTERS_KEY)) as Counters | undefined) ?? { finished: 0 };
        quiet(meta.put({ ...counters, finished: Math.max(0, counters.finished - purgedFinished) } satisfies Counters, COUNTERS_KEY));
      }
      return n;
    });
    if (action === "retry" && count > 0) this.#wake.notify();
    if (action !== "retry") for (const change of changed) this.#changes.publish(change);
    return count;
  }

  /**
   * One page newest first (by insertion seq, through an index ending at the cursor): the cursor
   * is the seq of the page's last job, so removals between pages skip nothing.
   */
  async listPage(filter: PageFilter = {}): Promise<JobPage> {
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit <= 0) throw new StorageError("IndexedDBJobQueue.listPage: limit must be a positive integer");
    const after = filter.cursor === undefined ? undefined : Number(filter.cursor);
    if (after !== undefined && !Number.isFinite(after)) throw new StorageError("IndexedDBJobQueue.listPage: cursor is not one this store returned");
    const { status, queueName, jobType, idempotencyKey } = filter;
    const matches = (j: Job) =>
      (status === undefined || j.status === status) &&
      (queueName === undefined || j.queueName === queueName) &&
      (jobType === undefined || j.jobType === jobType) &&
      (idempotencyKey === undefined || j.idempotencyKey === idempotencyKey);
    return this.#db.read("list a page of jobs", async (db) => {
      const store = db.transaction(JOBS, "readonly").objectStore(JOBS);
      if (idempotencyKey !== undefined) {
        const rows = (await store.index(IDEM_KEY_INDEX).getAll(IDBKeyRange.only(idempotencyKey))) as JobRow[];
        const jobs = rows.filter((r) => matches(r.job) && (after === undefined || r.seq < after)).sort((a, b) => b.seq - a.seq);
        const page = jobs.slice(0, limit);
        return { jobs: page.map(rowToJob), nextCursor: jobs.length > limit ? String(page[page.length - 1]!.seq) : null };
      }
      // The index whose prefix is the filter: [queue, seq], [status, seq] or seq alone.
      let source: { openCursor: typeof store.openCursor } = store.index(SEQ_INDEX);
      let range: IDBKeyRange | undefined = after === undefined ? undefined : IDBKeyRange.upperBound(after, true);
      const prefix = queueName ?? status;
      if (prefix !== undefined) {
        source = store.index(queueName !== undefined ? QUEUE_SEQ_INDEX : STATUS_SEQ_INDEX);
        range = after === undefined ? IDBKeyRange.bound([prefix], [prefix, MAX_KEY]) : IDBKeyRange.bound([prefix], [prefix, after], false, true);
      }
      const jobs: Job[] = [];
      let last = 0;
      for (let c = await source.openCursor(range, "prev"); c; c = await c.continue()) {
        const row = c.value as JobRow;
        if (!matches(row.job)) continue;
        if (jobs.length === limit) return { jobs, nextCursor: String(last) };
        jobs.push(rowToJob(row));
        last = row.seq;
      }
      return { jobs, nextCursor: null };
    });
  }

  /**
   * Calls `listener` on job changes made through this handle or any other handle of the same
   * database (other tabs hear them over a BroadcastChannel): finishes, cancels, progress.
   */
  watch(listener: (change: JobChange) => void): () => void {
    return this.#changes.subscribe(listener);
  }

  async close(): Promise<void> {
    this.#changes.close();
    this.#wake.close();
    await this.#db.close();
  }

  // ------------------------------------------------------------------ internals

  /** Insertion order: strictly increasing in this handle, time-ordered across tabs. */
  #nextSeq(): number {
    this.#lastSeq = Math.max(Date.now() * 1_000, this.#lastSeq + 1);
    return this.#lastSeq;
  }

  /** Applies `change` to the job if `lease` still holds it; false (and no change) otherwise. Group-committed. */
  async #withLease(action: string, lease: LeaseRef, change: (row: JobRow) => void, pruneAt?: number): Promise<boolean> {
    return (await this.#leaseOps.submit({ action, lease, change, pruneAt })) === true;
  }

  async #runLeaseOps(batch: LeaseOp[]): Promise<OpResult[]> {
    const finishing = batch.some((op) => op.pruneAt !== undefined);
    const label = batch.length === 1 ? batch[0]!.action : `apply ${batch.length} lease updates`;
    return this.#db.write(label, finishing ? [JOBS, META] : [JOBS], async (tx) => {
      const store = tx.objectStore(JOBS);
      const ids = [...new Set(batch.map((op) => op.lease.jobId))];
      const found = (await Promise.all(ids.map((id) => store.get(id)))) as (JobRow | undefined)[];
      const rows = new Map(ids.map((id, i) => [id, found[i]]));
      const results: OpResult[] = [];
      /** Concurrency keys whose slot a completion, failure or release freed. */
      const freed: string[] = [];
      let finished = 0;
      let anyFinished = false;
      let pruneAt = -Infinity;
      for (const op of batch) {
        const row = rows.get(op.lease.jobId);
        if (!T.holdsLease(row, op.lease)) {
          results.push(op.renewal === true && T.cancelledUnder(row, op.lease) ? "cancelled" : false);
          continue;
        }
        const before: JobRow = { ...row, job: { ...row.job } };
        op.change(row);
        if (row.job.concurrencyKey !== undefined && row.job.status !== JobStatus.RUNNING) freed.push(row.job.concurrencyKey);
        try {
          quiet(store.put(row));
        } catch (error) {
          // Refused before it was queued (e.g. a result IndexedDB cannot clone): only this call fails.
          rows.set(op.lease.jobId, before);
          results.push({ error });
          continue;
        }
        results.push(true);
        if (op.pruneAt !== undefined && (row.finished || row.finishedKeyed)) {
          if (row.finished) finished++;
          anyFinished = true;
          pruneAt = Math.max(pruneAt, op.pruneAt);
        }
      }
      for (const key of freed) await unpark(store, `c${key}`, 1);
      if (anyFinished) await this.#prune(tx, pruneAt, finished);
      return results;
    });
  }

  /** The row left the claim indexes; a job that retention removes starts its retention clock. */
  #settle(row: JobRow, now: number): void {
    markIdle(row);
    if (!T.isRetained(row.job.status)) return;
    // A keyed job is remembered for the idempotency window, apart from the count-bounded ones.
    if (row.job.idempotencyKey === null || row.job.idempotencyKey === undefined) row.finished = [now, row.seq];
    else row.finishedKeyed = [now, row.seq];
  }

  /**
   * Retention, inside the transaction that just finished job(s), `added` of them unkeyed: drops
   * unkeyed finished jobs older than maxAgeMs, then the oldest beyond maxCount, and keyed ones
   * once `max(maxAgeMs, idempotencyWindowMs)` has passed. A counter in META avoids counting the
   * finished index on every completion; keyed jobs are neither counted nor walked by count.
   */
  async #prune(tx: WriteTx, now: number, added: number): Promise<void> {
    const { maxCount, maxAgeMs, idempotencyWindowMs } = this.#retention;
    const meta = tx.objectStore(META);
    const keyedOld = IDBKeyRange.upperBound([now - Math.max(maxAgeMs, idempotencyWindowMs), Number.MAX_VALUE]);
    const keyed = tx.objectStore(JOBS).index(FINISHED_KEYED_INDEX);
    for (let c = await keyed.openCursor(keyedOld); c; c = await c.continue()) quiet(c.delete());
    const index = tx.objectStore(JOBS).index(FINISHED_INDEX);
    const counters = ((await meta.get(COUNTERS_KEY)) as Counters | undefined) ?? { finished: 0 };
    let finished = counters.finished + added;
    const tooOld = IDBKeyRange.upperBound([now - maxAgeMs, Number.MAX_VALUE]);
    for (let c = await index.openCursor(tooOld); c; c = await c.continue()) {
      quiet(c.delete());
      finished--;
    }
    if (finished > maxCount) {
      let excess = finished - maxCount;
      for (let c = await index.openCursor(); c && excess > 0; c = excess > 0 ? await c.continue() : null) {
        quiet(c.delete());
        excess--;
        finished--;
      }
    }
    quiet(meta.put({ finished: Math.max(0, finished) } satisfies Counters, COUNTERS_KEY));
  }
}

/** Puts the best `n` jobs parked on `gate` back in the ready index. */
/** The narrowest index (or the store itself) and key range for a status and queue filter. */
function narrowest<S extends Pick<IDBPObjectStore<unknown, string[], typeof JOBS, IDBTransactionMode>, "index" | "getAll" | "openCursor">>(
  store: S,
  filter: { status?: string; queueName?: string },
): { source: Pick<S, "getAll" | "openCursor">; range: IDBKeyRange | undefined } {
  const { status, queueName } = filter;
  if (queueName !== undefined) {
    const range = status !== undefined ? IDBKeyRange.only([queueName, status]) : IDBKeyRange.bound([queueName], [queueName, MAX_KEY]);
    return { source: store.index(QUEUE_STATUS_INDEX) as unknown as Pick<S, "getAll" | "openCursor">, range };
  }
  if (status !== undefined) return { source: store.index(STATUS_INDEX) as unknown as Pick<S, "getAll" | "openCursor">, range: IDBKeyRange.only(status) };
  return { source: store, range: undefined };
}

async function unpark(store: IDBPObjectStore<unknown, string[], typeof JOBS, "readwrite">, gate: string, n: number): Promise<void> {
  const range = IDBKeyRange.bound([gate], [gate, MAX_KEY]);
  for (let c = await store.index(PARKED_INDEX).openCursor(range); c && n > 0; c = --n > 0 ? await c.continue() : null) {
    const row = c.value as JobRow;
    markReady(row);
    quiet(c.update(row));
  }
}

/**
 * Concurrency keys and rate limits inside one claim transaction: live slots per key counted once
 * from the keyRunning index, rate gates read once from the flow store, both kept in step with
 * this claim's own starts and written back at the end.
 */
class ClaimGates {
  readonly #tx: WriteTx;
  readonly #now: number;
  readonly #running = new Map<string, number>();
  readonly #gates = new Map<string, RateGate>();

  constructor(tx: WriteTx, now: number) {
    this.#tx = tx;
    this.#now = now;
  }

  /** Rate gates whose window moved on: their best parked jobs may start again. */
  async openDueGates(): Promise<void> {
    const flow = this.#tx.objectStore(FLOW);
    const due = IDBKeyRange.upperBound(this.#now);
    for (let c = await flow.index(GATE_WAKE_INDEX).openCursor(due); c; c = await c.continue()) {
      const gate = c.value as RateGate;
      await unpark(this.#tx.objectStore(JOBS), c.primaryKey as string, gate.lim);
      delete gate.wakeAt;
      quiet(c.update(gate));
    }
  }

  /** The gate (`c`/`r` + key) that keeps the row from starting now, or null. */
  async blocked(row: JobRow): Promise<string | null> {
    const job = row.job;
    const now = this.#now;
    if (job.concurrencyKey !== undefined) {
      const key = job.concurrencyKey;
      let n = this.#running.get(key);
      if (n === undefined) {
        const live = IDBKeyRange.bound([key, now], [key, Infinity], true, false);
        n = await this.#tx.objectStore(JOBS).index(KEY_RUNNING_INDEX).count(live);
        this.#running.set(key, n);
      }
      if (n >= (job.concurrencyLimit ?? 1)) return `c${key}`;
    }
    const rate = job.rateLimit;
    if (rate !== undefined) {
      const gate = await this.#gate(rate.key, rate.limit);
      const cutoff = now - rate.periodMs;
      let from = 0;
      while (from < gate.starts.length && gate.starts[from]! <= cutoff) from++;
      if (from > 0) gate.starts.splice(0, from);
      const at = T.rateAllowedAt(gate.starts, 0, rate.limit, rate.periodMs, now);
      if (at !== null) {
        gate.lim = rate.limit;
        if (gate.wakeAt === undefined || at < gate.wakeAt) gate.wakeAt = at;
        return `r${rate.key}`;
      }
    }
    return null;
  }

  /** The row was claimed: it holds a slot of its key and a start of its rate key. */
  async started(row: JobRow): Promise<void> {
    const job = row.job;
    if (job.concurrencyKey !== undefined) this.#running.set(job.concurrencyKey, (this.#running.get(job.concurrencyKey) ?? 0) + 1);
    if (job.rateLimit !== undefined) (await this.#gate(job.rateLimit.key, job.rateLimit.limit)).starts.push(this.#now);
  }

  /** Writes the rate gates this claim read or changed. */
  async save(): Promise<void> {
    const flow = this.#tx.objectStore(FLOW);
    for (const [key, gate] of this.#gates) quiet(flow.put(gate, `r${key}`));
  }

  async #gate(key: string, lim: number): Promise<RateGate> {
    let gate = this.#gates.get(key);
    if (!gate) {
      gate = ((await this.#tx.objectStore(FLOW).get(`r${key}`)) as RateGate | undefined) ?? { starts: [], lim };
      this.#gates.set(key, gate);
    }
    return gate;
  }
}
