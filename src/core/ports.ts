/** The ports of the job subsystem: how jobs are created, handled and triggered. */
import type { CreateJobOptions, Job, JobProgress, JobResult } from "./job.ts";

/** Creates and enqueues jobs. Triggers depend on this port, never on JobService. */
export interface JobCreator {
  createJob<P>(jobType: string, payload: P, options?: CreateJobOptions): Promise<Job<P>>;
}

/** What a handler gets besides the job. */
export interface JobContext {
  /** Aborted on timeout, on a lost lease, on cancellation (JobCancelledError) and on a non-graceful stop. */
  signal: AbortSignal;
  /** Which claim of the job this is, 1-based (a retry or a lost lease counts one more). */
  attempt: number;
  /**
   * Stores `value` on the job (`job.progress`) and emits `job:progress`. Rejects once the lease is
   * lost or the job was cancelled (nothing is stored then), and for a value that is not a finite
   * number or a JSON object.
   */
  progress(value: JobProgress): Promise<void>;
}

/**
 * Business logic for one job type. `T` narrows `jobType` to a literal (or declare the handler
 * `as const satisfies JobHandler<P>`), so that a JobService built with it knows the job type.
 */
export interface JobHandler<P = unknown, R = unknown, T extends string = string> {
  readonly jobType: T;
  /** Throwing, timing out or returning success=false (retryable unless said otherwise) is a failure. */
  handle(job: Job<P>, context: JobContext): Promise<JobResult<R>>;
  /** Runs on every failure, retried or not; its own errors are logged and change nothing. */
  onFailure?(job: Job<P>, error: Error): Promise<void>;
}

/** Anything that creates jobs from outside events (HTTP, clocks). */
export interface JobTrigger {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly isRunning: boolean;
}
