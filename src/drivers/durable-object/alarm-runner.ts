/**
 * What a job-queue Durable Object needs to run jobs in its alarm, and the batch runner that does
 * it through the core's {@link JobRunner}: the same timeout, unknown-type, invalid-result,
 * onFailure, event and log rules as WorkerManager.
 */
import { JobCancelledError, JobEvent, type BackoffOptions, type ClaimedJob, type Logger, type RetentionOptions } from "../../core/index.ts";
import type { HandlerList } from "../../core/handlers.ts";
import { JobRunner } from "../../core/run-job.ts";
import type { SqlJobStore } from "./sql-job-store.ts";

/** What the alarm needs to run jobs (createWorker builds it). */
export interface AlarmRuntime {
  /** A list keyed by jobType or a record keyed by its keys, as everywhere. */
  handlers: HandlerList;
  /** Lease per claim; a handler running longer than this may run twice (default 30 s). */
  leaseMs: number;
  /** Default handler timeout when a job has none (default 25 s, inside the lease). */
  timeoutMs: number;
  /** Jobs claimed per batch inside one alarm (default 10). */
  batchSize: number;
  backoff: BackoffOptions;
  /** Lost leases after which a job is dead-lettered without running again. */
  maxStalls: number;
  /** Finished jobs kept by the object (createWorker's `queue.retention`), as for RPC completions. */
  retention?: RetentionOptions;
  /** Receives the same log lines as a WorkerManager's logger (default JSON lines). */
  logger?: Logger;
  /** Receives the same JobEvents a WorkerManager dispatches on itself. */
  events?: EventTarget;
}

/** Time a lease outlasts a handler's timeout, for recording the outcome. */
const LEASE_MARGIN_MS = 5_000;

/** Runs claimed batches of one object with one runtime. */
export class AlarmRunner {
  readonly #store: SqlJobStore;
  readonly #runtime: AlarmRuntime;
  readonly #runner: JobRunner;
  /** The jobs this alarm runs now, so a cancel reaching the object aborts its handler at once. */
  readonly #running = new Map<string, { controller: AbortController; cancelled: boolean }>();

  constructor(store: SqlJobStore, runtime: AlarmRuntime) {
    this.#store = store;
    this.#runtime = runtime;
    const events = runtime.events;
    this.#runner = new JobRunner({
      handlers: runtime.handlers,
      store: {
        complete: async (lease, result, now) => store.complete(lease, result, now, runtime.retention),
        fail: async (lease, message, outcome, now) => store.fail(lease, message, outcome, now),
        progress: async (lease, value) => store.progress(lease, value),
      },
      logger: runtime.logger,
      emit: events ? (type, init) => events.dispatchEvent(new JobEvent(type, init)) : undefined,
      timeoutMs: runtime.timeoutMs,
      backoff: runtime.backoff,
      maxStalls: runtime.maxStalls,
      workerId: "alarm",
    });
  }

  /** Runs every job of the batch concurrently and records each outcome under its lease. */
  async run(batch: readonly ClaimedJob[]): Promise<void> {
    const leaseMs = this.#runtime.leaseMs;
    await Promise.all(
      batch.map(async (claim) => {
        const running = { controller: new AbortController(), cancelled: false };
        this.#running.set(claim.jobId, running);
        try {
          await this.#runner.run(claim, {
            controller: running.controller,
            interrupted: () => (running.cancelled ? "cancelled" : null),
            // Nothing renews a lease inside the alarm, so a job allowed to run longer than the lease
            // gets one that outlasts its timeout; otherwise it would be reclaimed and run twice.
            beforeRun: (timeoutMs) => {
              if (timeoutMs !== null && timeoutMs + LEASE_MARGIN_MS > leaseMs) this.#store.extendLease(claim, timeoutMs + LEASE_MARGIN_MS, Date.now());
            },
          });
        } finally {
          this.#running.delete(claim.jobId);
        }
      }),
    );
  }

  /**
   * The object cancelled jobs (by id, or every running one it holds when `ids` is omitted: the
   * store says which are CANCELLED now): their handlers are aborted with JobCancelledError and
   * the run ends as cancelled (job:cancelled), since no renewal in the alarm would tell them.
   */
  cancelled(ids?: readonly string[]): void {
    for (const [id, r] of this.#running) {
      if (r.cancelled || (ids !== undefined && !ids.includes(id))) continue;
      if (ids === undefined && this.#store.get(id)?.status !== "cancelled") continue;
      r.cancelled = true;
      r.controller.abort(new JobCancelledError(id));
    }
  }
}
