/**
 * The one place that runs a claimed job: it finds the handler, invokes it under the job's
 * timeout and the caller's abort signal, checks what it returned, calls onFailure (whose own
 * errors are logged and change nothing), records the outcome under the lease, and reports it as
 * events and log lines. WorkerManager and the Durable Object's alarm both run jobs through
 * {@link JobRunner}, so a job behaves the same whichever runtime runs it.
 */
import type { BackoffOptions } from "./backoff.ts";
import { systemClock, type Clock } from "./clock.ts";
import { JobCancelledError, JobValidationError, PorticoError, type ValidationIssue } from "./errors.ts";
import { JobEventType } from "./events.ts";
import { JobStalledError, DEFAULT_MAX_STALLS, failureOutcome, stallsOf } from "./failure.ts";
import { handlerMap, type HandlerList } from "./handlers.ts";
import { JobStatus, type Job, type JobProgress, type JobResult } from "./job.ts";
import { cloneJson } from "./json.ts";
import { guardedLogger, jsonLogger, type Logger } from "./logger.ts";
import type { JobContext, JobHandler } from "./ports.ts";
import type { ClaimedJob, JobQueue } from "./queue.ts";

/** Error given to handlers (via the abort signal) and onFailure when a job exceeds its timeout. */
export class JobTimeoutError extends PorticoError {
  constructor(ms: number) {
    super("job_timeout", `Job timed out after ${ms} ms`);
  }
}

/** Abort reason when the worker lost a job's lease or is shutting down. */
export class JobAbortedError extends PorticoError {
  constructor(reason: "lease_lost" | "shutdown") {
    super(`job_${reason}`, reason === "lease_lost" ? "The job's lease was lost" : "The worker is shutting down");
  }
}

/** What a JobEvent is built from. */
export interface JobEventInit {
  job: Job;
  error?: Error | null;
  result?: unknown;
}

/** Options of {@link JobRunner}. */
export interface JobRunnerOptions {
  handlers: HandlerList | ReadonlyMap<string, JobHandler<any, any>>;
  /** Where outcomes are recorded, under the claim's lease. */
  store: Pick<JobQueue, "complete" | "fail"> & Partial<Pick<JobQueue, "progress">>;
  /** Wrapped so that its own failures never interrupt a job (default JSON lines). */
  logger?: Logger;
  /** Receives each lifecycle event (WorkerManager dispatches them on itself). */
  emit?: (type: JobEventType, init: JobEventInit) => void;
  /** Handler timeout for jobs without their own timeoutMs (default none). */
  timeoutMs?: number | null;
  backoff?: BackoffOptions;
  /** Lost leases after which a job is dead-lettered unrun (default 3; validated by the caller). */
  maxStalls?: number;
  /** Names the runner in log lines. */
  workerId: string;
  clock?: Clock;
}

/** How one run ended. */
export type RunOutcome =
  | typeof JobStatus.COMPLETED
  | typeof JobStatus.RETRYING
  | typeof JobStatus.FAILED
  | typeof JobStatus.DEAD_LETTER
  /** The store refused the outcome (another worker holds the job now), or the caller saw the lease lost. */
  | "lease_lost"
  /** The caller released the claim (shutdown): nothing was recorded. */
  | "released"
  /** The job was cancelled while it ran (the store said so at a lease renewal): nothing was recorded. */
  | "cancelled"
  /** The store threw while recording the outcome (logged); the lease will expire and the job run again. */
  | "store_failed";

/** What the caller of {@link JobRunner.run} controls about one run. */
export interface RunControl {
  /** Aborted by the caller on a lost lease or a stop; the runner aborts it on timeout. */
  controller?: AbortController;
  /**
   * Asked after the handler settles and after onFailure: "released" ends the run without
   * recording or reporting anything; "lost" reports the lease as lost instead of the outcome.
   */
  interrupted?: () => "released" | "lost" | "cancelled" | null;
  /** Called before the handler runs (not for a stalled job), with the job's effective timeout. */
  beforeRun?: (timeoutMs: number | null) => void | Promise<void>;
}

/** Runs claimed jobs with one set of handlers and rules. */
export class JobRunner {
  readonly workerId: string;
  /** The runner's logger, already guarded; callers log their own lines through it too. */
  readonly logger: Logger;
  readonly #handlers: ReadonlyMap<string, JobHandler<any, any>>;
  readonly #store: Pick<JobQueue, "complete" | "fail"> & Partial<Pick<JobQueue, "progress">>;
  readonly #emit: (type: JobEventType, init: JobEventInit) => void;
  readonly #timeoutMs: number | null;
  readonly #backoff: BackoffOptions;
  readonly #maxStalls: number;
  readonly #clock: Clock;

  constructor(options: JobRunnerOptions) {
    const h = options.handlers;
    this.#handlers = h instanceof Map ? h : handlerMap(h as HandlerList);
    this.#store = options.store;
    this.logger = guardedLogger(options.logger ?? jsonLogger);
    this.#emit = options.emit ?? (() => {});
    this.#timeoutMs = options.timeoutMs ?? null;
    this.#backoff = options.backoff ?? {};
    this.#maxStalls = options.maxStalls ?? DEFAULT_MAX_STALLS;
    this.workerId = options.workerId;
    this.#clock = options.clock ?? systemClock;
  }

  /** The timeout a job runs under: its own, else the runner's default (null = none). */
  timeoutOf(job: Job): number | null {
    return job.timeoutMs ?? this.#timeoutMs;
  }

  /** Runs one claimed job to its recorded outcome. Never rejects. */
  async run(claim: ClaimedJob, control: RunControl = {}): Promise<RunOutcome> {
    const job = claim.job;
    const controller = control.controller ?? new AbortController();
    const interrupted = control.interrupted ?? (() => null);
    // Claims before this one that ended with no outcome recorded: lost leases.
    const stalls = stallsOf(job);
    const stalled = stalls > this.#maxStalls;
    let result: JobResult;
    if (stalled) {
      result = { success: false, retryable: false, error: new JobStalledError(stalls) };
    } else {
      this.#emit(JobEventType.STARTED, { job });
      try {
        await control.beforeRun?.(this.timeoutOf(job));
      } catch (error) {
        this.logger.warn("job.before_run_failed", { jobId: job.id, jobType: job.jobType, workerId: this.workerId, error });
      }
      result = await this.#invoke(claim, controller);
    }
    const cut = this.#interruption(job, interrupted());
    if (cut) return cut;
    const now = this.#clock();
    if (result.success) {
      const resultData = result.resultData ?? null;
      const ok = await this.#record(() => this.#store.complete(claim, resultData, now), job);
      if (ok === undefined) return "store_failed";
      if (!ok) return this.#lost(job, false);
      const done: Job = { ...job, status: JobStatus.COMPLETED, completedAt: new Date(now), result: resultData };
      this.logger.debug("job.completed", { jobId: job.id, jobType: job.jobType, durationMs: now - (job.startedAt?.getTime() ?? now) });
      this.#emit(JobEventType.COMPLETED, { job: done, result: result.resultData });
      return JobStatus.COMPLETED;
    }
    const error = result.error ?? new PorticoError("job_failed", `Handler for "${job.jobType}" returned success=false`);
    await this.#onFailure(job, error);
    const cutAfterHook = this.#interruption(job, interrupted());
    if (cutAfterHook) return cutAfterHook;
    const outcome = failureOutcome(job, result.retryable, stalled, now, this.#backoff);
    const message = error.message || String(error);
    const ok = await this.#record(() => this.#store.fail(claim, message, outcome, this.#clock()), job);
    if (ok === undefined) return "store_failed";
    if (!ok) return this.#lost(job, false);
    const retrying = outcome.status === JobStatus.RETRYING;
    const after: Job = {
      ...job,
      status: outcome.status,
      errorMessage: message,
      failedAt: new Date(now),
      retryCount: retrying ? job.retryCount + 1 : job.retryCount,
      runAt: retrying ? new Date(outcome.retryAt) : job.runAt,
    };
    const fields = { jobId: job.id, jobType: job.jobType, retryCount: after.retryCount, maxRetries: job.maxRetries, error: message };
    if (outcome.status === JobStatus.RETRYING) {
      this.logger.warn("job.retrying", { ...fields, retryAt: new Date(outcome.retryAt).toISOString() });
      this.#emit(JobEventType.RETRYING, { job: after, error });
    } else if (outcome.status === JobStatus.FAILED) {
      this.logger.error("job.failed", fields);
      this.#emit(JobEventType.FAILED, { job: after, error });
    } else {
      this.logger.error("job.dead_letter", fields);
      this.#emit(JobEventType.DEAD_LETTER, { job: after, error });
    }
    return outcome.status;
  }

  #interruption(job: Job, state: "released" | "lost" | "cancelled" | null): RunOutcome | null {
    if (state === "released") return "released";
    if (state === "cancelled") {
      this.logger.info("job.cancelled", { jobId: job.id, jobType: job.jobType, workerId: this.workerId });
      this.#emit(JobEventType.CANCELLED, { job: { ...job, status: JobStatus.CANCELLED }, error: new JobCancelledError(job.id) });
      return "cancelled";
    }
    if (state === "lost") return this.#lost(job, true);
    return null;
  }

  /** Reports a lost lease; `seen` when the caller noticed it (the store refusing says it on its own). */
  #lost(job: Job, seen: boolean): "lease_lost" {
    if (seen) this.logger.warn("job.lease_lost", { jobId: job.id, jobType: job.jobType, workerId: this.workerId });
    this.#emit(JobEventType.LEASE_LOST, { job });
    return "lease_lost";
  }

  /** Runs the handler, turning throws, timeouts, aborts and malformed results into a failed JobResult. */
  async #invoke(claim: ClaimedJob, controller: AbortController): Promise<JobResult> {
    const job = claim.job;
    const handler = this.#handlers.get(job.jobType);
    if (!handler) {
      return { success: false, retryable: false, error: new PorticoError("unknown_job_type", `No handler registered for job type "${job.jobType}"`) };
    }
    const timeoutMs = this.timeoutOf(job);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutMs !== null) timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    // Settles as soon as the signal aborts, even when the handler ignores the signal.
    const aborted = new Promise<never>((_, reject) => {
      const onAbort = () => reject(controller.signal.reason);
      if (controller.signal.aborted) onAbort();
      else controller.signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      const result = await Promise.race([handler.handle(job, this.#context(claim, controller.signal)), aborted]);
      if (!result || typeof result !== "object" || typeof result.success !== "boolean") {
        return { success: false, error: new PorticoError("invalid_result", `Handler for "${job.jobType}" did not return a JobResult`) };
      }
      return result;
    } catch (error) {
      return { success: false, error: error instanceof Error ? error : new Error(String(error)) };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** The handler's context: its signal, its attempt, and progress reports under the claim's lease. */
  #context(claim: ClaimedJob, signal: AbortSignal): JobContext {
    const job = claim.job;
    return {
      signal,
      attempt: job.attempts,
      progress: async (value: JobProgress) => {
        const issues: ValidationIssue[] = [];
        const stored = checkProgress(value, issues);
        if (issues.length) throw new JobValidationError(job.jobType, issues);
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new JobAbortedError("lease_lost");
        // A store without progress (not yet every one) still gets the event, so handlers stay portable.
        if (this.#store.progress && !(await this.#store.progress(claim, stored, this.#clock()))) throw new JobAbortedError("lease_lost");
        this.#emit(JobEventType.PROGRESS, { job: { ...job, progress: stored }, result: stored });
      },
    };
  }

  async #onFailure(job: Job, error: Error): Promise<void> {
    const handler = this.#handlers.get(job.jobType);
    if (!handler?.onFailure) return;
    try {
      await handler.onFailure(job, error);
    } catch (hookError) {
      // The seed's rule: onFailure's own errors are logged and never change the retry decision.
      this.logger.error("job.on_failure_error", { jobId: job.id, jobType: job.jobType, error: hookError });
    }
  }

  /** Runs a store write; a thrown store error is logged and reported as undefined (the lease will expire). */
  async #record(write: () => Promise<boolean>, job: Job): Promise<boolean | undefined> {
    try {
      return await write();
    } catch (error) {
      this.logger.error("job.store_failed", { jobId: job.id, jobType: job.jobType, error });
      return undefined;
    }
  }
}

/** A progress value as stored: a finite number, or a JSON copy of a plain object. */
function checkProgress(value: unknown, issues: ValidationIssue[]): JobProgress {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) issues.push({ path: "progress", message: "must be a finite number or a JSON object" });
    return value;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    issues.push({ path: "progress", message: "must be a finite number or a JSON object" });
    return 0;
  }
  return cloneJson(value, "progress", issues, { maxBytes: 64 * 1024 }) as JobProgress;
}
