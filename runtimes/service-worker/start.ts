/**
 * startServiceWorkerJobs: runs the IndexedDB queue's due jobs inside a service worker, on the
 * events that wake it (Background Sync, Periodic Background Sync, a page's message, activation),
 * so jobs created in a tab finish after the tab is closed.
 *
 * A service worker lives only while an event keeps it alive. Each wake-up is one run: start the
 * WorkerManager and let it claim until the queue has nothing left to do soon, or until the
 * event's claim budget ends; then give running handlers a grace period, release what is still
 * held (the jobs go back to the queue without a failure) and, when jobs remain, register the
 * sync again so that a later event continues where this one stopped. Chromium takes that
 * registration only while a window of the origin is open; with every tab closed, a sync run
 * that leaves jobs behind fails its event instead, and the browser retries the sync later
 * (Chromium: after 5, then 15 minutes, then gives up until a page registers again).
 * @module
 */
import {
  JobEventType,
  JobService,
  PorticoError,
  WorkerManager,
  systemClock,
  type BackoffOptions,
  type ClaimRequest,
  type Clock,
  type JobHandler,
  type JobQueue,
  type Logger,
} from "../../src/core/index.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { DEFAULT_SYNC_TAG, isRunJobsMessage, periodicSyncManagerOf, syncManagerOf, type SyncEventLike } from "./background-sync.ts";

/**
 * The members of ServiceWorkerGlobalScope used here, structurally, so that a page importing this
 * entry (for requestJobSync) type-checks under the DOM lib too.
 */
export interface ServiceWorkerScopeLike {
  readonly registration: unknown;
  addEventListener(type: string, listener: (event: ExtendableEventLike) => void): void;
}

/** An ExtendableEvent (and ExtendableMessageEvent's `data`), structurally. */
export interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
  readonly data?: unknown;
}

/** What woke the worker for a run. */
export type RunTrigger = "sync" | "periodicsync" | "message" | "activate";

/** How long one run may take: claim new jobs for `claimMs`, then wait up to `graceMs` for running ones. */
export interface RunBudget {
  claimMs: number;
  graceMs: number;
}

/**
 * Default budgets. Chromium ends a sync event after about 3 minutes and any other extended
 * event after 5, and may stop an idle worker 30 s after its last event; the budgets stay well
 * inside those limits so that the run, not the browser, decides where to stop.
 */
export const DEFAULT_RUN_BUDGETS: Readonly<Record<RunTrigger, RunBudget>> = Object.freeze({
  sync: { claimMs: 120_000, graceMs: 30_000 },
  periodicsync: { claimMs: 120_000, graceMs: 30_000 },
  message: { claimMs: 20_000, graceMs: 5_000 },
  activate: { claimMs: 20_000, graceMs: 5_000 },
});

/** Options of {@link startServiceWorkerJobs}. */
export interface ServiceWorkerJobsOptions {
  /** The handlers, as a list (keyed by jobType) or a record keyed by job type. */
  handlers: readonly JobHandler<any, any>[] | Record<string, JobHandler<any, any>>;
  /** The queue shared with the pages (default `new IndexedDBJobQueue()`, database "portico-jobs"). */
  queue?: JobQueue;
  /** Queues checked in this order (default ["default"]). */
  queues?: readonly string[];
  /** Most jobs running at once in the worker (default 4). */
  concurrency?: number;
  /** Background Sync tag, and the tag of the pages' fallback message (default "portico-jobs"). */
  syncTag?: string;
  /** Lease length (default 30 s): how long a job stays held after the browser kills the worker mid-job. */
  leaseMs?: number;
  backoff?: BackoffOptions;
  /** Handler timeout for jobs without their own timeoutMs. */
  timeoutMs?: number;
  logger?: Logger;
  /** Per-trigger budgets, merged over {@link DEFAULT_RUN_BUDGETS}. */
  budgets?: Partial<Record<RunTrigger, Partial<RunBudget>>>;
  /**
   * A run waits (up to its budget) for jobs due within this horizon, and a job due within it
   * when the run ends gets a new sync registration (default 15 minutes). Later ones (say a job
   * scheduled for tomorrow) wait for a periodic sync, where the browser grants one, or for the
   * next page load or message, rather than keeping the worker awake in a chain of sync events.
   */
  resyncWithinMs?: number;
  /**
   * Run jobs while the browser says it is offline (default false): by default no claim is made
   * while the worker's `navigator.onLine` is false, so a run that starts offline does nothing and
   * a run under way stops claiming when the browser goes offline. Set it for jobs that need no
   * network.
   */
  whileOffline?: boolean;
  /** The worker's global scope (default `self`); tests and wrappers pass their own. */
  scope?: ServiceWorkerScopeLike;
  clock?: Clock;
}

/** What one run did. */
export interface RunSummary {
  trigger: RunTrigger;
  /** Jobs this run started. */
  started: number;
  /** Jobs still running when the grace period ended, released back to the queue. */
  released: number;
  /** The earliest time a job of the queues becomes claimable after the run, or null. */
  nextWakeAt: number | null;
  /** True when the run registered a new sync (jobs remain). */
  resynced: boolean;
}

/** What {@link startServiceWorkerJobs} returns. */
export interface ServiceWorkerJobs {
  /** Creates jobs from inside the worker (same queue as the pages). */
  jobService: JobService;
  /** The worker that runs jobs during each run; listen to its job events here. */
  workerManager: WorkerManager;
  /**
   * Runs due jobs now under `trigger`'s budget (joining a run already under way) and resolves
   * when it ends. The event listeners call it inside `event.waitUntil`; call it from your own
   * events (a push, a fetch) the same way.
   */
  runDueJobs(trigger?: RunTrigger): Promise<RunSummary>;
}

interface Run {
  trigger: RunTrigger;
  claimUntil: number;
  graceMs: number;
  /** Set once the run stopped claiming: a new event then starts the next run after this one. */
  closing: boolean;
  started: number;
  done: Promise<RunSummary>;
}

/** Polling step of the "is anything still due?" check; each check is one indexed read. */
const TICK_MS = 100;

/** Job events that end a run of a job (anything else still active at the end of a stop was released). */
const FINISHED_EVENTS = [JobEventType.COMPLETED, JobEventType.RETRYING, JobEventType.FAILED, JobEventType.DEAD_LETTER, JobEventType.LEASE_LOST];

/**
 * Starts running jobs in this service worker. Call it once, at the top level of the worker's
 * script (event listeners must be added during the script's first evaluation).
 *
 * @example
 * ```ts
 * // sw.ts
 * import { startServiceWorkerJobs } from "portico-jobs/service-worker";
 * startServiceWorkerJobs({ handlers: [sendNote] });
 * ```
 */
export function startServiceWorkerJobs(options: ServiceWorkerJobsOptions): ServiceWorkerJobs {
  const opts = checkOptions(options);
  const scope = options.scope ?? (globalThis as unknown as ServiceWorkerScopeLike);
  const clock = options.clock ?? systemClock;
  const queue = options.queue ?? new IndexedDBJobQueue();
  const queues = options.queues?.length ? [...options.queues] : ["default"];
  const syncTag = opts.syncTag;
  const jobService = new JobService({ queue, handlers: Array.isArray(options.handlers) ? options.handlers : Object.values(options.handlers) });
  const workerManager = new WorkerManager({
    // Offline, a claimed job's fetch would fail and use up an attempt. The run checks the network
    // every tick, but an enqueue in a tab wakes the WorkerManager at once: the claim itself checks.
    queue: options.whileOffline ? queue : claimingOnlyOnline(queue),
    handlers: options.handlers,
    queues,
    ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    ...(options.leaseMs !== undefined && { leaseMs: options.leaseMs }),
    ...(options.backoff !== undefined && { backoff: options.backoff }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.logger !== undefined && { logger: options.logger }),
    clock,
  });
  let current: Run | null = null;
  workerManager.addEventListener(JobEventType.STARTED, () => {
    if (current) current.started++;
  });

  function runDueJobs(trigger: RunTrigger = "message"): Promise<RunSummary> {
    if (!options.whileOffline && isOffline() && (trigger === "message" || trigger === "activate")) {
      return Promise.resolve({ trigger, started: 0, released: 0, nextWakeAt: null, resynced: false });
    }
    const budget = opts.budgets[trigger];
    const claimUntil = clock() + budget.claimMs;
    const previous = current;
    if (previous && !previous.closing) {
      // One run at a time: a second event extends the run under way.
      previous.claimUntil = Math.max(previous.claimUntil, claimUntil);
      previous.graceMs = Math.max(previous.graceMs, budget.graceMs);
      return previous.done;
    }
    const run: Run = { trigger, claimUntil, graceMs: budget.graceMs, closing: false, started: 0, done: null as unknown as Promise<RunSummary> };
    run.done = (previous ? previous.done.catch(() => undefined) : Promise.resolve())
      .then(() => drive(run))
      .finally(() => {
        if (current === run) current = null;
      });
    current = run;
    return run.done;
  }

  async function drive(run: Run): Promise<RunSummary> {
    // Offline, the first claim's fetch would fail and use up an attempt: claim nothing.
    if (options.whileOffline || !isOffline()) await claimWhileDue(run);
    run.closing = true;
    const released = await stopAndCountReleased(run.graceMs);
    const nextWakeAt = await queue.nextWakeAt(queues, clock()).catch(() => null);
    const resynced = nextWakeAt !== null && nextWakeAt - clock() <= opts.resyncWithinMs ? await resync() : false;
    if (nextWakeAt !== null) await periodicResync(nextWakeAt);
    return { trigger: run.trigger, started: run.started, released, nextWakeAt, resynced };
  }

  /** Starts the WorkerManager and lets it claim until nothing is due soon, the budget ends or the browser goes offline. */
  async function claimWhileDue(run: Run): Promise<void> {
    await workerManager.start();
    let idleTicks = 0;
    try {
      for (;;) {
        await sleep(TICK_MS);
        const now = clock();
        if (now >= run.claimUntil) break;
        // Offline, every fetch would fail and use up an attempt: leave the jobs for the next sync.
        if (!options.whileOffline && isOffline()) break;
        if (workerManager.activeCount > 0) {
          idleTicks = 0;
          continue;
        }
        // Nothing running. A job due within the resync horizon (a retry, a lease held by a tab)
        // keeps the run waiting (the WorkerManager claims it when due) until the budget ends,
        // rather than ending at once and being woken again at once by the sync registered below.
        const next = await queue.nextWakeAt(queues, now);
        if (next === null || next - now > opts.resyncWithinMs) {
          // Twice in a row: a claim may be in flight between the read and the start of its jobs.
          if (++idleTicks >= 2) break;
        } else idleTicks = 0;
      }
    } catch (error) {
      options.logger?.error("service_worker.run_failed", { trigger: run.trigger, error });
    }
  }

  /** Stops claiming, waits up to `graceMs` for running jobs, releases the rest; returns how many were released. */
  async function stopAndCountReleased(graceMs: number): Promise<number> {
    let finished = 0;
    const onFinished = () => void finished++;
    for (const type of FINISHED_EVENTS) workerManager.addEventListener(type, onFinished);
    const before = workerManager.activeCount;
    try {
      await workerManager.stop({ graceful: true, timeoutMs: graceMs });
    } finally {
      for (const type of FINISHED_EVENTS) workerManager.removeEventListener(type, onFinished);
    }
    return Math.max(0, before - finished);
  }

  /** Registers the sync again; fired once this event is over (at once when online). */
  async function resync(): Promise<boolean> {
    const sync = syncManagerOf(scope.registration);
    if (!sync) return false;
    try {
      await sync.register(syncTag);
      return true;
    } catch (error) {
      // Expected with no window open: Chromium only takes registrations from a worker that has one.
      options.logger?.debug("service_worker.resync_refused", { tag: syncTag, error });
      return false;
    }
  }

  /** Asks for a periodic sync where the browser grants one (an installed app); silently skipped otherwise. */
  async function periodicResync(nextWakeAt: number): Promise<void> {
    const periodic = periodicSyncManagerOf(scope.registration);
    if (!periodic) return;
    try {
      await periodic.register(syncTag, { minInterval: Math.max(60_000, nextWakeAt - clock()) });
    } catch {
      // Not granted (no installed app, no engagement): the other triggers remain.
    }
  }

  scope.addEventListener("sync", (event) => {
    const e = event as SyncEventLike;
    if (e.tag !== syncTag) return;
    e.waitUntil(
      runDueJobs("sync").then((summary) => {
        // Jobs remain but no new registration was allowed (Chromium refuses one from a worker
        // with no window open): failing the event makes the browser retry this sync later with
        // its own backoff (minutes), which wakes the worker with every tab still closed.
        if (summary.nextWakeAt !== null && !summary.resynced && summary.nextWakeAt - clock() <= opts.resyncWithinMs && !e.lastChance) {
          throw new PorticoError("jobs_remaining", `portico-jobs: jobs remain in the queue (next due ${new Date(summary.nextWakeAt).toISOString()}); asking the browser to retry this sync`);
        }
      }),
    );
  });
  scope.addEventListener("periodicsync", (event) => {
    const e = event as SyncEventLike;
    if (e.tag === syncTag) e.waitUntil(runDueJobs("periodicsync"));
  });
  scope.addEventListener("message", (event) => {
    if (isRunJobsMessage(event.data, syncTag)) event.waitUntil(runDueJobs("message"));
  });
  scope.addEventListener("activate", (event) => {
    event.waitUntil(runDueJobs("activate"));
  });

  return { jobService, workerManager, runDueJobs };
}

interface CheckedOptions {
  syncTag: string;
  budgets: Record<RunTrigger, RunBudget>;
  resyncWithinMs: number;
}

function checkOptions(options: ServiceWorkerJobsOptions): CheckedOptions {
  const fail = (field: string, message: string) => new PorticoError("invalid_options", `startServiceWorkerJobs: options.${field} ${message}`);
  if (typeof options !== "object" || options === null) throw new PorticoError("invalid_options", "startServiceWorkerJobs: options must be an object with handlers");
  if (!options.handlers || typeof options.handlers !== "object") throw fail("handlers", "must be a list of job handlers or a record of them by job type");
  const syncTag = options.syncTag ?? DEFAULT_SYNC_TAG;
  if (typeof syncTag !== "string" || syncTag.length === 0) throw fail("syncTag", "must be a non-empty string");
  const budgets = {} as Record<RunTrigger, RunBudget>;
  for (const trigger of Object.keys(DEFAULT_RUN_BUDGETS) as RunTrigger[]) {
    const merged = { ...DEFAULT_RUN_BUDGETS[trigger], ...options.budgets?.[trigger] };
    for (const key of ["claimMs", "graceMs"] as const) {
      const value = merged[key];
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw fail(`budgets.${trigger}.${key}`, `must be a number of milliseconds >= 0, got ${String(value)}`);
    }
    budgets[trigger] = merged;
  }
  const resyncWithinMs = options.resyncWithinMs ?? 15 * 60_000;
  if (typeof resyncWithinMs !== "number" || Number.isNaN(resyncWithinMs) || resyncWithinMs < 0) throw fail("resyncWithinMs", `must be a number of milliseconds >= 0, got ${String(resyncWithinMs)}`);
  return { syncTag, budgets, resyncWithinMs };
}

/** The worker's `navigator.onLine`, false only when the browser knows it is offline. */
const isOffline = (): boolean => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false;

/** The queue with a claim that takes nothing while the browser says it is offline. */
function claimingOnlyOnline(queue: JobQueue): JobQueue {
  return new Proxy(queue, {
    get(target, property) {
      if (property === "claim") return (request: ClaimRequest) => (isOffline() ? Promise.resolve([]) : target.claim(request));
      // Bound to the queue itself: its methods use private fields, which a proxy does not have.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
