/**
 * The job domain model: statuses, the Job record, handler results and creation options.
 * Field names are the seed's snake_case fields in camelCase.
 */

/** Every state a job can be in. */
export const JobStatus = {
  PENDING: "pending",
  SCHEDULED: "scheduled",
  RUNNING: "running",
  COMPLETED: "completed",
  FAILED: "failed",
  RETRYING: "retrying",
  DEAD_LETTER: "dead_letter",
  CANCELLED: "cancelled",
} as const;

/** One of the values of {@link JobStatus}. */
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

/** All statuses, in lifecycle order; handy for building counters. */
export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

/** A background job as stored in a queue. */
export interface Job<P = unknown> {
  id: string;
  queueName: string;
  jobType: string;
  payload: P;
  /** Higher runs first within a queue. */
  priority: number;
  maxRetries: number;
  /** How many failed attempts have been followed by a retry. */
  retryCount: number;
  /** When the job was asked to run (null = as soon as possible). */
  scheduledAt: Date | null;
  startedAt: Date | null;
  completedAt: Date | null;
  failedAt: Date | null;
  status: JobStatus;
  errorMessage: string | null;
  createdBy: string | null;
  createdAt: Date;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  /** The handler's resultData once the job completed. */
  result: unknown;
  /** When the job becomes due: createdAt, scheduledAt or the next retry time. */
  runAt: Date;
  /**
   * How many times a worker has claimed the job, including claims lost to an expired lease; a
   * released claim (graceful stop) is handed back and not counted, and retryJob resets it to 0.
   */
  attempts: number;
  /** Per-job handler timeout, or null for the worker's default. */
  timeoutMs: number | null;
  /** What the handler last reported through `context.progress()`, or null. */
  progress: JobProgress | null;
  /** The workerId of the last claim (the lease holder while RUNNING), where the store keeps it. */
  leasedBy?: string | null;
  /** Flow control (absent when unused): at most `concurrencyLimit` RUNNING jobs with this key, across queues and workers. */
  concurrencyKey?: string;
  /** Most RUNNING jobs with {@link Job.concurrencyKey} at once (present with the key; default 1). */
  concurrencyLimit?: number;
  /** Flow control (absent when unused): at most `limit` starts per key in any window of `periodMs`. */
  rateLimit?: RateLimit;
  /** Flow control (absent when unused): later jobs with this key in the queue replace this one while it waits. */
  debounce?: Debounce;
}

/** {@link CreateJobOptions.rateLimit}: at most `limit` starts of jobs with `key` in any window of `periodMs`. */
export interface RateLimit {
  key: string;
  limit: number;
  periodMs: number;
}

/**
 * {@link CreateJobOptions.debounce}: a job still waiting with `key` in the same queue takes the
 * new payload and options, and its due time moves to now + `delayMs`, never past its first
 * creation + `maxDelayMs`.
 */
export interface Debounce {
  key: string;
  delayMs: number;
  maxDelayMs?: number;
}

/** A handler's progress report: a number (e.g. a percentage) or a small JSON object. */
export type JobProgress = number | Record<string, unknown>;

/** What a handler returns. */
export interface JobResult<R = unknown> {
  success: boolean;
  resultData?: R;
  error?: Error;
  /** false sends a failed job straight to FAILED, without retries. */
  retryable?: boolean;
}

/**
 * What a queue name or a job type may be: 1 to 128 characters of letters, digits and `. _ : -`
 * (e.g. `email.send`, `reports:daily`). Names such as `__proto__` or `constructor` match and are
 * plain data to every store (counters are kept in Maps or prototype-less objects).
 */
export const NAME_PATTERN: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;

/** {@link NAME_PATTERN} in words, as validation messages say it. */
export const NAME_RULE: string = "must be 1 to 128 characters of letters, digits, '.', '_', ':' or '-'";

/** Options of {@link JobCreator.createJob}. */
export interface CreateJobOptions {
  /** Queue to route the job to; "default" when omitted. */
  queueName?: string;
  /** Integer priority, higher first; 0 when omitted. */
  priority?: number;
  /** Run no earlier than this instant. */
  scheduledAt?: Date;
  /** Run no earlier than this many milliseconds from now (ignored when scheduledAt is given). */
  delayMs?: number;
  /** Retries after the first failed attempt; 3 when omitted. */
  maxRetries?: number;
  createdBy?: string;
  metadata?: Record<string, unknown>;
  /** A second job with the same key in the same queue returns the first one. */
  idempotencyKey?: string;
  /** Abort the handler after this many milliseconds. */
  timeoutMs?: number;
  /**
   * At most {@link CreateJobOptions.concurrencyLimit} RUNNING jobs with this key at once, whatever
   * worker (process, tab, isolate) holds them; the store enforces it in its claim. Keys are shared
   * across queues. The waiting ones keep their order and never block jobs of other keys.
   */
  concurrencyKey?: string;
  /** Most RUNNING jobs of {@link CreateJobOptions.concurrencyKey} at once; default 1. Needs a key. */
  concurrencyLimit?: number;
  /** At most `limit` starts per key in any window of `periodMs`; nextWakeAt says when the next start is allowed. */
  rateLimit?: RateLimit;
  /**
   * A waiting job with this key in the queue takes the new payload and options, its due time moves
   * to now + delayMs (never past its first creation + maxDelayMs), and createJob returns that same
   * job. A running job with the key is left alone and a new one is created.
   */
  debounce?: Debounce;
}

/** Counts of jobs by status, overall and per queue. */
export interface QueueStats {
  total: number;
  byStatus: Record<JobStatus, number>;
  byQueue: Record<string, Record<JobStatus, number>>;
  /** Names of the paused queues (see JobService.pauseQueue), sorted. */
  paused: string[];
  /**
   * Finished attempts per queue and minute over the last {@link THROUGHPUT_MINUTES} minutes, oldest
   * first, where the store keeps such counters (minutes without any are left out).
   */
  throughput?: Record<string, ThroughputBucket[]>;
}

/** Attempts that ended in one minute of one queue. */
export interface ThroughputBucket {
  /** Start of the minute, epoch ms. */
  minute: number;
  completed: number;
  /** Failed attempts: retried, failed or dead-lettered. */
  failed: number;
}

/** How many minutes of throughput stores keep. */
export const THROUGHPUT_MINUTES = 15;

/** A zeroed status counter. */
export function emptyStatusCounts(): Record<JobStatus, number> {
  const counts = {} as Record<JobStatus, number>;
  for (const s of JOB_STATUSES) counts[s] = 0;
  return counts;
}

/** True for statuses after which a job never runs again on its own. */
export function isFinished(status: JobStatus): boolean {
  return (
    status === JobStatus.COMPLETED ||
    status === JobStatus.FAILED ||
    status === JobStatus.DEAD_LETTER ||
    status === JobStatus.CANCELLED
  );
}

/** The statuses of a job waiting to be claimed (what `countWaiting` and `maxWaitingJobs` count). */
export const WAITING_STATUSES: readonly JobStatus[] = [JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.RETRYING];

/** True for statuses a worker may claim once the job is due. */
export function isWaiting(status: JobStatus): boolean {
  return status === JobStatus.PENDING || status === JobStatus.SCHEDULED || status === JobStatus.RETRYING;
}
