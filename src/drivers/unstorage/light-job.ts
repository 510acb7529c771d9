/**
 * LightJob: what the unstorage store keeps in memory per job. It is a {@link Job} to the core's
 * JobIndex and transitions, but holds only the fields scheduling reads (ids, queue, type, status,
 * priority, due and creation times, attempt counters, keys); times are kept as numbers. Every
 * other field (payload, metadata, result, error, progress, the other timestamps...) lives in
 * storage: a transition that sets one parks the value in `changes` until the store has written
 * it, then the store replaces the entry's LightJob with a fresh one (see UnstorageJobQueue).
 */
import type { Debounce, Job, JobProgress, JobStatus, RateLimit } from "../../core/index.ts";

/** The fields a LightJob keeps, as stored in a job's head key. */
export interface HeadRecord {
  id: string;
  queueName: string;
  jobType: string;
  status: JobStatus;
  priority: number;
  runAt: number;
  createdAt: number;
  attempts: number;
  retryCount: number;
  idempotencyKey: string | null;
  concurrencyKey?: string;
  concurrencyLimit?: number;
  rateLimit?: RateLimit;
  debounce?: Debounce;
}

/** Fields read through `changes`: set by a transition during one operation, otherwise in storage. */
const STORED_FIELDS = [
  "payload",
  "maxRetries",
  "scheduledAt",
  "startedAt",
  "completedAt",
  "failedAt",
  "errorMessage",
  "createdBy",
  "metadata",
  "result",
  "timeoutMs",
  "progress",
  "leasedBy",
] as const;

// Short strings repeated across jobs (queue names, job types) are shared, not kept once per job.
const interned = new Map<string, string>();
function intern(s: string): string {
  if (s.length > 64) return s;
  const known = interned.get(s);
  if (known !== undefined) return known;
  if (interned.size < 10_000) interned.set(s, s);
  return s;
}

/** A job's scheduling fields; see the module comment. */
export class LightJob implements Job {
  id: string;
  queueName: string;
  jobType: string;
  status: JobStatus;
  priority: number;
  attempts: number;
  retryCount: number;
  idempotencyKey: string | null;
  // Own fields even when unused: setFlow deletes them, and a delete must reach them.
  concurrencyKey?: string;
  concurrencyLimit?: number;
  rateLimit?: RateLimit;
  debounce?: Debounce;
  #runAt: number;
  #createdAt: number;
  /** Values of stored fields set during the operation in progress (null outside one). */
  changes: Partial<Job> | null = null;

  declare payload: unknown;
  declare maxRetries: number;
  declare scheduledAt: Date | null;
  declare startedAt: Date | null;
  declare completedAt: Date | null;
  declare failedAt: Date | null;
  declare errorMessage: string | null;
  declare createdBy: string | null;
  declare metadata: Record<string, unknown>;
  declare result: unknown;
  declare timeoutMs: number | null;
  declare progress: JobProgress | null;
  declare leasedBy?: string | null;

  constructor(h: HeadRecord) {
    this.id = h.id;
    this.queueName = intern(h.queueName);
    this.jobType = intern(h.jobType);
    this.status = h.status;
    this.priority = h.priority;
    this.attempts = h.attempts;
    this.retryCount = h.retryCount;
    this.idempotencyKey = h.idempotencyKey;
    this.concurrencyKey = h.concurrencyKey;
    this.concurrencyLimit = h.concurrencyLimit;
    this.rateLimit = h.rateLimit;
    this.debounce = h.debounce;
    this.#runAt = h.runAt;
    this.#createdAt = h.createdAt;
  }

  /** The light form of a full job; `changes` holds the job itself until its first write. */
  static of(job: Job): LightJob {
    const light = new LightJob(headOf(job));
    light.changes = job;
    return light;
  }

  get runAt(): Date {
    return new Date(this.#runAt);
  }
  set runAt(value: Date) {
    this.#runAt = value.getTime();
  }
  get createdAt(): Date {
    return new Date(this.#createdAt);
  }
  set createdAt(value: Date) {
    this.#createdAt = value.getTime();
  }

  /** A copy for undoing a failed write (`changes` included). */
  clone(): LightJob {
    const c = new LightJob(this.head());
    c.changes = this.changes && { ...this.changes };
    return c;
  }

  /** The head key's job fields. */
  head(): HeadRecord {
    const h: HeadRecord = {
      id: this.id,
      queueName: this.queueName,
      jobType: this.jobType,
      status: this.status,
      priority: this.priority,
      runAt: this.#runAt,
      createdAt: this.#createdAt,
      attempts: this.attempts,
      retryCount: this.retryCount,
      idempotencyKey: this.idempotencyKey,
    };
    if (this.concurrencyKey !== undefined) h.concurrencyKey = this.concurrencyKey;
    if (this.concurrencyLimit !== undefined) h.concurrencyLimit = this.concurrencyLimit;
    if (this.rateLimit !== undefined) h.rateLimit = this.rateLimit;
    if (this.debounce !== undefined) h.debounce = this.debounce;
    return h;
  }

  /**
   * The full job: `stored` (the last written full job, or null for a new one) with this
   * operation's changes and the kept fields on top.
   */
  merge(stored: Job | null): Job {
    const job = { ...stored, ...this.changes } as Job;
    const h = this.head();
    Object.assign(job, h, { runAt: new Date(h.runAt), createdAt: new Date(h.createdAt) });
    // setFlow deleted what the incoming job lacked: the stored copy must lose it too.
    for (const k of ["concurrencyKey", "concurrencyLimit", "rateLimit", "debounce"] as const) if (h[k] === undefined) delete job[k];
    return job;
  }
}

for (const name of STORED_FIELDS) {
  Object.defineProperty(LightJob.prototype, name, {
    get(this: LightJob) {
      return this.changes?.[name];
    },
    set(this: LightJob, value: unknown) {
      (this.changes ??= {})[name] = value as never;
    },
    configurable: true,
  });
}

/** The kept fields of a full job. */
export function headOf(job: Job): HeadRecord {
  const h: HeadRecord = {
    id: job.id,
    queueName: job.queueName,
    jobType: job.jobType,
    status: job.status,
    priority: job.priority,
    runAt: job.runAt.getTime(),
    createdAt: job.createdAt.getTime(),
    attempts: job.attempts,
    retryCount: job.retryCount,
    idempotencyKey: job.idempotencyKey,
  };
  if (job.concurrencyKey !== undefined) h.concurrencyKey = job.concurrencyKey;
  if (job.concurrencyLimit !== undefined) h.concurrencyLimit = job.concurrencyLimit;
  if (job.rateLimit !== undefined) h.rateLimit = job.rateLimit;
  if (job.debounce !== undefined) h.debounce = job.debounce;
  return h;
}
