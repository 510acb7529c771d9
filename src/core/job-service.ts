/** JobService: the JobCreator implementation plus job management over a queue driver. */
import { systemClock, type Clock } from "./clock.ts";
import {
  InvalidFilterError,
  JobNotFoundError,
  JobStateError,
  JobValidationError,
  JobWaitTimeoutError,
  UnknownJobTypeError,
  StorageFullError,
  UnsupportedOperationError,
  type ValidationIssue,
} from "./errors.ts";
import { JobEvent, JobEventType, JobServiceEventTarget, QueueEvent, QueueEventType } from "./events.ts";
import { JOB_STATUSES, JobStatus, NAME_PATTERN, NAME_RULE, isFinished, isWaiting, type CreateJobOptions, type Debounce, type Job, type QueueStats, type RateLimit } from "./job.ts";
import { handlerMap, type HandlerList } from "./handlers.ts";
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAYLOAD_BYTES, cloneJson, type JsonLimits } from "./json.ts";
import { randomId } from "./random-id.ts";
import type { JobCreator } from "./ports.ts";
import { ANY_JOB, type BulkAction, type BulkFilter, type JobPage, type JobQueue, type ListFilter, type PageFilter } from "./queue.ts";
import type { JobSpecOf, JobTypeOf, PayloadArg, PayloadOf, Untyped } from "./registry.ts";
import { formatIssuePath, type StandardSchemaV1 } from "./standard-schema.ts";

/**
 * Marks a job returned by createJob/createJobs that already existed (a repeated idempotency key).
 * A registered symbol, so it works across copies of this module; non-enumerable, so it never
 * reaches a store or a JSON response.
 */
const DUPLICATE = Symbol.for("portico-jobs.duplicate");

/** True when createJob returned an existing job instead of creating one (repeated idempotency key). */
export function isDuplicateJob(job: Job): boolean {
  return (job as unknown as Record<symbol, unknown>)[DUPLICATE] === true;
}

function markDuplicate(job: Job): Job {
  Object.defineProperty(job, DUPLICATE, { value: true, enumerable: false });
  return job;
}

/** One entry of {@link JobService.createJobs}. */
export interface JobSpec {
  jobType: string;
  payload: unknown;
  options?: CreateJobOptions;
}

/** Options of {@link JobService}. */
export interface JobServiceOptions<H extends HandlerList | undefined = HandlerList | undefined> {
  queue: JobQueue;
  /**
   * When given, createJob rejects job types without a handler, and its job type and payload are
   * typed from the handlers (see {@link JobService}).
   */
  handlers?: H;
  /** Standard Schema (e.g. valibot) per job type; the schema's output becomes the stored payload. */
  schemas?: Record<string, StandardSchemaV1>;
  /** Largest payload (and metadata), in bytes of its UTF-8 JSON; default 1 MiB. Over it: JobValidationError, `limit: "size"`. */
  maxPayloadBytes?: number;
  /** Most levels of nesting of a payload or metadata; default 256. Over it: JobValidationError, `limit: "depth"`. */
  maxDepth?: number;
  /**
   * Most waiting jobs (PENDING, SCHEDULED, RETRYING, in every queue) the store may hold; a
   * creation that would pass it fails with {@link StorageFullError} (`storage_full`; the webhook
   * answers 507) and writes nothing. Default: no limit. Needs a store with `countWaiting`: every
   * built-in store has one, read on each creation as `countWaiting({ cached: true })`, so a
   * creation never scans the queue. It is a soft limit: concurrent creations may overshoot it by
   * the jobs in flight; on PostgreSQL, other processes' changes show within the queue's
   * `waitingCountMaxAgeMs` (1 s), so they may overshoot it by what they create in that time, and
   * room their workers make shows as late. A duplicate idempotency key is refused like a new job.
   */
  maxWaitingJobs?: number;
  clock?: Clock;
}

/** Filter of {@link JobService.listJobs}. */
export type JobFilter = ListFilter;

/** Options of {@link JobService.waitForJob}. */
export interface WaitForJobOptions {
  /** Reject with {@link JobWaitTimeoutError} after this many milliseconds (default: wait for ever). */
  timeoutMs?: number;
  /** Reject with the signal's reason once it aborts. */
  signal?: AbortSignal;
}

/** Longest sleep between two reads of a job while waiting on a store without notifications. */
const WAIT_POLL_MAX_MS = 1_000;
const WAIT_POLL_MIN_MS = 10;

/**
 * Creates, inspects, cancels and re-drives jobs, and operates queues (pause, bulk actions).
 * Implements {@link JobCreator}. Dispatches `job:cancelled` ({@link JobEvent}) and
 * `queue:paused` / `queue:resumed` ({@link QueueEvent}).
 *
 * Built with a handler list, it is typed by it: createJob's job type is the union of the
 * handlers' job types and its payload the matching handler's payload type, so a wrong payload
 * or an unknown type does not compile. Without handlers (or as `JobService<any>`) any job type
 * and payload type-check, as the JobCreator port says.
 *
 * Input limits, checked before anything is written: job types and queue names match
 * {@link NAME_PATTERN}; payload and metadata are at most `maxPayloadBytes` of JSON (1 MiB) and
 * `maxDepth` levels deep (256).
 */
export class JobService<const H extends HandlerList | undefined = any> extends JobServiceEventTarget implements JobCreator {
  readonly queue: JobQueue;
  readonly #knownTypes: Set<string> | null;
  readonly #schemas: Record<string, StandardSchemaV1>;
  readonly #clock: Clock;
  readonly #maxBytes: number;
  readonly #maxDepth: number;
  readonly #maxWaiting: number | null;

  constructor(options: JobServiceOptions<H>) {
    super();
    this.queue = options.queue;
    const handlers = options.handlers as HandlerList | undefined;
    this.#knownTypes = handlers ? new Set(handlerMap(handlers).keys()) : null;
    this.#schemas = options.schemas ?? {};
    this.#clock = options.clock ?? systemClock;
    this.#maxBytes = positiveInt(options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, "maxPayloadBytes");
    this.#maxDepth = positiveInt(options.maxDepth, DEFAULT_MAX_DEPTH, "maxDepth");
    this.#maxWaiting = options.maxWaitingJobs === undefined ? null : positiveInt(options.maxWaitingJobs, 0, "maxWaitingJobs");
    if (this.#maxWaiting !== null && typeof this.queue.countWaiting !== "function") {
      throw new RangeError(`JobService: maxWaitingJobs needs a store that counts its waiting jobs (countWaiting); ${this.queue.constructor.name} does not`);
    }
  }

  /**
   * Validates and enqueues one job. Returns the existing job when `idempotencyKey` was already
   * used in the queue.
   * @throws {UnknownJobTypeError} handlers were given and none handles `jobType`
   * @throws {StorageFullError} `maxWaitingJobs` is set and the store already holds that many waiting jobs
   * @throws {JobValidationError} payload or options are invalid or over a limit; nothing is stored
   */
  // Untyped: the payload type is inferred, or given as createJob<P>(...). Typed: only given.
  createJob<P extends PayloadOf<H, JobTypeOf<H>> = never>(jobType: JobTypeOf<H>, payload: Untyped<H, P, NoInfer<P>>, options?: CreateJobOptions): Promise<Job<P>>;
  // Typed: the payload type of the handler for `jobType` (inferred when that handler says `unknown`).
  createJob<T extends JobTypeOf<H>, P = never>(jobType: T, payload: PayloadArg<H, T, P>, options?: CreateJobOptions): Promise<Job<PayloadArg<H, T, P>>>;
  async createJob(jobType: string, payload: unknown, options: CreateJobOptions = {}): Promise<Job> {
    const built = this.#build({ jobType, payload, options }, this.#clock());
    // Without a schema the job is built synchronously: no extra await on the hot path.
    const job = built instanceof Promise ? await built : built;
    if (this.#maxWaiting !== null) await this.#checkRoom(1);
    const [stored] = await this.queue.enqueue([job]);
    return stored!.created ? stored!.job : markDuplicate(stored!.job);
  }

  /** Validates every job first, then stores them all in one store operation (all or nothing). */
  async createJobs(specs: readonly JobSpecOf<H>[]): Promise<Job[]> {
    const now = this.#clock();
    const jobs = await Promise.all(specs.map(async (spec) => this.#build(spec as JobSpec, now)));
    if (jobs.length === 0) return [];
    if (this.#maxWaiting !== null) await this.#checkRoom(jobs.length);
    return (await this.queue.enqueue(jobs)).map((r) => (r.created ? r.job : markDuplicate(r.job)));
  }

  async #checkRoom(adding: number): Promise<void> {
    const waiting = await this.queue.countWaiting!({ cached: true });
    if (waiting + adding > this.#maxWaiting!) throw new StorageFullError(this.#maxWaiting!, waiting, adding);
  }

  getJob(id: string): Promise<Job | null> {
    return this.queue.get(id);
  }

  /**
   * Cancels a job that has not finished: pending, scheduled, waiting for a retry, or running
   * (then CANCELLED at once; the worker holding it aborts the handler's signal with
   * JobCancelledError at its next lease renewal, and its complete/fail is refused).
   * Resolves false for a finished or unknown job.
   */
  async cancelJob(id: string): Promise<boolean> {
    const ok = await this.queue.cancel(id, this.#clock(), { running: true });
    if (ok) {
      const job = await this.queue.get(id);
      if (job) this.dispatchEvent(new JobEvent(JobEventType.CANCELLED, { job }));
    }
    return ok;
  }

  /**
   * Resolves with the job once it is COMPLETED, FAILED, DEAD_LETTER or CANCELLED (result
   * included), also when another process ran it. Listens to the store's change notification
   * where it has one (subscribed before the first read, so a finish in between is not missed);
   * otherwise reads the job again with a growing pause (up to 1 s), or sleeps until a waiting
   * job's due time. Never a busy loop.
   * @throws {JobNotFoundError} the job does not exist (or was removed while waiting)
   * @throws {JobWaitTimeoutError} not finished within `timeoutMs`
   */
  async waitForJob(id: string, options: WaitForJobOptions = {}): Promise<Job> {
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && (typeof timeoutMs !== "number" || !(timeoutMs >= 0))) {
      throw new RangeError(`waitForJob: timeoutMs must be a number >= 0, got ${String(timeoutMs)}`);
    }
    signal?.throwIfAborted();
    const deadline = timeoutMs === undefined ? null : this.#clock() + timeoutMs;
    let dirty = false;
    let wake: (() => void) | null = null;
    const poke = () => {
      dirty = true;
      wake?.();
    };
    const unwatch = this.queue.watch?.((change) => {
      if (change.jobId === id || change.jobId === ANY_JOB) poke();
    });
    signal?.addEventListener("abort", poke);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      let pause = WAIT_POLL_MIN_MS;
      for (;;) {
        dirty = false;
        const job = await this.queue.get(id);
        if (!job) throw new JobNotFoundError(id);
        if (isFinished(job.status)) return job;
        signal?.throwIfAborted();
        const now = this.#clock();
        if (deadline !== null && now >= deadline) throw new JobWaitTimeoutError(id, timeoutMs!);
        if (dirty) continue;
        // With notifications, a long safety read only; a waiting job sleeps until it is due.
        let ms = unwatch ? 30_000 : pause;
        if (isWaiting(job.status) && job.runAt.getTime() > now) ms = Math.max(ms, job.runAt.getTime() - now);
        if (deadline !== null) ms = Math.min(ms, deadline - now);
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, Math.max(1, ms));
        });
        if (timer !== undefined) clearTimeout(timer);
        wake = null;
        pause = Math.min(pause * 2, WAIT_POLL_MAX_MS);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      unwatch?.();
      signal?.removeEventListener("abort", poke);
    }
  }

  /** Pauses a queue for every worker of this store; enqueue still works. Dispatches `queue:paused`. */
  async pauseQueue(name: string): Promise<void> {
    await this.#setPaused(name, true);
  }

  /** Resumes a paused queue. Dispatches `queue:resumed`. */
  async resumeQueue(name: string): Promise<void> {
    await this.#setPaused(name, false);
  }

  async #setPaused(name: string, paused: boolean): Promise<void> {
    const op = paused ? "pauseQueue" : "resumeQueue";
    if (typeof name !== "string" || name.length === 0 || name.length > 512) {
      throw new InvalidFilterError("queueName", `${op} needs a non-empty queue name of at most 512 characters`);
    }
    if (!this.queue.setPaused) throw new UnsupportedOperationError(op);
    const changed = await this.queue.setPaused(name, paused, this.#clock());
    if (changed) this.dispatchEvent(new QueueEvent(paused ? QueueEventType.PAUSED : QueueEventType.RESUMED, name));
  }

  /** Re-drives every DEAD_LETTER or FAILED job matching the filter, in one store operation. */
  retryJobs(filter: BulkFilter): Promise<number> {
    return this.#bulk("retry", filter);
  }

  /** Cancels every unfinished job (running ones too) matching the filter, in one store operation. */
  cancelJobs(filter: BulkFilter): Promise<number> {
    return this.#bulk("cancel", filter);
  }

  /** Removes every finished job matching the filter, in one store operation. */
  purgeJobs(filter: BulkFilter): Promise<number> {
    return this.#bulk("purge", filter);
  }

  async #bulk(action: BulkAction, filter: BulkFilter): Promise<number> {
    const checked = checkBulkFilter(action, filter);
    if (!this.queue.bulk) throw new UnsupportedOperationError(`${action}Jobs`);
    return this.queue.bulk(action, checked, this.#clock());
  }

  /** One page of jobs, newest first; pass `nextCursor` back as `cursor` for the next page. */
  async listJobsPage(filter: PageFilter = {}): Promise<JobPage> {
    if (!this.queue.listPage) throw new UnsupportedOperationError("listJobsPage");
    return this.queue.listPage(filter);
  }

  listJobs(filter: JobFilter = {}): Promise<Job[]> {
    return this.queue.list(filter);
  }

  /**
   * Puts a dead-lettered or failed job back in its queue with a fresh retry budget.
   * @throws {JobNotFoundError} | {JobStateError}
   */
  async retryJob(id: string): Promise<Job> {
    const job = await this.queue.retry(id, this.#clock());
    if (job) return job;
    const current = await this.queue.get(id);
    if (!current) throw new JobNotFoundError(id);
    throw new JobStateError(`Job ${id} is ${current.status}; only dead_letter or failed jobs can be retried`);
  }

  async stats(): Promise<QueueStats> {
    const stats = await this.queue.stats();
    return stats.paused ? stats : { ...stats, paused: [] };
  }

  /**
   * Checks the spec and builds the job; a Promise only when a payload schema has to run (it may be
   * async). Throws synchronously otherwise, so callers must call it inside an async function.
   */
  #build(spec: JobSpec, now: number): Job | Promise<Job> {
    const { jobType } = spec;
    if (typeof jobType !== "string" || !NAME_PATTERN.test(jobType)) {
      throw new JobValidationError(String(jobType), [{ path: "jobType", message: NAME_RULE }]);
    }
    // JavaScript callers may pass null (treated as no options) or a non-object (rejected by name).
    const options: CreateJobOptions = spec.options ?? {};
    if (typeof options !== "object" || Array.isArray(options)) {
      throw new JobValidationError(jobType, [{ path: "options", message: `must be an object, got ${typeof options}` }]);
    }
    if (this.#knownTypes && !this.#knownTypes.has(jobType)) {
      throw new UnknownJobTypeError(jobType, [...this.#knownTypes]);
    }
    // Own keys only: a job type such as "constructor" must not find Object.prototype members.
    const schema = Object.hasOwn(this.#schemas, jobType) ? this.#schemas[jobType] : undefined;
    if (!schema) return this.#assemble(jobType, spec.payload, options, now);
    // Limits first, so no schema walks input that can never be stored. The schema still gets
    // the raw payload: it may turn non-JSON input (a Date) into JSON.
    const pre: ValidationIssue[] = [];
    const limits = this.#limits();
    cloneJson(spec.payload, "payload", pre, limits);
    if (limits.exceeded) throw new JobValidationError(jobType, pre, limits.exceeded);
    return (async () => {
      const result = await schema["~standard"].validate(spec.payload);
      if (result.issues) {
        throw new JobValidationError(
          jobType,
          result.issues.map((i) => ({ path: formatIssuePath("payload", i.path), message: i.message })),
        );
      }
      return this.#assemble(jobType, result.value, options, now);
    })();
  }

  #limits(): JsonLimits {
    return { maxBytes: this.#maxBytes, maxDepth: this.#maxDepth };
  }

  /** Copies and checks the payload and options, and builds the stored job. */
  #assemble(jobType: string, rawPayload: unknown, options: CreateJobOptions, now: number): Job {
    const issues: ValidationIssue[] = [];
    const limits = this.#limits();
    const payload = cloneJson(rawPayload, "payload", issues, limits);
    const o = readOptions(options, now, issues, limits);
    if (issues.length) throw new JobValidationError(jobType, issues, limits.exceeded ?? null);
    const createdAt = new Date(now);
    let scheduledAt = o.scheduledAt;
    if (o.debounce) {
      // A debounced job first waits delayMs (or maxDelayMs when shorter) unless it was asked to wait longer.
      const due = now + Math.min(o.debounce.delayMs, o.debounce.maxDelayMs ?? Infinity);
      if (due > now && (scheduledAt === null || scheduledAt.getTime() < due)) scheduledAt = new Date(due);
    }
    const future = scheduledAt !== null && scheduledAt.getTime() > now;
    const job: Job = {
      id: randomId(),
      queueName: o.queueName,
      jobType,
      payload,
      priority: o.priority,
      maxRetries: o.maxRetries,
      retryCount: 0,
      scheduledAt,
      startedAt: null,
      completedAt: null,
      failedAt: null,
      status: future ? JobStatus.SCHEDULED : JobStatus.PENDING,
      errorMessage: null,
      createdBy: o.createdBy,
      createdAt,
      metadata: o.metadata,
      idempotencyKey: o.idempotencyKey,
      result: null,
      runAt: future ? scheduledAt! : createdAt,
      attempts: 0,
      timeoutMs: o.timeoutMs,
      progress: null,
    };
    // Flow-control fields only when used, so plain jobs keep the shape every store round-trips.
    if (o.concurrencyKey !== null) {
      job.concurrencyKey = o.concurrencyKey;
      job.concurrencyLimit = o.concurrencyLimit;
    }
    if (o.rateLimit) job.rateLimit = o.rateLimit;
    if (o.debounce) job.debounce = o.debounce;
    return job;
  }
}

// Module-level helpers rather than closures inside readOptions: nothing to allocate per job.
function bad(issues: ValidationIssue[], field: string, message: string): void {
  issues.push({ path: `options.${field}`, message });
}

function readInt(options: CreateJobOptions, field: keyof CreateJobOptions, fallback: number, min: number, issues: ValidationIssue[]): number {
  const v = options[field];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    bad(issues, field, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return fallback;
  }
  return v;
}

function readKey(options: CreateJobOptions, field: "queueName" | "createdBy" | "idempotencyKey", issues: ValidationIssue[]): string | null {
  const v = options[field];
  if (v === undefined || v === null) return null;
  if (field === "queueName") {
    if (typeof v === "string" && NAME_PATTERN.test(v)) return v;
    bad(issues, field, NAME_RULE);
  } else if (typeof v !== "string" || v.length === 0 || v.length > 512) {
    bad(issues, field, "must be a non-empty string of at most 512 characters");
  } else return v;
  return null;
}

/** A flow-control key: a non-empty string of at most 512 characters. */
function flowKey(v: unknown, field: string, issues: ValidationIssue[]): string | null {
  if (typeof v === "string" && v.length > 0 && v.length <= 512) return v;
  bad(issues, field, `must be a non-empty string of at most 512 characters, got ${JSON.stringify(v) ?? typeof v}`);
  return null;
}

function flowInt(v: unknown, field: string, min: number, issues: ValidationIssue[]): number | null {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= min) return v;
  bad(issues, field, `must be an integer >= ${min}, got ${JSON.stringify(v) ?? typeof v}`);
  return null;
}

function flowObject(v: unknown, field: string, issues: ValidationIssue[]): Record<string, unknown> | null {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  bad(issues, field, "must be an object");
  return null;
}

/** concurrencyKey/concurrencyLimit, rateLimit and debounce, each field checked by name. */
function readFlow(options: CreateJobOptions, issues: ValidationIssue[]) {
  let concurrencyKey: string | null = null;
  let concurrencyLimit = 1;
  if (options.concurrencyKey !== undefined) concurrencyKey = flowKey(options.concurrencyKey, "concurrencyKey", issues);
  if (options.concurrencyLimit !== undefined) {
    concurrencyLimit = flowInt(options.concurrencyLimit, "concurrencyLimit", 1, issues) ?? 1;
    if (options.concurrencyKey === undefined) bad(issues, "concurrencyLimit", "needs options.concurrencyKey");
  }
  let rateLimit: RateLimit | null = null;
  if (options.rateLimit !== undefined) {
    const r = flowObject(options.rateLimit, "rateLimit", issues);
    if (r) {
      const key = flowKey(r.key, "rateLimit.key", issues);
      const limit = flowInt(r.limit, "rateLimit.limit", 1, issues);
      const periodMs = flowInt(r.periodMs, "rateLimit.periodMs", 1, issues);
      if (key !== null && limit !== null && periodMs !== null) rateLimit = { key, limit, periodMs };
    }
  }
  let debounce: Debounce | null = null;
  if (options.debounce !== undefined) {
    const d = flowObject(options.debounce, "debounce", issues);
    if (d) {
      const key = flowKey(d.key, "debounce.key", issues);
      const delayMs = flowInt(d.delayMs, "debounce.delayMs", 0, issues);
      const maxDelayMs = d.maxDelayMs === undefined ? undefined : flowInt(d.maxDelayMs, "debounce.maxDelayMs", 0, issues);
      if (key !== null && delayMs !== null && maxDelayMs !== null) {
        debounce = maxDelayMs === undefined ? { key, delayMs } : { key, delayMs, maxDelayMs };
      }
    }
  }
  return { concurrencyKey, concurrencyLimit, rateLimit, debounce };
}

function positiveInt(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`JobService: ${field} must be a positive integer, got ${value}`);
  return value;
}

function readOptions(options: CreateJobOptions, now: number, issues: ValidationIssue[], limits: JsonLimits) {
  const priority = readInt(options, "priority", 0, Number.MIN_SAFE_INTEGER, issues);
  const maxRetries = readInt(options, "maxRetries", 3, 0, issues);
  const delayMs = readInt(options, "delayMs", 0, 0, issues);
  const timeoutMs = options.timeoutMs === undefined ? null : readInt(options, "timeoutMs", 0, 1, issues);
  let scheduledAt: Date | null = null;
  if (options.scheduledAt !== undefined) {
    if (!(options.scheduledAt instanceof Date) || Number.isNaN(options.scheduledAt.getTime())) {
      bad(issues, "scheduledAt", "must be a valid Date");
    } else {
      scheduledAt = new Date(options.scheduledAt.getTime());
    }
  } else if (delayMs > 0) {
    scheduledAt = new Date(now + delayMs);
  }
  let metadata: Record<string, unknown> = {};
  if (options.metadata !== undefined) {
    if (typeof options.metadata !== "object" || options.metadata === null || Array.isArray(options.metadata)) {
      bad(issues, "metadata", "must be a plain object");
    } else {
      metadata = cloneJson(options.metadata, "options.metadata", issues, limits) as Record<string, unknown>;
    }
  }
  return {
    queueName: readKey(options, "queueName", issues) ?? "default",
    priority,
    maxRetries,
    timeoutMs,
    scheduledAt,
    createdBy: readKey(options, "createdBy", issues),
    idempotencyKey: readKey(options, "idempotencyKey", issues),
    metadata,
    ...readFlow(options, issues),
  };
}

const BULK_STATUSES: Record<BulkAction, readonly JobStatus[]> = {
  retry: [JobStatus.DEAD_LETTER, JobStatus.FAILED],
  cancel: [JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.RETRYING, JobStatus.RUNNING],
  purge: [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.DEAD_LETTER, JobStatus.CANCELLED],
};
const BULK_KEYS = new Set(["status", "queueName", "jobType", "olderThan"]);

/** A copy of a bulk filter with its fields checked; an empty filter is refused, never "all jobs". */
function checkBulkFilter(action: BulkAction, filter: BulkFilter): BulkFilter {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw new InvalidFilterError("filter", "must be an object with status, queueName, jobType or olderThan");
  }
  for (const key of Object.keys(filter)) {
    if (!BULK_KEYS.has(key)) throw new InvalidFilterError(key, "unknown filter field (allowed: status, queueName, jobType, olderThan)");
  }
  const out: BulkFilter = {};
  const { status, queueName, jobType, olderThan } = filter;
  if (status !== undefined) {
    if (!JOB_STATUSES.includes(status)) throw new InvalidFilterError("status", `must be one of ${JOB_STATUSES.join(", ")}`);
    if (!BULK_STATUSES[action].includes(status)) {
      throw new InvalidFilterError("status", `${action} applies to ${BULK_STATUSES[action].join(", ")} jobs, not ${status}`);
    }
    out.status = status;
  }
  for (const [field, value] of [["queueName", queueName], ["jobType", jobType]] as const) {
    if (value === undefined) continue;
    if (typeof value !== "string" || value.length === 0) throw new InvalidFilterError(field, "must be a non-empty string");
    out[field] = value;
  }
  if (olderThan !== undefined) {
    if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) throw new InvalidFilterError("olderThan", "must be a valid Date");
    out.olderThan = new Date(olderThan.getTime());
  }
  if (Object.keys(out).length === 0) {
    throw new InvalidFilterError("filter", `${action}Jobs needs at least one of status, queueName, jobType, olderThan (an empty filter is refused)`);
  }
  return out;
}
