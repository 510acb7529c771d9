/**
 * The dashboard's JSON API: stats per queue, keyset-paginated job lists, one job, and the
 * operations (retry, cancel, pause, resume, bulk). Every error is `{ error: { code, message } }`.
 */
import { Hono, type Context } from "hono";
import {
  InvalidFilterError,
  JOB_STATUSES,
  PorticoError,
  THROUGHPUT_MINUTES,
  emptyStatusCounts,
  type BulkFilter,
  type JobService,
  type JobStatus,
  type QueueStats,
} from "../core/index.ts";
import { streamEvents } from "./events.ts";
import { whyWaiting } from "./waiting.ts";

/** Options the API routes need. */
export interface ApiOptions {
  jobService: JobService;
  readOnly: boolean;
  /** How often the event stream sends fresh stats (ms). */
  statsIntervalMs: number;
}

/** The JSON of an error, with a stable code. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

const STATUS_OF_CODE: Record<string, 400 | 404 | 409 | 501> = {
  invalid_filter: 400,
  validation_failed: 400,
  job_not_found: 404,
  invalid_job_state: 409,
  unsupported_operation: 501,
};

/** Maps thrown errors to JSON: PorticoErrors keep their code, anything else is a 500. */
export function errorResponse(c: Context, error: unknown): Response {
  if (error instanceof PorticoError && STATUS_OF_CODE[error.code]) {
    return c.json(errorBody(error.code, error.message), STATUS_OF_CODE[error.code]!);
  }
  return c.json(errorBody("internal_error", "Internal server error"), 500);
}

/** The API routes, relative to `{base}/api`. */
export function createApi(options: ApiOptions): Hono {
  const { jobService, readOnly } = options;
  const api = new Hono();

  // Mutations are refused before any work in read-only mode.
  const mutation = (c: Context, run: () => Promise<Response>): Promise<Response> | Response =>
    readOnly ? c.json(errorBody("read_only", "The dashboard is read-only"), 403) : run().catch((e) => errorResponse(c, e));

  api.get("/stats", async (c) => c.json(statsView(await jobService.stats(), Date.now())));

  api.get("/config", (c) => c.json({ readOnly, statuses: JOB_STATUSES, throughputMinutes: THROUGHPUT_MINUTES }));

  api.get("/jobs", async (c) => {
    const q = c.req.query();
    const known = new Set(["status", "queue", "type", "limit", "cursor", "id", "key"]);
    for (const key of Object.keys(q)) {
      if (!known.has(key)) return c.json(errorBody("invalid_query", `Unknown query parameter "${key}" (allowed: ${[...known].join(", ")})`), 400);
    }
    if (q.status !== undefined && !JOB_STATUSES.includes(q.status as JobStatus)) {
      return c.json(errorBody("invalid_query", `status must be one of ${JOB_STATUSES.join(", ")}`), 400);
    }
    let limit = 50;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!/^\d+$/.test(q.limit) || limit < 1 || limit > 500) return c.json(errorBody("invalid_query", "limit must be an integer from 1 to 500"), 400);
    }
    for (const key of ["queue", "type", "cursor", "id", "key"] as const) {
      if (q[key] === "") return c.json(errorBody("invalid_query", `${key} must not be empty`), 400);
    }
    try {
      if (q.id !== undefined) {
        // Looking a job up by id is a point read, whatever the other filters say.
        const job = await jobService.getJob(q.id);
        return c.json({ jobs: job ? [job] : [], nextCursor: null });
      }
      const page = await jobService.listJobsPage({
        status: q.status as JobStatus | undefined,
        queueName: q.queue,
        jobType: q.type,
        idempotencyKey: q.key,
        cursor: q.cursor,
        limit,
      });
      return c.json(page);
    } catch (error) {
      return errorResponse(c, error);
    }
  });

  api.get("/jobs/:id", async (c) => {
    const job = await jobService.getJob(c.req.param("id"));
    if (!job) return c.json(errorBody("job_not_found", `Job ${c.req.param("id")} does not exist`), 404);
    // For a waiting job, why it is not running (null otherwise).
    return c.json({ job, waiting: await whyWaiting(jobService.queue, job, Date.now()) });
  });

  api.post("/jobs/:id/retry", (c) =>
    mutation(c, async () => c.json({ job: await jobService.retryJob(c.req.param("id")) })),
  );

  api.post("/jobs/:id/cancel", (c) =>
    mutation(c, async () => {
      const id = c.req.param("id");
      if (await jobService.cancelJob(id)) return c.json({ job: await jobService.getJob(id) });
      const job = await jobService.getJob(id);
      if (!job) return c.json(errorBody("job_not_found", `Job ${id} does not exist`), 404);
      return c.json(errorBody("invalid_job_state", `Job ${id} is ${job.status}; only unfinished jobs can be cancelled`), 409);
    }),
  );

  for (const action of ["retry", "cancel", "purge"] as const) {
    api.post(`/jobs/${action}`, (c) =>
      mutation(c, async () => {
        const filter = await readBulkFilter(c);
        const count =
          action === "retry" ? await jobService.retryJobs(filter) : action === "cancel" ? await jobService.cancelJobs(filter) : await jobService.purgeJobs(filter);
        return c.json({ count });
      }),
    );
  }

  for (const action of ["pause", "resume"] as const) {
    api.post(`/queues/:name/${action}`, (c) =>
      mutation(c, async () => {
        const name = c.req.param("name");
        if (action === "pause") await jobService.pauseQueue(name);
        else await jobService.resumeQueue(name);
        return c.json({ queue: name, paused: action === "pause" });
      }),
    );
  }

  api.get("/events", (c) => streamEvents(c, jobService, options.statsIntervalMs, (stats) => statsView(stats, Date.now())));

  api.notFound((c) => c.json(errorBody("not_found", `No route for ${c.req.method} ${c.req.path}`), 404));
  return api;
}

/** Reads a bulk filter from a JSON body; dates arrive as ISO strings. */
async function readBulkFilter(c: Context): Promise<BulkFilter> {
  let body: unknown;
  try {
    const text = await c.req.text();
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new InvalidFilterError("body", "must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new InvalidFilterError("body", "must be a JSON object");
  const filter = { ...(body as Record<string, unknown>) };
  if (filter.olderThan !== undefined) {
    const at = typeof filter.olderThan === "string" ? new Date(filter.olderThan) : null;
    if (!at || Number.isNaN(at.getTime())) throw new InvalidFilterError("olderThan", "must be an ISO 8601 date string");
    filter.olderThan = at;
  }
  return filter as BulkFilter;
}

/** One queue in the stats response. */
export interface QueueView {
  name: string;
  total: number;
  counts: Record<JobStatus, number>;
  paused: boolean;
  /** One bucket per minute of the last THROUGHPUT_MINUTES, oldest first; null when the store keeps none. */
  throughput: { minute: string; completed: number; failed: number }[] | null;
}

/** The stats response: one entry per queue (sorted by name) and the totals. */
export function statsView(stats: QueueStats, now: number): { queues: QueueView[]; total: number; byStatus: Record<JobStatus, number>; paused: string[] } {
  const names = new Set([...Object.keys(stats.byQueue), ...stats.paused]);
  const thisMinute = now - (now % 60_000);
  const queues = [...names].sort().map((name): QueueView => {
    const counts = { ...emptyStatusCounts(), ...stats.byQueue[name] };
    const kept = stats.throughput?.[name];
    let throughput: QueueView["throughput"] = null;
    if (stats.throughput) {
      throughput = [];
      for (let i = THROUGHPUT_MINUTES - 1; i >= 0; i--) {
        const minute = thisMinute - i * 60_000;
        const b = kept?.find((x) => x.minute === minute);
        throughput.push({ minute: new Date(minute).toISOString(), completed: b?.completed ?? 0, failed: b?.failed ?? 0 });
      }
    }
    return { name, total: JOB_STATUSES.reduce((n, s) => n + counts[s], 0), counts, paused: stats.paused.includes(name), throughput };
  });
  return { queues, total: stats.total, byStatus: stats.byStatus, paused: stats.paused };
}
