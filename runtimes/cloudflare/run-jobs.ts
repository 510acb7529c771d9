/**
 * Runs claimed jobs inside the Durable Object: the same rules as WorkerManager (timeouts,
 * retries with backoff, onFailure, dead letters), applied to one batch at a time.
 */
import { JobStalledError, failureOutcome, stallsOf, type ClaimedJob, type JobResult } from "../../src/core/index.ts";
import type { SqlJobStore } from "../../src/drivers/durable-object/index.ts";
import type { AlarmRuntime } from "./registry.ts";

/** Time a lease outlasts a handler's timeout, for recording the outcome. */
const LEASE_MARGIN_MS = 5_000;

/** Runs every job of the batch concurrently and records each outcome under its lease. */
export async function runClaimed(store: SqlJobStore, runtime: AlarmRuntime, batch: readonly ClaimedJob[]): Promise<void> {
  await Promise.all(batch.map((claim) => runOne(store, runtime, claim)));
}

async function runOne(store: SqlJobStore, runtime: AlarmRuntime, claim: ClaimedJob): Promise<void> {
  const job = claim.job;
  // Claims before this one that ended with no outcome: the object was evicted or crashed mid-job.
  const stalls = stallsOf(job);
  const stalled = stalls > runtime.maxStalls;
  // Nothing renews a lease inside the alarm, so a job allowed to run longer than the lease gets
  // one that outlasts its timeout; otherwise it would be reclaimed and run twice.
  const limit = job.timeoutMs ?? runtime.timeoutMs;
  if (!stalled && limit + LEASE_MARGIN_MS > runtime.leaseMs) store.extendLease(claim, limit + LEASE_MARGIN_MS, Date.now());
  const result: JobResult = stalled ? { success: false, retryable: false, error: new JobStalledError(stalls) } : await invoke(runtime, claim);
  const now = Date.now();
  if (result.success) {
    store.complete(claim, result.resultData ?? null, now, runtime.retention);
    return;
  }
  const error = result.error ?? new Error(`Handler for "${job.jobType}" returned success=false`);
  const handler = runtime.handlers.get(job.jobType);
  try {
    await handler?.onFailure?.(job, error);
  } catch (e) {
    console.error(JSON.stringify({ event: "job.on_failure_error", jobId: job.id, error: String(e) }));
  }
  const outcome = failureOutcome(job, result.retryable, stalled, now, runtime.backoff);
  store.fail(claim, error.message || String(error), outcome, Date.now());
}

/** Calls the handler, turning a throw, a timeout or an unknown type into a failed result. */
async function invoke(runtime: AlarmRuntime, claim: ClaimedJob): Promise<JobResult> {
  const job = claim.job;
  const handler = runtime.handlers.get(job.jobType);
  if (!handler) return { success: false, retryable: false, error: new Error(`No handler for job type "${job.jobType}"`) };
  const controller = new AbortController();
  const ms = job.timeoutMs ?? runtime.timeoutMs;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<JobResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`Job timed out after ${ms} ms`));
      resolve({ success: false, error: new Error(`Job timed out after ${ms} ms`) });
    }, ms);
  });
  try {
    return await Promise.race([handler.handle(job, { signal: controller.signal }), timeout]);
  } catch (e) {
    return { success: false, error: e instanceof Error ? e : new Error(String(e)) };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
