/**
 * IndexedDBJobQueue: the queue port on IndexedDB. Each mutating call is one readwrite
 * transaction (./connection.ts) awaiting only IndexedDB requests; lease-bound calls share
 * transactions by group commit (./group-commit.ts); the layout and migrations are ./schema.ts.
 */
import { randomId } from "../../core/random-id.ts";
import * as T from "../../core/transitions.ts";
import {
  DEFAULT_RETENTION,
  JobStatus,
  StorageError,
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
} from "../../core/index.ts";
import { Connection, type WriteTx } from "./connection.ts";
import { toStorageError } from "./errors.ts";
import { GroupCommit, type OpResult } from "./group-commit.ts";
import {
  COUNTERS_KEY,
  FINISHED_INDEX,
  IDEMPOTENCY_INDEX,
  JOBS,
  META,
  QUEUE_STATUS_INDEX,
  READY_INDEX,
  STATUS_INDEX,
  TIMED_INDEX,
  markIdle,
  markReady,
  markTimed,
  newRow,
  rowToJob,
  type Counters,
  type JobRow,
} from "./schema.ts";
import { WakeSignal } from "./wake.ts";

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
    const results = await this.#db.write(`store ${jobs.length} job(s)`, [JOBS], async (tx) => {
      const store = tx.objectStore(JOBS);
      // Look up every idempotency key first (all requests in flight at once), then write.
      let existing: (JobRow | undefined | null)[] = [];
      if (jobs.some((j) => j.idempotencyKey !== null)) {
        const idem = store.index(IDEMPOTENCY_INDEX);
        existing = (await Promise.all(jobs.map((j) => (j.idempotencyKey === null ? null : idem.get([j.queueName, j.idempotencyKey]))))) as (JobRow | undefined | null)[];
      }
      const out: EnqueueResult[] = [];
      const batchKeys = new Map<string, number>();
      jobs.forEach((job, i) => {
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
    return this.#db.write("claim jobs", [JOBS], async (tx) => {
      const store = tx.objectStore(JOBS);
      const ready = store.index(READY_INDEX);
      const timed = store.index(TIMED_INDEX);
      const out: ClaimedJob[] = [];
      for (const queueName of request.queues) {
        // Move jobs whose time has come (due schedules, retries, expired leases) into the ready
        // index; an expired job stays RUNNING with its old token until someone claims it.
        const due = IDBKeyRange.bound([queueName], [queueName, now, MAX_KEY]);
        for (let cursor = await timed.openCursor(due); cursor; cursor = await cursor.continue()) {
          const row = cursor.value as JobRow;
          markReady(row);
          quiet(cursor.update(row));
        }
        const rows = (await ready.getAll(IDBKeyRange.bound([queueName], [queueName, MAX_KEY]), limit - out.length)) as JobRow[];
        for (const row of rows) {
          const token = randomId();
          const job = row.job;
          T.claim(row, token, now, leaseMs);
          markTimed(row, row.leaseExpiresAt);
          quiet(store.put(row));
          // put cloned the row, so handing out `job` cannot alias the store.
          out.push({ jobId: job.id, token, job, leaseExpiresAt: row.leaseExpiresAt });
        }
        if (out.length >= limit) break;
      }
      return out;
    });
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean> {
    return this.#withLease("extend a lease", lease, (row) => {
      T.extendLease(row, now, leaseMs);
      markTimed(row, row.leaseExpiresAt);
    });
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    return this.#withLease(
      "complete a job",
      lease,
      (row) => {
        T.complete(row, result, now);
        this.#settle(row, now);
      },
      now,
    );
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const ok = await this.#withLease("record a failure", lease, (row) => {
      T.fail(row, errorMessage, outcome, now);
      if (T.isClaimable(row.job)) markTimed(row, row.job.runAt.getTime());
      else this.#settle(row, now);
    });
    if (ok && outcome.status === JobStatus.RETRYING) this.#wake.notify();
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

  async cancel(id: string, now: number): Promise<boolean> {
    return this.#db.write("cancel a job", [JOBS, META], async (tx) => {
      const store = tx.objectStore(JOBS);
      const row = (await store.get(id)) as JobRow | undefined;
      if (!row || !T.canCancel(row.job)) return false;
      T.cancel(row);
      this.#settle(row, now);
      quiet(store.put(row));
      await this.#prune(tx, now, 1);
      return true;
    });
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
      const { status, queueName, jobType } = filter;
      // Pick the narrowest index for the filter; only jobType is checked row by row.
      let source: { getAll: typeof store.getAll; openCursor: typeof store.openCursor } = store;
      let range: IDBKeyRange | undefined;
      if (queueName !== undefined) {
        source = store.index(QUEUE_STATUS_INDEX);
        range = status !== undefined ? IDBKeyRange.only([queueName, status]) : IDBKeyRange.bound([queueName], [queueName, MAX_KEY]);
      } else if (status !== undefined) {
        source = store.index(STATUS_INDEX);
        range = IDBKeyRange.only(status);
      }
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
      const index = db.transaction(JOBS, "readonly").objectStore(JOBS).index(QUEUE_STATUS_INDEX);
      // One key per distinct (queue, status) pair, then a native count of each.
      const pairs: [string, JobStatus][] = [];
      for (let c = await index.openKeyCursor(null, "nextunique"); c; c = await c.continue()) pairs.push(c.key as [string, JobStatus]);
      const counts = await Promise.all(pairs.map((p) => index.count(IDBKeyRange.only(p))));
      return T.foldStats(pairs.map(([queueName, status], i) => [queueName, status, counts[i]!] as const));
    });
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    if (queues.length === 0) return null;
    return this.#db.read("look for due jobs", async (db) => {
      const store = db.transaction(JOBS, "readonly").objectStore(JOBS);
      const ready = store.index(READY_INDEX);
      const timed = store.index(TIMED_INDEX);
      let best: number | null = null;
      for (const q of queues) {
        if (await ready.openKeyCursor(IDBKeyRange.bound([q], [q, MAX_KEY]))) return now;
        // The first key of the queue's timed range is its earliest wake-up.
        const first = await timed.openKeyCursor(IDBKeyRange.bound([q], [q, MAX_KEY]));
        if (first) {
          const at = (first.key as [string, number, number])[1];
          if (best === null || at < best) best = at;
        }
      }
      return best;
    });
  }

  /** Calls `listener` when jobs may have become claimable: an enqueue here or in another tab, or `online`. */
  subscribe(listener: () => void): () => void {
    return this.#wake.subscribe(listener);
  }

  async close(): Promise<void> {
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
  #withLease(action: string, lease: LeaseRef, change: (row: JobRow) => void, pruneAt?: number): Promise<boolean> {
    return this.#leaseOps.submit({ action, lease, change, pruneAt });
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
      let finished = 0;
      let pruneAt = -Infinity;
      for (const op of batch) {
        const row = rows.get(op.lease.jobId);
        if (!T.holdsLease(row, op.lease)) {
          results.push(false);
          continue;
        }
        const before: JobRow = { ...row, job: { ...row.job } };
        op.change(row);
        try {
          quiet(store.put(row));
        } catch (error) {
          // Refused before it was queued (e.g. a result IndexedDB cannot clone): only this call fails.
          rows.set(op.lease.jobId, before);
          results.push({ error });
          continue;
        }
        results.push(true);
        if (op.pruneAt !== undefined && row.finished) {
          finished++;
          pruneAt = Math.max(pruneAt, op.pruneAt);
        }
      }
      if (finished > 0) await this.#prune(tx, pruneAt, finished);
      return results;
    });
  }

  /** The row left the claim indexes; a job that retention removes starts its retention clock. */
  #settle(row: JobRow, now: number): void {
    markIdle(row);
    if (T.isRetained(row.job.status)) row.finished = [now, row.seq];
  }

  /**
   * Retention, inside the transaction that just finished `added` job(s): drops finished jobs
   * older than maxAgeMs, then the oldest beyond maxCount. A counter in META avoids counting the
   * finished index on every completion.
   */
  async #prune(tx: WriteTx, now: number, added: number): Promise<void> {
    const { maxCount, maxAgeMs } = this.#retention;
    const meta = tx.objectStore(META);
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
