/**
 * Runs claimed jobs inside the Durable Object through the core's JobRunner: the same rules,
 * events and log lines as WorkerManager, applied to one batch at a time.
 */
import type { ClaimedJob } from "../../src/core/index.ts";
import { JobRunner } from "../../src/core/run-job.ts";
import type { SqlJobStore } from "../../src/drivers/durable-object/index.ts";
import type { AlarmRuntime } from "./registry.ts";

/** Time a lease outlasts a handler's timeout, for recording the outcome. */
const LEASE_MARGIN_MS = 5_000;

/** Runs every job of the batch concurrently and records each outcome under its lease. */
export async function runClaimed(store: SqlJobStore, runtime: AlarmRuntime, batch: readonly ClaimedJob[]): Promise<void> {
  const runner = new JobRunner({
    handlers: runtime.handlers,
    store: {
      complete: async (lease, result, now) => store.complete(lease, result, now, runtime.retention),
      fail: async (lease, message, outcome, now) => store.fail(lease, message, outcome, now),
    },
    timeoutMs: runtime.timeoutMs,
    backoff: runtime.backoff,
    maxStalls: runtime.maxStalls,
    workerId: "alarm",
  });
  await Promise.all(
    batch.map((claim) =>
      runner.run(claim, {
        // Nothing renews a lease inside the alarm, so a job allowed to run longer than the lease
        // gets one that outlasts its timeout; otherwise it would be reclaimed and run twice.
        beforeRun: (timeoutMs) => {
          if (timeoutMs !== null && timeoutMs + LEASE_MARGIN_MS > runtime.leaseMs) store.extendLease(claim, timeoutMs + LEASE_MARGIN_MS, Date.now());
        },
      }),
    ),
  );
}
