/**
 * portico-jobs on Cloudflare Workers: `createWorker()` returns the Worker's `fetch` (the webhook
 * trigger) and `scheduled` (cron ticks to the schedule trigger); export `JobQueueDurableObject`
 * beside it. Jobs live in SQLite-backed Durable Objects and run inside their alarms.
 * @module
 */
import { JobService, type BackoffOptions, type HandlerList, type Logger } from "../../src/core/index.ts";
import { checkMaxStalls } from "../../src/core/failure.ts";
import { DurableObjectJobQueue, type DurableObjectJobQueueOptions, type JobQueueNamespace } from "../../src/drivers/durable-object/index.ts";
import { createScheduleTrigger, type ScheduleConfig, type ScheduleTrigger } from "../../src/triggers/schedule/index.ts";
import { createWebhookTrigger, type WebhookTrigger, type WebhookTriggerOptions } from "../../src/triggers/webhook/index.ts";
import { setAlarmRuntime } from "./registry.ts";
import { createDashboard, type DashboardOptions } from "../../src/dashboard/index.ts";
import type { Hono } from "hono";

export { JobQueueDurableObject } from "./durable-object.ts";
export { DurableObjectJobQueue } from "../../src/drivers/durable-object/index.ts";
export { postgresSocket, type PostgresSocket, type PostgresSocketOptions } from "./postgres-socket.ts";

/** Webhook options without the job creator (createWorker supplies it). */
export type WorkerWebhookOptions = Omit<WebhookTriggerOptions, "jobCreator">;

/** Options of {@link createWorker}. `Env` is the Worker's environment (bindings and vars). */
export interface CreateWorkerOptions<Env = Record<string, unknown>> {
  /** Handlers, run inside the Durable Object's alarm. */
  handlers: HandlerList;
  /** Cron schedules; list each cron in wrangler.toml `[triggers] crons` too. */
  schedules?: ScheduleConfig[];
  /** The webhook trigger; a function of env to read secrets such as a bearer token. */
  webhook?: WorkerWebhookOptions | ((env: Env) => WorkerWebhookOptions);
  /** The dashboard (portico-jobs/dashboard, default at /admin); a function of env to read its token. */
  dashboard?: Omit<DashboardOptions, "jobService"> | ((env: Env) => Omit<DashboardOptions, "jobService">);
  /** Name of the Durable Object binding in env (default "JOB_QUEUE"). */
  binding?: string;
  /** Sharding and retention of the queue (see DurableObjectJobQueue). */
  queue?: Omit<DurableObjectJobQueueOptions, "namespace">;
  /** Lease per claimed job (default 30 s); a job still running then may be run again. */
  leaseMs?: number;
  /** Handler timeout for jobs without their own timeoutMs (default 25 s). */
  timeoutMs?: number;
  /** Jobs one object runs concurrently per batch (default 10). */
  batchSize?: number;
  backoff?: BackoffOptions;
  /** Lost leases (evictions, crashes mid-job) after which a job is dead-lettered unrun (default 3; see WorkerManagerOptions.maxStalls). */
  maxStalls?: number;
  /** Receives the alarm's log lines, the same ones a WorkerManager writes (default JSON lines on the console). */
  logger?: Logger;
  /**
   * Receives the JobEvents of jobs run in the alarm (job:started, job:completed, ...), the same
   * ones a WorkerManager dispatches. Only listeners in the isolate running the alarm hear them.
   */
  events?: EventTarget;
}

/** The parts of a scheduled event the Worker uses. */
export interface ScheduledControllerLike {
  cron: string;
  scheduledTime: number;
}

/** The parts of an ExecutionContext the Worker uses. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

/** The Worker's default export. */
export interface PorticoWorker<Env> {
  fetch(request: Request, env: Env, ctx?: ExecutionContextLike): Promise<Response>;
  scheduled(controller: ScheduledControllerLike, env: Env, ctx?: ExecutionContextLike): Promise<void>;
}

interface Wired {
  jobService: JobService;
  webhook: WebhookTrigger | null;
  schedule: ScheduleTrigger | null;
  dashboard: { app: Hono; base: string } | null;
}

/**
 * Builds a Worker. Call it at module top level: the Durable Object's alarm finds the handlers
 * through it in every isolate of the script.
 * @example
 * ```ts
 * const worker = createWorker({ handlers: [echo], webhook: (env) => ({ auth: { bearerToken: env.WEBHOOK_TOKEN } }) });
 * export default worker;
 * export { JobQueueDurableObject } from "portico-jobs/cloudflare";
 * ```
 */
export function createWorker<Env = Record<string, unknown>>(options: CreateWorkerOptions<Env>): PorticoWorker<Env> {
  setAlarmRuntime({
    handlers: options.handlers,
    leaseMs: options.leaseMs ?? 30_000,
    timeoutMs: options.timeoutMs ?? 25_000,
    batchSize: options.batchSize ?? 10,
    backoff: options.backoff ?? {},
    maxStalls: checkMaxStalls(options.maxStalls, "createWorker"),
    retention: options.queue?.retention,
    logger: options.logger,
    events: options.events,
  });
  const binding = options.binding ?? "JOB_QUEUE";
  // env only arrives with the first event; the triggers are built then, once per isolate.
  let wired: Promise<Wired> | null = null;

  const wire = (env: Env): Promise<Wired> =>
    (wired ??= (async () => {
      const namespace = (env as Record<string, unknown>)[binding] as JobQueueNamespace | undefined;
      if (!namespace || typeof namespace.idFromName !== "function") {
        throw new Error(`createWorker: env.${binding} must be a Durable Object namespace bound to JobQueueDurableObject`);
      }
      const queue = new DurableObjectJobQueue({ ...options.queue, namespace });
      const jobService = new JobService({ queue, handlers: options.handlers });
      const webhookOptions = typeof options.webhook === "function" ? options.webhook(env) : options.webhook;
      const webhook = webhookOptions ? createWebhookTrigger({ ...webhookOptions, jobCreator: jobService }) : null;
      const schedule = options.schedules?.length
        ? createScheduleTrigger({ jobCreator: jobService, schedules: options.schedules, useTimers: false })
        : null;
      const dashboardOptions = typeof options.dashboard === "function" ? options.dashboard(env) : options.dashboard;
      const dashboard = dashboardOptions
        ? { app: createDashboard({ ...dashboardOptions, jobService }), base: (dashboardOptions.basePath ?? "/admin").replace(/\/+$/, "") }
        : null;
      await webhook?.start();
      await schedule?.start();
      return { jobService, webhook, schedule, dashboard };
    })().catch((error) => {
      wired = null;
      throw error;
    }));

  return {
    async fetch(request, env) {
      const { webhook, dashboard } = await wire(env);
      if (dashboard) {
        const path = new URL(request.url).pathname;
        if (path === dashboard.base || path.startsWith(`${dashboard.base}/`) || dashboard.base === "") return dashboard.app.fetch(request);
      }
      if (!webhook) return notFound();
      return webhook.app.fetch(request);
    },
    async scheduled(controller, env, ctx) {
      const { schedule } = await wire(env);
      if (!schedule) return;
      const done = schedule.fire(controller.cron, new Date(controller.scheduledTime));
      ctx?.waitUntil(done);
      await done;
    },
  };
}

function notFound(): Response {
  return Response.json({ error: { code: "not_found", message: "no webhook is configured on this Worker" } }, { status: 404 });
}
