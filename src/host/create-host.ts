/**
 * The wiring shared by the server runtime shims (Node, Deno, Bun): one JobService and one
 * WorkerManager over a queue, the webhook trigger behind an HTTP server, the schedule trigger,
 * and a graceful stop on SIGINT/SIGTERM. Runtime-free: each shim passes a {@link RuntimeAdapter}
 * with its own server and signal APIs.
 * @module
 */
import { Hono } from "hono";
import {
  JobService,
  WorkerManager,
  jsonLogger,
  type BackoffOptions,
  type JobHandler,
  type JobQueue,
  type Logger,
  type RetentionOptions,
  type StandardSchemaV1,
} from "../core/index.ts";
import { createScheduleTrigger, type ScheduleConfig } from "../triggers/schedule/index.ts";
import { createWebhookTrigger, type WebhookTrigger, type WebhookTriggerOptions } from "../triggers/webhook/index.ts";
import { createDashboard, type DashboardOptions } from "../dashboard/index.ts";
import type { SqliteDatabase } from "../drivers/sqlite/database.ts";
import { openSqliteStore, type OwnedSqliteQueue } from "./sqlite-store.ts";
import type { Driver } from "unstorage";

type ScheduleTrigger = ReturnType<typeof createScheduleTrigger>;

/** Options of the webhook trigger as `serve()` takes them: everything but the job creator. */
export type ServeWebhookOptions = Omit<WebhookTriggerOptions, "jobCreator">;

/** Options of `serve()` in `portico-jobs/node`, `/deno` and `/bun`. */
export interface ServeOptions {
  /** One handler per job type; the webhook and createJob refuse other job types. */
  handlers: readonly JobHandler<any, any>[] | Record<string, JobHandler<any, any>>;
  /** Cron schedules, each creating one job per tick. */
  schedules?: ScheduleConfig[];
  /** Default IANA time zone of the schedules (default: the host's). */
  timezone?: string;
  /**
   * Options of the webhook trigger mounted at its prefix (default "/webhooks"), e.g.
   * `{ auth: { bearerToken } }`. `false` serves no webhook.
   */
  webhook?: ServeWebhookOptions | false;
  /**
   * The dashboard (portico-jobs/dashboard) at `basePath` (default "/admin"), e.g.
   * `{ auth: { bearerToken } }`; `auth: false` must be said explicitly. Default: none.
   */
  dashboard?: Omit<DashboardOptions, "jobService">;
  /**
   * The queue. Default: a SqliteJobQueue on `<storeDir>/jobs.sqlite`, durable across restarts and
   * shared by every process of this machine that uses the same file (closed by stop()). A queue
   * you pass is yours: stop() leaves it open.
   */
  queue?: JobQueue;
  /** TCP port (default 0: any free port; read the chosen one from `url`). */
  port?: number;
  /** Interface to listen on (default "127.0.0.1": loopback only). */
  hostname?: string;
  /** Most jobs running at once (default 4). */
  concurrency?: number;
  /** Queues the worker serves, in priority order (default ["default"]). */
  queues?: string[];
  /** Lease of a running job, renewed while it runs (default 30 s). */
  leaseMs?: number;
  /** Lost leases after which a job is dead-lettered unrun (default 3; see WorkerManagerOptions.maxStalls). */
  maxStalls?: number;
  backoff?: BackoffOptions;
  /** Payload schemas per job type, checked by createJob and the webhook. */
  schemas?: Record<string, StandardSchemaV1>;
  /** Structured logger (default: JSON lines on stdout). */
  logger?: Logger;
  /**
   * Directory of the default store (default "./.portico"): `jobs.sqlite` there. An fs store an
   * earlier version left in it is imported on the first start.
   */
  storeDir?: string;
  /** Finished jobs the default store keeps: count and age (default 1,000 / 24 h). */
  retention?: RetentionOptions;
  /**
   * @deprecated No effect: the default store is SQLite, which several processes share without an
   * owner lock. (It was the fs store's owner lock lifetime.)
   */
  lockTtlMs?: number;
  /** @deprecated No effect, like `lockTtlMs`. */
  lockWaitMs?: number;
  /**
   * Longest wait on stop (default 30 s) for running jobs (then released back to the queue) and,
   * at the same time, for webhook requests in flight (then those still sending their body are
   * answered 503 and every connection is closed).
   */
  shutdownTimeoutMs?: number;
  /**
   * Longest wait for a request's headers, from the connection's first byte (default 10 s). Node:
   * `server.headersTimeout` (answered 408 JSON); Bun: `idleTimeout` (seconds, closing idle
   * connections); Deno: Deno's own, not configurable.
   */
  headersTimeoutMs?: number;
  /**
   * Longest wait for a whole request, body included (default 30 s): the webhook answers 408
   * `request_timeout` on every runtime (its `bodyTimeoutMs` unless set); Node also applies it
   * as `server.requestTimeout`.
   */
  requestTimeoutMs?: number;
  /** Stop gracefully and exit on SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
}

/** A running service. */
export interface ServeHandle {
  /** Base URL, e.g. "http://127.0.0.1:43121". The webhook lives under `${url}/webhooks`. */
  url: string;
  jobService: JobService;
  workerManager: WorkerManager;
  queue: JobQueue;
  /** The webhook trigger, or null with `webhook: false`. */
  webhook: WebhookTrigger | null;
  /** Where the dashboard's page is (e.g. "http://127.0.0.1:43121/admin"), or null without `dashboard`. */
  dashboardUrl: string | null;
  /** The schedule trigger, or null without schedules. */
  schedule: ScheduleTrigger | null;
  /**
   * Stops the triggers, lets running jobs finish (up to `shutdownTimeoutMs`), closes the
   * default queue and the server. Idempotent.
   */
  stop(): Promise<void>;
}

/** A listening HTTP server, as a runtime shim provides it. */
export interface HttpServer {
  port: number;
  /** Stops listening and drops open connections (it does not wait for requests in flight). */
  close(): Promise<void>;
}

/** Where and how a runtime shim listens. */
export interface ListenOptions {
  hostname: string;
  port: number;
  /** See {@link ServeOptions.headersTimeoutMs}. */
  headersTimeoutMs: number;
  /** See {@link ServeOptions.requestTimeoutMs}. */
  requestTimeoutMs: number;
}

/** What a runtime shim supplies: its server, its signals, its exit. */
export interface RuntimeAdapter {
  /** Runtime name for logs ("node", "deno", "bun"). */
  name: string;
  listen(fetch: (request: Request) => Response | Promise<Response>, options: ListenOptions): Promise<HttpServer>;
  /** Opens a SQLite database file with the runtime's engine: the default store. */
  openSqlite(path: string): Promise<SqliteDatabase>;
  /** The unstorage driver of an fs store in `dir`, for its one-time import into the default store. */
  storeDriver?: (dir: string) => Driver;
  /** Calls `handler` on SIGINT and SIGTERM; returns a function removing the listeners. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
  /** Ends the process once a signal-initiated stop is over. */
  exit(code: number): void;
  /** Identifies this process in an fs store's lock while importing it, e.g. "pid 4242 (node)". */
  ownerLabel: string;
}

/** Stops started by a signal, shared by every service that runs here. */
const signalStops = new Set<Promise<void>>();

/** Starts a service on the given runtime. Used by each shim's `serve()`. */
export async function createHost(options: ServeOptions, runtime: RuntimeAdapter): Promise<ServeHandle> {
  if (!options || typeof options !== "object" || !options.handlers) {
    throw new TypeError("serve(): options.handlers is required (a list of JobHandler or a record keyed by job type)");
  }
  const logger = options.logger ?? jsonLogger;
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`serve(): port must be an integer 0-65535, got ${String(port)}`);
  const headersTimeoutMs = positiveMs(options.headersTimeoutMs ?? 10_000, "headersTimeoutMs");
  const requestTimeoutMs = positiveMs(options.requestTimeoutMs ?? 30_000, "requestTimeoutMs");
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;

  const cleanups: (() => Promise<void>)[] = [];
  const unwind = async () => {
    while (cleanups.length) await cleanups.pop()!().catch((error) => logger.error("host.stop_failed", { error }));
  };

  try {
    let owned: OwnedSqliteQueue | null = null;
    if (!options.queue) {
      owned = await openSqliteStore({
        dir: options.storeDir,
        open: (path) => runtime.openSqlite(path),
        retention: options.retention,
        logger,
        fsDriver: runtime.storeDriver,
        ownerLabel: runtime.ownerLabel,
      });
      cleanups.push(owned.dispose);
    }
    const queue: JobQueue = options.queue ?? owned!.queue;
    const jobService = new JobService({ queue, handlers: options.handlers, schemas: options.schemas });
    const workerManager = new WorkerManager({
      queue,
      handlers: options.handlers,
      queues: options.queues,
      concurrency: options.concurrency,
      leaseMs: options.leaseMs,
      maxStalls: options.maxStalls,
      backoff: options.backoff,
      logger,
    });

    const webhook =
      options.webhook === false
        ? null
        : createWebhookTrigger({ logger, bodyTimeoutMs: requestTimeoutMs, ...options.webhook, jobCreator: jobService });
    const schedule = options.schedules?.length
      ? createScheduleTrigger({ jobCreator: jobService, schedules: options.schedules, timezone: options.timezone, logger })
      : null;

    const app = new Hono();
    app.get("/health", (c) =>
      c.json({
        status: workerManager.isRunning ? "ok" : "stopping",
        worker: { is_running: workerManager.isRunning, active_jobs: workerManager.activeCount },
        webhook: webhook ? webhook.health() : null,
        schedule: schedule ? { is_running: schedule.isRunning } : null,
      }),
    );
    if (webhook) app.route("/", webhook.app);
    if (options.dashboard) app.route("/", createDashboard({ ...options.dashboard, jobService }));
    app.notFound((c) => c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
    app.onError((error, c) => {
      logger.error("host.request_failed", { path: c.req.path, error });
      return c.json({ error: { code: "internal_error", message: "Internal server error" } }, 500);
    });

    await workerManager.start();
    const stopWorker = () => workerManager.stop({ graceful: true, timeoutMs: shutdownTimeoutMs });
    cleanups.push(stopWorker);
    if (webhook) {
      await webhook.start();
      // The webhook's requests and the running jobs are waited for together, each at most
      // shutdownTimeoutMs, so a stalled upload cannot add to the jobs' grace time.
      cleanups[cleanups.length - 1] = () => settleAll([webhook.stop({ timeoutMs: shutdownTimeoutMs }), stopWorker()]);
    }
    const server = await runtime.listen((request) => app.fetch(request), { hostname, port, headersTimeoutMs, requestTimeoutMs });
    // Closed last: requests arriving during the stop get a clean 503 from the stopped webhook.
    cleanups.unshift(() => server.close());
    if (schedule) {
      await schedule.start();
      cleanups.push(() => schedule.stop());
    }

    const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}`;
    if (webhook && !(options.webhook && options.webhook.auth) && !isLoopback(hostname)) {
      logger.warn("host.webhook_unauthenticated", { url, hint: "set webhook.auth.bearerToken or signingSecrets before listening beyond loopback" });
    }

    let stopping: Promise<void> | null = null;
    let removeSignals = () => {};
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info("host.stopping", { runtime: runtime.name });
        // Reverse start order: schedule, webhook, worker (graceful), then queue and server.
        await unwind();
        // Only now: a signal arriving during the stop must still reach us (to force the exit).
        removeSignals();
        logger.info("host.stopped", { runtime: runtime.name });
      })();
      return stopping;
    };
    if (options.handleSignals ?? true) {
      let signalled = false;
      removeSignals = runtime.onShutdownSignal((signal) => {
        if (signalled) {
          // A second signal means "now": skip the rest of the graceful stop.
          logger.warn("host.forced_exit", { signal });
          runtime.exit(130);
          return;
        }
        signalled = true;
        logger.info("host.signal", { signal });
        const done = stop();
        signalStops.add(done);
        // Several services in one process all hear the signal: exit once every one has stopped.
        void done.then(
          async () => {
            const results = await Promise.allSettled([...signalStops]);
            runtime.exit(results.some((r) => r.status === "rejected") ? 1 : 0);
          },
          () => runtime.exit(1),
        );
      });
    }

    const dashboardUrl = options.dashboard ? `${url}${(options.dashboard.basePath ?? "/admin").replace(/\/+$/, "")}` : null;
    logger.info("host.listening", { runtime: runtime.name, url, webhook: webhook ? `${url}${webhookPrefix(options.webhook)}` : null, dashboard: dashboardUrl });
    return { url, jobService, workerManager, queue, webhook, dashboardUrl, schedule, stop };
  } catch (error) {
    await unwind();
    throw error;
  }
}

function positiveMs(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`serve(): ${name} must be a positive integer of milliseconds, got ${String(value)}`);
  return value;
}

/** Waits for every promise; then rejects with the first failure, if any. */
async function settleAll(promises: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

function webhookPrefix(webhook: ServeWebhookOptions | false | undefined): string {
  return (webhook ? webhook.prefix?.replace(/\/+$/, "") : undefined) ?? "/webhooks";
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
}

/** The part of Node's and Bun's `process` that {@link processSignals} uses. */
export interface SignalEmitter {
  on(signal: "SIGINT" | "SIGTERM", handler: (signal: string) => void): unknown;
  off(signal: "SIGINT" | "SIGTERM", handler: (signal: string) => void): unknown;
}

/**
 * `RuntimeAdapter.onShutdownSignal` for runtimes whose `process` emits signals (Node, Bun); the
 * shim passes its `process`, so no runtime global is read here.
 */
export function processSignals(emitter: SignalEmitter): RuntimeAdapter["onShutdownSignal"] {
  return (handler) => {
    emitter.on("SIGINT", handler);
    emitter.on("SIGTERM", handler);
    return () => {
      emitter.off("SIGINT", handler);
      emitter.off("SIGTERM", handler);
    };
  };
}
