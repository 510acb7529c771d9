/**
 * What a failed attempt leads to, shared by every runner (WorkerManager, the Durable Object's
 * alarm): retry with backoff, fail, or dead-letter; and the lost-lease (stall) rule.
 */
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { PorticoError } from "./errors.ts";
import { JobStatus, type Job } from "./job.ts";
import type { FailureOutcome } from "./queue.ts";

/** The failure recorded for a job that lost its lease more often than `maxStalls` allows. */
export class JobStalledError extends PorticoError {
  constructor(readonly stalls: number) {
    super("job_stalled", `The job lost its lease ${stalls} times (its worker died or hung each time); dead-lettered without running again`);
  }
}

/** Default of `maxStalls`. */
export const DEFAULT_MAX_STALLS = 3;

/** Checks a `maxStalls` option (`owner` names the API in the message). */
export function checkMaxStalls(value: number | undefined, owner: string): number {
  const v = value ?? DEFAULT_MAX_STALLS;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${owner}: maxStalls must be a non-negative integer, got ${value}`);
  return v;
}

/**
 * Claims of a just-claimed job that ended with no outcome recorded (lost leases): each claim
 * counts an attempt, each recorded failure a retry, and a released claim hands its attempt back.
 */
export function stallsOf(job: Job): number {
  return job.attempts - 1 - job.retryCount;
}

/**
 * The attempts a job's recorded failures account for (its retries, plus the current claim while
 * running): what stores written before released claims stopped counting are upgraded to.
 */
export function accountedAttempts(job: Pick<Job, "retryCount" | "status">): number {
  return job.retryCount + (job.status === JobStatus.RUNNING ? 1 : 0);
}

/** The outcome of a failed attempt: dead letter when stalled, failed when not retryable, else retry while retries remain. */
export function failureOutcome(job: Job, retryable: boolean | undefined, stalled: boolean, now: number, backoff: BackoffOptions): FailureOutcome {
  if (stalled) return { status: JobStatus.DEAD_LETTER };
  if (retryable === false) return { status: JobStatus.FAILED };
  if (job.retryCount < job.maxRetries) return { status: JobStatus.RETRYING, retryAt: now + backoffDelay(job.retryCount, backoff) };
  return { status: JobStatus.DEAD_LETTER };
}
