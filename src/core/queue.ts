/**
 * The queue storage port: the narrow contract every driver (memory, unstorage, IndexedDB,
 * Durable Object) implements. Time is always passed in (`now`, epoch ms) so that drivers
 * stay deterministic and a test can drive lease expiry without sleeping.
 */
import type { Job, JobProgress, JobStatus, QueueStats } from "./job.ts";

/** Outcome of storing one job. */
export interface EnqueueResult {
  /** The stored job: the new one, or the existing one for a repeated idempotency key. */
  job: Job;
  /** false when an existing job with the same (queueName, idempotencyKey) was returned. */
  created: boolean;
}

/** A request to claim due jobs. */
export interface ClaimRequest {
  /** Queues checked in this order: a later queue is served only when earlier ones have no due job. */
  queues: readonly string[];
  /** Most jobs to claim in one call. */
  limit: number;
  /** How long the lease lasts unless extended. */
  leaseMs: number;
  /** Free-form id of the claiming worker, for diagnostics. */
  workerId: string;
  now: number;
}

/** Proof of holding a job: the job id plus the token minted by the claim. */
export interface LeaseRef {
  jobId: string;
  token: string;
}

/** A job a worker now holds. */
export interface ClaimedJob extends LeaseRef {
  /** The job, already RUNNING with startedAt and attempts updated. */
  job: Job;
  leaseExpiresAt: number;
}

/** How a failed attempt ends. */
export type FailureOutcome =
  /** Back to the queue at `retryAt`; retryCount grows by one. */
  | { status: "retrying"; retryAt: number }
  /** Given up at once (the handler said the failure is not retryable). */
  | { status: "failed" }
  /** Retries exhausted. */
  | { status: "dead_letter" };

/** Filter of {@link JobQueue.list}. */
export interface ListFilter {
  status?: JobStatus;
  queueName?: string;
  jobType?: string;
  /** At most this many jobs (default 100). */
  limit?: number;
}

/** Filter of {@link JobQueue.listPage}: newest first, keyset-paginated. */
export interface PageFilter {
  status?: JobStatus;
  queueName?: string;
  jobType?: string;
  /** Only the job with this idempotency key (in `queueName`, or in any queue). */
  idempotencyKey?: string;
  /** At most this many jobs (default 50). */
  limit?: number;
  /** `nextCursor` of the previous page: the page continues after it. Opaque, driver-specific. */
  cursor?: string;
}

/** One page of {@link JobQueue.listPage}. */
export interface JobPage {
  jobs: Job[];
  /** Cursor of the next page, or null on the last page. */
  nextCursor: string | null;
}

/**
 * Selects jobs for the bulk operations. At least one field must be set (an empty filter is
 * refused, never "every job"). `olderThan` compares with the job's `createdAt`.
 */
export interface BulkFilter {
  status?: JobStatus;
  queueName?: string;
  jobType?: string;
  olderThan?: Date;
}

/** What a bulk operation does to each selected job. */
export type BulkAction =
  /** DEAD_LETTER or FAILED -> PENDING with a fresh retry budget (as {@link JobQueue.retry}). */
  | "retry"
  /** PENDING, SCHEDULED, RETRYING or RUNNING -> CANCELLED (as cancel with `running: true`). */
  | "cancel"
  /** Removes COMPLETED, FAILED, DEAD_LETTER or CANCELLED jobs. */
  | "purge";

/** A change of one job's state, as a store reports it to {@link JobQueue.watch} listeners. */
export interface JobChange {
  /** The job, or {@link ANY_JOB} when the store only knows that some job may have changed. */
  jobId: string;
  status: JobStatus;
}

/**
 * The `jobId` of a {@link JobChange} that names no job: another process wrote the store (a SQLite
 * file's data_version moved), so every waiter re-reads its job.
 */
export const ANY_JOB = "*";

/**
 * How long finished jobs are kept before a driver removes them. A COMPLETED or CANCELLED job
 * stays readable for `maxAgeMs` unless more than `maxCount` such jobs are kept (then the oldest
 * go first); a driver may prune later than that (a SQL store waits for a tenth past a bound, to
 * prune rarely), never earlier. DEAD_LETTER and FAILED jobs are never removed by retention.
 */
export interface RetentionOptions {
  /** Keep at most this many COMPLETED or CANCELLED jobs (default 10,000). */
  maxCount?: number;
  /** Drop COMPLETED or CANCELLED jobs older than this (default 24 h). */
  maxAgeMs?: number;
  /**
   * The idempotency window (default 24 h): a finished job with an idempotency key is kept, so its
   * key still makes a repeat a duplicate, until it finished at least this long ago, whatever
   * `maxCount` and `maxAgeMs` say. A signed webhook replayed within its tolerance (5 minutes) is
   * therefore a duplicate however many jobs finished since. Keyed jobs finished within the window
   * come on top of `maxCount`.
   */
  idempotencyWindowMs?: number;
}

/** Options of {@link JobQueue.countWaiting}. */
export interface CountWaitingOptions {
  /**
   * The caller accepts a recent figure (JobService's `maxWaitingJobs` check on every creation): a
   * store that has to count rows for it (PostgreSQL) may answer from a count it took a moment ago
   * plus its own changes since, so that creating a job never costs a count. Stores that keep a
   * counter (memory, unstorage, SQLite, Durable Object) are exact either way. Without it, the
   * figure is exact when the call is answered.
   */
  cached?: boolean;
}

/** Resolved retention defaults: 10,000 finished jobs, 24 hours, keys remembered 24 hours. */
export const DEFAULT_RETENTION: Required<RetentionOptions> = {
  maxCount: 10_000,
  maxAgeMs: 24 * 60 * 60 * 1000,
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
};

/**
 * The queue storage port. Every mutating call is atomic in the store: two consumers never
 * hold a live lease on the same job, and a refused call changes nothing.
 */
export interface JobQueue {
  /** Stores jobs in one atomic operation, all or nothing; results are in input order. */
  enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]>;
  /** Claims up to `limit` due jobs: queue order, then priority (high first), due time, insertion. */
  claim(request: ClaimRequest): Promise<ClaimedJob[]>;
  /**
   * Pushes the lease's expiry to now + leaseMs; false when the lease was lost, "cancelled" when
   * the job was cancelled while this lease held it (the worker then aborts the handler).
   */
  extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled">;
  /** Marks the job COMPLETED with its result; false (and no change) when the lease was lost. */
  complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean>;
  /** Records a failed attempt; false (and no change) when the lease was lost. */
  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean>;
  /** Gives the job back without counting a failure (graceful shutdown); false when the lease was lost. */
  release(lease: LeaseRef, now: number): Promise<boolean>;
  get(id: string): Promise<Job | null>;
  /**
   * PENDING, SCHEDULED or RETRYING -> CANCELLED; with `running: true` also RUNNING (the lease
   * holder's complete/fail is then refused and extendLease answers "cancelled"). false for any
   * other state or unknown id.
   */
  cancel(id: string, now: number, options?: { running?: boolean }): Promise<boolean>;
  /** DEAD_LETTER or FAILED -> PENDING with retryCount 0; null for any other state or unknown id. */
  retry(id: string, now: number): Promise<Job | null>;
  list(filter?: ListFilter): Promise<Job[]>;
  stats(): Promise<QueueStats>;
  /**
   * Waiting jobs: status PENDING, SCHEDULED or RETRYING (`WAITING_STATUSES`), in every
   * queue of the store, written by any handle or process. Paused queues' jobs and jobs parked
   * behind a concurrency key count; RUNNING jobs do not, also once their lease has expired (they
   * wait again only when a claim takes them back). Never a scan of the queue: a counter the store
   * keeps (memory, unstorage, SQLite and Durable Object triggers), native index counts
   * (IndexedDB), or counts over PostgreSQL's partial indexes, cached with `cached: true`.
   * Optional in the port: JobService's `maxWaitingJobs` needs it; every built-in store has it.
   */
  countWaiting?(options?: CountWaitingOptions): Promise<number>;
  /**
   * The earliest instant something in these queues needs a worker: a due or scheduled job,
   * or a lease that expires. null when nothing is waiting or running.
   */
  nextWakeAt(queues: readonly string[], now: number): Promise<number | null>;
  /** Optional push notification that jobs may have become claimable; returns an unsubscribe. */
  subscribe?(listener: () => void): () => void;

  // ---- operations (optional while drivers adopt them; JobService reports a missing one) ----

  /**
   * Pauses or resumes a queue for every claim on this store (every worker, process, tab);
   * enqueue still works. Resolves true when the state changed.
   */
  setPaused?(queueName: string, paused: boolean, now: number): Promise<boolean>;
  /** Stores the handler's progress on the job; false (and no change) when the lease was lost. */
  progress?(lease: LeaseRef, value: JobProgress, now: number): Promise<boolean>;
  /** Applies `action` to every job matching `filter` in one store operation; returns the count. */
  bulk?(action: BulkAction, filter: BulkFilter, now: number): Promise<number>;
  /** One page of jobs, newest first, continuing after `filter.cursor` (keyset, never an offset). */
  listPage?(filter: PageFilter): Promise<JobPage>;
  /**
   * Optional push notification of job state changes (finishes, cancels, progress) as this store
   * instance sees them; returns an unsubscribe. waitForJob polls where it is missing.
   */
  watch?(listener: (change: JobChange) => void): () => void;
  close(): Promise<void>;
}
