/**
 * SqliteJobQueue: the queue port on a SQLite file, through the SQL core's SQLite store. Several
 * processes on one machine can share one file: WAL lets readers run beside the one writer, a busy
 * timeout makes a writer wait for another instead of failing, and every transition runs in its own
 * `BEGIN IMMEDIATE` transaction (one statement inside, in the common case).
 */
import {
  ANY_JOB,
  JobStatus,
  PorticoError,
  StorageError,
  type BulkAction,
  type BulkFilter,
  type ClaimRequest,
  type ClaimedJob,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobChange,
  type JobPage,
  type JobProgress,
  type JobQueue,
  type LeaseRef,
  type ListFilter,
  type PageFilter,
  type QueueStats,
  type RetentionOptions,
} from "../../core/index.ts";
import { SqliteJobStore } from "../sql/sqlite-store.ts";
import type { SqliteDatabase } from "./database.ts";
import { sqliteExecutor } from "./executor.ts";

/** Where the queue's data lives. */
export interface SqliteJobQueueConnection {
  /** An open SQLite database (bun:sqlite, node:sqlite's DatabaseSync, better-sqlite3). It stays the caller's: close() leaves it open. */
  database: SqliteDatabase;
}

/** Options of {@link SqliteJobQueue}. */
export interface SqliteJobQueueOptions {
  /** How many finished jobs to keep, and for how long (default `DEFAULT_RETENTION`: 10,000 and 24 h). */
  retention?: RetentionOptions;
  /** How long a write waits for another process's write to finish before failing with StorageError (default 5,000 ms). */
  busyTimeoutMs?: number;
  /**
   * How often, while a worker is subscribed, to look for commits by other processes
   * (`PRAGMA data_version`, a read of one counter) and wake it; 0 turns it off, leaving the
   * worker's nextWakeAt polling. Default 50 ms.
   */
  watchIntervalMs?: number;
}

/** A {@link JobQueue} on a SQLite database file, shared safely by the processes of one machine. */
export class SqliteJobQueue implements JobQueue {
  readonly #db: SqliteDatabase;
  readonly #exec: ReturnType<typeof sqliteExecutor>;
  readonly #store: SqliteJobStore;
  readonly #retention: RetentionOptions | undefined;
  readonly #watchMs: number;
  readonly #listeners = new Set<() => void>();
  readonly #watchers = new Set<(change: JobChange) => void>();
  #watch: ReturnType<typeof setInterval> | null = null;
  #dataVersionStatement: ReturnType<SqliteDatabase["prepare"]> | null = null;
  #dataVersion = -1;
  #closed = false;

  constructor(connection: SqliteJobQueueConnection, options: SqliteJobQueueOptions = {}) {
    const db = connection?.database;
    if (!db || typeof db.prepare !== "function" || typeof db.exec !== "function") {
      throw new PorticoError("invalid_option", "SqliteJobQueue: database must be an open SQLite handle (bun:sqlite Database, node:sqlite DatabaseSync or better-sqlite3 Database)");
    }
    const busy = options.busyTimeoutMs ?? 5_000;
    if (!Number.isSafeInteger(busy) || busy < 0) throw new RangeError(`SqliteJobQueue: busyTimeoutMs must be a non-negative integer, got ${options.busyTimeoutMs}`);
    const watch = options.watchIntervalMs ?? 50;
    if (!Number.isSafeInteger(watch) || watch < 0) throw new RangeError(`SqliteJobQueue: watchIntervalMs must be a non-negative integer, got ${options.watchIntervalMs}`);
    this.#db = db;
    this.#retention = options.retention;
    this.#watchMs = watch;
    try {
      // busy_timeout first, so switching to WAL waits for another process opening the file too.
      // synchronous=NORMAL is the WAL setting: a commit survives a process crash; only a power
      // loss can undo the last commits, never corrupt the file.
      db.exec(`PRAGMA busy_timeout = ${busy}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL`);
      this.#exec = sqliteExecutor(db);
      // Schema and data migrations under one write lock, so processes opening together apply them once.
      this.#store = this.#exec.immediate(() => new SqliteJobStore(this.#exec, { shared: true }));
    } catch (error) {
      throw storageError("open", error);
    }
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    const results = this.#write("enqueue", () => this.#store.enqueue(jobs));
    if (results.some((r) => r.created)) this.#notify();
    return results;
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return this.#write("claim", () => this.#store.claim(request));
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    return this.#write("extendLease", () => this.#store.extendLease(lease, leaseMs, now));
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    const ok = this.#write("complete", () => this.#store.complete(lease, result, now, this.#retention));
    if (ok) this.#changed(lease.jobId, "completed");
    return ok;
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const ok = this.#write("fail", () => this.#store.fail(lease, errorMessage, outcome, now));
    if (ok) this.#changed(lease.jobId, outcome.status);
    return ok;
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    const ok = this.#write("release", () => this.#store.release(lease));
    if (ok) this.#notify();
    return ok;
  }

  async get(id: string): Promise<Job | null> {
    return this.#read("get", () => this.#store.get(id));
  }

  async cancel(id: string, now: number, options?: { running?: boolean }): Promise<boolean> {
    const ok = this.#write("cancel", () => this.#store.cancel(id, now, this.#retention, options?.running === true));
    if (ok) this.#changed(id, "cancelled");
    return ok;
  }

  async setPaused(queueName: string, paused: boolean, now: number): Promise<boolean> {
    const changed = this.#write("setPaused", () => this.#store.setPaused(queueName, paused, now));
    if (changed && !paused) this.#notify();
    return changed;
  }

  async progress(lease: LeaseRef, value: JobProgress, _now: number): Promise<boolean> {
    const ok = this.#write("progress", () => this.#store.progress(lease, value));
    if (ok) this.#changed(lease.jobId, "running");
    return ok;
  }

  async bulk(action: BulkAction, filter: BulkFilter, now: number): Promise<number> {
    const n = this.#write("bulk", () => this.#store.bulk(action, filter, now, this.#retention));
    if (n > 0 && action === "retry") this.#notify();
    return n;
  }

  async listPage(filter?: PageFilter): Promise<JobPage> {
    return this.#read("listPage", () => this.#store.listPage(filter));
  }

  /**
   * This queue's own finishes, cancels and progress reports, at once; another process's commits
   * within `watchIntervalMs` as a change of {@link ANY_JOB} (`PRAGMA data_version` tells only that
   * the file changed, not which job), so a waiter re-reads its job.
   */
  watch(listener: (change: JobChange) => void): () => void {
    this.#watchers.add(listener);
    this.#startWatch();
    return () => {
      this.#watchers.delete(listener);
      this.#maybeStopWatch();
    };
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const job = this.#write("retry", () => this.#store.retry(id, now));
    if (job) this.#notify();
    return job;
  }

  async list(filter?: ListFilter): Promise<Job[]> {
    return this.#read("list", () => this.#store.list(filter));
  }

  async stats(): Promise<QueueStats> {
    return this.#read("stats", () => this.#store.stats());
  }

  /** Waiting jobs in the file, every process's included: a counter kept by triggers (one row read). */
  async countWaiting(): Promise<number> {
    return this.#read("countWaiting", () => this.#store.countWaiting());
  }

  async nextWakeAt(queues: readonly string[], _now: number): Promise<number | null> {
    return this.#read("nextWakeAt", () => this.#store.nextWakeAt(queues));
  }

  /** Wakes `listener` on this queue's own enqueues at once, and on other processes' commits within `watchIntervalMs`. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    this.#startWatch();
    return () => {
      this.#listeners.delete(listener);
      this.#maybeStopWatch();
    };
  }

  /** Stops the watcher and refuses further calls; the database handle stays open (it is the caller's). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#watchers.clear();
    this.#stopWatch();
  }

  #write<T>(op: string, fn: () => T): T {
    this.#open(op);
    try {
      return this.#exec.immediate(fn);
    } catch (error) {
      throw storageError(op, error);
    }
  }

  #read<T>(op: string, fn: () => T): T {
    this.#open(op);
    try {
      return fn();
    } catch (error) {
      throw storageError(op, error);
    }
  }

  #open(op: string): void {
    if (this.#closed) throw new StorageError(`SqliteJobQueue.${op}: the queue is closed`);
  }

  #changed(jobId: string, status: JobChange["status"]): void {
    for (const w of this.#watchers) w({ jobId, status });
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Changes whenever another connection commits to the file (not on this connection's own commits). */
  #readDataVersion(): number {
    this.#dataVersionStatement ??= this.#db.prepare("PRAGMA data_version");
    const row = this.#dataVersionStatement.get() as { data_version?: number | bigint } | undefined;
    return Number(row?.data_version ?? -1);
  }

  #poll(): void {
    let version: number;
    try {
      version = this.#readDataVersion();
    } catch {
      return; // the database was closed under us; the worker's polling still runs
    }
    if (version !== this.#dataVersion) {
      this.#dataVersion = version;
      this.#notify();
      for (const w of this.#watchers) w({ jobId: ANY_JOB, status: JobStatus.RUNNING });
    }
  }

  #startWatch(): void {
    if (this.#watch === null && this.#watchMs > 0 && !this.#closed) {
      this.#dataVersion = this.#readDataVersion();
      this.#watch = setInterval(() => this.#poll(), this.#watchMs);
      // A watcher must not keep a process alive on its own (Node, Bun; Deno has no unref on ids).
      (this.#watch as { unref?: () => void }).unref?.();
    }
  }

  #maybeStopWatch(): void {
    if (this.#listeners.size === 0 && this.#watchers.size === 0) this.#stopWatch();
  }

  #stopWatch(): void {
    if (this.#watch !== null) clearInterval(this.#watch);
    this.#watch = null;
  }
}

/** Any failure as a StorageError naming the operation (typed errors pass through unchanged). */
function storageError(op: string, error: unknown): PorticoError {
  if (error instanceof PorticoError) return error;
  const message = (error as Error)?.message ?? String(error);
  const hint = /busy|locked/i.test(message) ? " (another process held the write lock past busyTimeoutMs)" : "";
  return new StorageError(`SqliteJobQueue.${op} failed, nothing changed: ${message}${hint}`, { cause: error });
}
