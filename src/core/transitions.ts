/**
 * The job lifecycle as functions over a job and its lease: claim, extend, complete, fail,
 * release, cancel and redrive, plus the lease check and the status tests drivers decide by.
 *
 * Every driver that keeps job objects (memory and unstorage through JobIndex, IndexedDB) applies
 * these and nothing else, so their jobs change the same way; SQL stores mirror them as statements
 * and the conformance suite holds them in step. The functions do no I/O and read no clock or
 * randomness (time and tokens are passed in); each changes only the state it is given, in place,
 * because the drivers' hot paths must not allocate a copy per transition. A driver does its own
 * indexing (heaps, index keys, counters) around them.
 */
import { JobStatus, emptyStatusCounts, type Job, type JobProgress, type QueueStats } from "./job.ts";
import type { FailureOutcome, LeaseRef } from "./queue.ts";

/** A job with the lease state a store keeps beside it. */
export interface LeaseState {
  job: Job;
  /** Token of the current lease; null when nobody holds the job. */
  token: string | null;
  /** Lease expiry (epoch ms) while RUNNING. */
  leaseExpiresAt: number;
}

/** True when `lease` is the live lease of `state`: the only state in which a worker may change the job. */
export function holdsLease<S extends LeaseState>(state: S | null | undefined, lease: LeaseRef): state is S {
  return !!state && state.token === lease.token && state.job.id === lease.jobId && state.job.status === JobStatus.RUNNING;
}

/** True for a job a worker may claim once due (PENDING, SCHEDULED, RETRYING). */
export function isClaimable(job: Job): boolean {
  const s = job.status;
  return s === JobStatus.PENDING || s === JobStatus.SCHEDULED || s === JobStatus.RETRYING;
}

/**
 * After a transition: true when the job now waits to be claimed, so idle workers should be told
 * (a retry, a release, a redrive or an enqueue). The same test as {@link isClaimable}, named for
 * the question a driver asks before notifying.
 */
export const becameClaimable: (job: Job) => boolean = isClaimable;

/** True when the job's lease has run out at `now`: another worker may claim it again. */
export function leaseExpired(state: LeaseState, now: number): boolean {
  return state.job.status === JobStatus.RUNNING && state.leaseExpiresAt <= now;
}

/** True for finished jobs that retention removes (COMPLETED, CANCELLED); FAILED and DEAD_LETTER stay. */
export function isRetained(status: JobStatus): boolean {
  return status === JobStatus.COMPLETED || status === JobStatus.CANCELLED;
}

/** True when {@link cancel} applies: the job is waiting (PENDING, SCHEDULED, RETRYING), or RUNNING when `running`. */
export function canCancel(job: Job, running = false): boolean {
  return isClaimable(job) || (running && job.status === JobStatus.RUNNING);
}

/**
 * True when `lease` held the job until it was cancelled while running: extendLease then answers
 * "cancelled", so the holder aborts its handler with JobCancelledError instead of "lease lost".
 */
export function cancelledUnder(state: LeaseState | null | undefined, lease: LeaseRef): boolean {
  return !!state && state.job.status === JobStatus.CANCELLED && state.token !== null && state.token === lease.token;
}

/** True when {@link redrive} applies: the job is DEAD_LETTER or FAILED. */
export function canRedrive(job: Job): boolean {
  return job.status === JobStatus.DEAD_LETTER || job.status === JobStatus.FAILED;
}

/** A due job (or one whose lease expired) is claimed: RUNNING under a new lease, one more attempt. */
export function claim(state: LeaseState, token: string, now: number, leaseMs: number): void {
  const job = state.job;
  job.status = JobStatus.RUNNING;
  job.startedAt = new Date(now);
  job.attempts++;
  state.token = token;
  state.leaseExpiresAt = now + leaseMs;
}

/** The lease now lasts until now + leaseMs. The caller checked {@link holdsLease}. */
export function extendLease(state: LeaseState, now: number, leaseMs: number): void {
  state.leaseExpiresAt = now + leaseMs;
}

/** The handler succeeded: COMPLETED with its result (undefined stored as null). */
export function complete(state: LeaseState, result: unknown, now: number): void {
  const job = state.job;
  job.status = JobStatus.COMPLETED;
  job.completedAt = new Date(now);
  job.result = result === undefined ? null : result;
  state.token = null;
}

/** An attempt failed: RETRYING at `outcome.retryAt` (one more retry counted), FAILED or DEAD_LETTER. */
export function fail(state: LeaseState, errorMessage: string, outcome: FailureOutcome, now: number): void {
  const job = state.job;
  job.errorMessage = errorMessage;
  job.failedAt = new Date(now);
  state.token = null;
  if (outcome.status === JobStatus.RETRYING) {
    job.retryCount++;
    job.status = JobStatus.RETRYING;
    job.runAt = new Date(outcome.retryAt);
  } else {
    job.status = outcome.status;
  }
}

/**
 * The worker hands the job back unfinished (graceful stop): PENDING at its old due time. The
 * claim does not count as an attempt, so it is not a stall either.
 */
export function release(state: LeaseState): void {
  const job = state.job;
  job.status = JobStatus.PENDING;
  job.startedAt = null;
  job.attempts = Math.max(0, job.attempts - 1);
  state.token = null;
}

/**
 * A waiting or running job is cancelled. The caller checked {@link canCancel}. A running job keeps
 * its lease token (no longer a live lease: the status is not RUNNING) for {@link cancelledUnder}.
 */
export function cancel(state: LeaseState): void {
  if (state.job.status !== JobStatus.RUNNING) state.token = null;
  state.job.status = JobStatus.CANCELLED;
}

/** The lease holder reports progress. The caller checked {@link holdsLease}. */
export function progress(state: LeaseState, value: JobProgress): void {
  state.job.progress = value;
}

/** A DEAD_LETTER or FAILED job is re-driven: PENDING now, starting afresh (no retries, no attempts). */
export function redrive(state: LeaseState, now: number): void {
  const job = state.job;
  job.status = JobStatus.PENDING;
  job.retryCount = 0;
  job.attempts = 0;
  job.runAt = new Date(now);
  state.token = null;
}

/**
 * Folds (queue, status, count) triples into {@link QueueStats}. Queue names are data: each is
 * defined as an own property, so a queue named `__proto__` is counted like any other instead of
 * setting the object's prototype (or, through `??=`, adding counts to Object.prototype). The
 * objects stay plain, so they survive structured clone and Durable Object RPC.
 */
export function foldStats(counts: Iterable<readonly [queueName: string, status: JobStatus, n: number]>, paused: readonly string[] = []): QueueStats {
  const byStatus = emptyStatusCounts();
  const byQueue: QueueStats["byQueue"] = {};
  let total = 0;
  for (const [queueName, status, n] of counts) {
    let queue = Object.hasOwn(byQueue, queueName) ? byQueue[queueName]! : undefined;
    if (!queue) {
      queue = emptyStatusCounts();
      Object.defineProperty(byQueue, queueName, { value: queue, enumerable: true, writable: true, configurable: true });
    }
    queue[status] += n;
    byStatus[status] += n;
    total += n;
  }
  return { total, byStatus, byQueue, paused: [...paused].sort() };
}

/**
 * The due time of a debounced job that takes `incoming`'s place: the incoming job's due time
 * (its now + delayMs), never past the waiting job's first creation + maxDelayMs.
 */
export function debouncedRunAt(waiting: Job, incoming: Job): number {
  const max = incoming.debounce?.maxDelayMs;
  const due = incoming.runAt.getTime();
  return max === undefined ? due : Math.min(due, waiting.createdAt.getTime() + max);
}

/**
 * A waiting job takes a debounced job's payload and options (its id, creation time and seq stay):
 * due at {@link debouncedRunAt}, PENDING when that is not after the incoming job's creation,
 * SCHEDULED otherwise. The caller checked {@link isClaimable} and the key.
 */
export function debounceInto(state: LeaseState, incoming: Job): void {
  const job = state.job;
  const runAt = debouncedRunAt(job, incoming);
  job.jobType = incoming.jobType;
  job.payload = incoming.payload;
  job.priority = incoming.priority;
  job.maxRetries = incoming.maxRetries;
  job.metadata = incoming.metadata;
  job.createdBy = incoming.createdBy;
  job.timeoutMs = incoming.timeoutMs;
  setFlow(job, incoming);
  job.runAt = new Date(runAt);
  const future = runAt > incoming.createdAt.getTime();
  job.scheduledAt = future ? new Date(runAt) : null;
  job.status = future ? JobStatus.SCHEDULED : JobStatus.PENDING;
  state.token = null;
}

/** Copies the flow-control fields of `from` onto `job`, deleting the ones `from` lacks. */
function setFlow(job: Job, from: Job): void {
  if (from.concurrencyKey !== undefined) {
    job.concurrencyKey = from.concurrencyKey;
    job.concurrencyLimit = from.concurrencyLimit ?? 1;
  } else {
    delete job.concurrencyKey;
    delete job.concurrencyLimit;
  }
  if (from.rateLimit !== undefined) job.rateLimit = from.rateLimit;
  else delete job.rateLimit;
  if (from.debounce !== undefined) job.debounce = from.debounce;
  else delete job.debounce;
}

/** True when a job uses any claim-time flow control (a concurrency key or a rate limit). */
export function isGated(job: Job): boolean {
  return job.concurrencyKey !== undefined || job.rateLimit !== undefined;
}

/**
 * When a rate-limited key may start again: `starts` are the key's start times in ascending
 * order; null when a start is allowed at `now` (fewer than `limit` starts in the window ending now).
 */
export function rateAllowedAt(starts: readonly number[], from: number, limit: number, periodMs: number, now: number): number | null {
  const inWindow = starts.length - from;
  if (inWindow < limit) return null;
  const at = starts[starts.length - limit]! + periodMs;
  return at <= now ? null : at;
}
