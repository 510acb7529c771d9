/**
 * WorkerManager: claims due jobs from named queues in order, runs them with bounded
 * concurrency, keeps their leases alive, retries failures with backoff and dead-letters
 * jobs whose retries are exhausted.
 */
import type { BackoffOptions } from "./backoff.ts";
import { systemClock, type Clock } from "./clock.ts";
import { JobEvent, JobEventTarget, type JobEventListener, type JobEventListenerOptions, type JobEventMap, type JobEventType } from "./events.ts";
import { checkMaxStalls } from "./failure.ts";
import type { HandlerList } from "./handlers.ts";
import type { Logger } from "./logger.ts";
import { randomId } from "./random-id.ts";
import { JobAbortedError, JobRunner, type JobEventInit } from "./run-job.ts";
import { JobCancelledError } from "./errors.ts";
import type { ClaimedJob, JobQueue } from "./queue.ts";

/** Options of {@link WorkerManager}. */
export interface WorkerManagerOptions {
  queue: JobQueue;
  /** Handlers as a list (keyed by their jobType) or a record keyed by job type. */
  handlers: HandlerList;
  /** Queues checked in this order (default ["default"]). */
  queues?: readonly string[];
  /** Most jobs running at once (default 4). */
  concurrency?: number;
  /** Lease length; renewed every third of it while a handler runs (default 30 s). */
  leaseMs?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
  /** Handler timeout for jobs without their own timeoutMs (default none). */
  timeoutMs?: number;
  /**
   * Longest idle sleep before asking the store again. Covers enqueues this process cannot
   * hear about (another process or isolate); in-process enqueues wake the worker at once.
   * Default 1,000 ms.
   */
  pollIntervalMs?: number;
  /**
   * How many times a job may lose its lease mid-run (its worker died, hung or was cut off) before
   * it is dead-lettered without running again (default 3). Guards against a job that crashes
   * every process that runs it; such losses do not count toward `maxRetries`. Released claims
   * (graceful stop) are not losses.
   */
  maxStalls?: number;
  /** Identifies this worker in leases and logs (default a random id). */
  workerId?: string;
  clock?: Clock;
}

/** Options of {@link WorkerManager.stop}. */
export interface StopOptions {
  /** Wait for running jobs (default true); false aborts them at once. */
  graceful?: boolean;
  /** How long a graceful stop waits before aborting and releasing the remaining jobs (default 30 s). */
  timeoutMs?: number;
}

interface Running {
  claim: ClaimedJob;
  controller: AbortController;
  /** Settles when the job's run is over, however it ended. */
  done: Promise<void>;
  /** Set once a stop released the lease: nothing may be written for this job afterwards. */
  released: boolean;
  lost: boolean;
  /** The store answered a renewal with "cancelled". */
  cancelled: boolean;
}

/** Runs jobs from a {@link JobQueue}. Dispatches {@link JobEvent}s (see {@link JobEventType}). */
export class WorkerManager extends JobEventTarget {
  readonly workerId: string;
  readonly #queue: JobQueue;
  readonly #runner: JobRunner;
  readonly #queues: readonly string[];
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #pollMs: number;
  readonly #clock: Clock;
  readonly #active = new Map<string, Running>();
  // Types that ever had a listener: events nobody listens to are not built. Never shrinks, so a
  // removeEventListener of an unknown listener can not hide events from a registered one.
  readonly #listenedTypes = new Set<string>();
  #running = false;
  #loop: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #unsubscribe: (() => void) | null = null;
  #renewTimer: ReturnType<typeof setInterval> | null = null;
  // Wake-up plumbing: `#dirty` remembers a signal that arrived while the loop was busy.
  #dirty = false;
  #wakeResolve: (() => void) | null = null;

  constructor(options: WorkerManagerOptions) {
    super();
    this.#queue = options.queue;
    this.#queues = options.queues?.length ? [...options.queues] : ["default"];
    this.#concurrency = positiveInt(options.concurrency ?? 4, "concurrency");
    this.#leaseMs = positiveInt(options.leaseMs ?? 30_000, "leaseMs");
    this.#pollMs = positiveInt(options.pollIntervalMs ?? 1_000, "pollIntervalMs");
    this.#clock = options.clock ?? systemClock;
    this.workerId = options.workerId ?? `worker-${randomId().slice(0, 8)}`;
    this.#runner = new JobRunner({
      handlers: options.handlers,
      store: this.#queue,
      logger: options.logger,
      emit: (type, init) => this.#emit(type, init),
      timeoutMs: options.timeoutMs ?? null,
      backoff: options.backoff,
      maxStalls: checkMaxStalls(options.maxStalls, "WorkerManager"),
      workerId: this.workerId,
      clock: this.#clock,
    });
    this.#logger = this.#runner.logger;
  }

  get isRunning(): boolean {
    return this.#running;
  }

  /** Number of jobs this worker is running right now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** Starts claiming jobs. Calling it again while running does nothing. */
  async start(): Promise<void> {
    // A start during a stop waits for the stop to finish, so the two never interleave.
    if (this.#stopping) await this.#stopping;
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#queue.subscribe?.(() => this.#wake()) ?? null;
    this.#logger.info("worker.started", { workerId: this.workerId, queues: this.#queues, concurrency: this.#concurrency });
    this.#loop = this.#runLoop();
  }

  /**
   * Stops claiming. A graceful stop waits up to `timeoutMs` for running jobs; then (or at once
   * when not graceful) their handlers are aborted and their leases released so that the jobs
   * return to the queue without counting a failure.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (!this.#running && !this.#loop) return Promise.resolve();
    this.#stopping = this.#shutdown(options).finally(() => (this.#stopping = null));
    return this.#stopping;
  }

  async #shutdown(options: StopOptions): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#wake();
    await this.#loop;
    this.#loop = null;
    const graceful = options.graceful ?? true;
    if (graceful && this.#active.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#active.values()].map((r) => r.done)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs ?? 30_000))),
      ]);
      if (timer !== undefined) clearTimeout(timer);
    }
    const leftover = [...this.#active.values()];
    await Promise.allSettled(
      leftover.map(async (r) => {
        r.released = true;
        r.controller.abort(new JobAbortedError("shutdown"));
        const ok = await this.#queue.release(r.claim, this.#clock());
        this.#logger.warn("job.released", { jobId: r.claim.jobId, workerId: this.workerId, released: ok });
      }),
    );
    for (const r of leftover) this.#active.delete(r.claim.jobId);
    this.#updateRenewTimer();
    this.#logger.info("worker.stopped", { workerId: this.workerId, released: leftover.length });
  }

  /** Typed: `job:completed` and the other {@link JobEventType} names give a {@link JobEvent}; other names do not compile. */
  override addEventListener<K extends keyof JobEventMap>(type: K, listener: JobEventListener<K> | null, options?: boolean | JobEventListenerOptions): void {
    this.#listenedTypes.add(type);
    super.addEventListener(type, listener, options);
  }

  #emit(type: JobEventType, init: JobEventInit): void {
    // Skipping event allocation when nobody listens keeps the hot path cheap.
    if (this.#listenedTypes.has(type)) this.dispatchEvent(new JobEvent(type, init));
  }

  #wake(): void {
    this.#dirty = true;
    const resolve = this.#wakeResolve;
    this.#wakeResolve = null;
    resolve?.();
  }

  /** Sleeps up to `ms`, returning early on a wake-up signal. */
  async #sleep(ms: number): Promise<void> {
    if (this.#dirty || !this.#running) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wakeResolve = resolve;
      timer = setTimeout(resolve, ms);
    });
    if (timer !== undefined) clearTimeout(timer);
    this.#wakeResolve = null;
  }

  async #runLoop(): Promise<void> {
    let errorDelay = 100;
    while (this.#running) {
      this.#dirty = false;
      const free = this.#concurrency - this.#active.size;
      if (free <= 0) {
        await this.#sleep(this.#pollMs);
        continue;
      }
      try {
        const now = this.#clock();
        const claimed = await this.#queue.claim({
          queues: this.#queues,
          limit: free,
          leaseMs: this.#leaseMs,
          workerId: this.workerId,
          now,
        });
        for (const c of claimed) this.#start(c);
        if (claimed.length === free) continue;
        const wakeAt = await this.#queue.nextWakeAt(this.#queues, this.#clock());
        const delay = wakeAt === null ? this.#pollMs : Math.min(this.#pollMs, Math.max(wakeAt - this.#clock(), 1));
        errorDelay = 100;
        await this.#sleep(delay);
      } catch (error) {
        // A store outage must not kill the loop; back off and try again.
        this.#logger.error("worker.claim_failed", { workerId: this.workerId, error });
        await this.#sleep(errorDelay);
        errorDelay = Math.min(errorDelay * 2, 10_000);
      }
    }
  }

  #start(claim: ClaimedJob): void {
    const running: Running = {
      claim,
      controller: new AbortController(),
      done: Promise.resolve(),
      released: false,
      lost: false,
      cancelled: false,
    };
    this.#active.set(claim.jobId, running);
    this.#updateRenewTimer();
    running.done = this.#execute(running).finally(() => {
      if (this.#active.get(claim.jobId) === running) this.#active.delete(claim.jobId);
      this.#updateRenewTimer();
      this.#wake();
    });
  }

  async #execute(running: Running): Promise<void> {
    await this.#runner.run(running.claim, {
      controller: running.controller,
      interrupted: () => (running.released ? "released" : running.cancelled ? "cancelled" : running.lost ? "lost" : null),
    });
  }

  #updateRenewTimer(): void {
    if (this.#active.size > 0 && !this.#renewTimer) {
      this.#renewTimer = setInterval(() => void this.#renewLeases(), Math.max(1, Math.floor(this.#leaseMs / 3)));
    } else if (this.#active.size === 0 && this.#renewTimer) {
      clearInterval(this.#renewTimer);
      this.#renewTimer = null;
    }
  }

  async #renewLeases(): Promise<void> {
    const now = this.#clock();
    await Promise.all(
      [...this.#active.values()].map(async (r) => {
        if (r.released || r.lost) return;
        try {
          const ok = await this.#queue.extendLease(r.claim, this.#leaseMs, now);
          if (ok === "cancelled" && !r.released) {
            // Cancelled by an operator: the store refuses this worker's outcome from now on.
            r.lost = true;
            r.cancelled = true;
            r.controller.abort(new JobCancelledError(r.claim.jobId));
          } else if (!ok && !r.released) {
            r.lost = true;
            r.controller.abort(new JobAbortedError("lease_lost"));
          }
        } catch (error) {
          this.#logger.warn("job.lease_renew_failed", { jobId: r.claim.jobId, error });
        }
      }),
    );
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`WorkerManager: ${name} must be a positive integer, got ${value}`);
  return value;
}
