/**
 * LightJob: what the unstorage store keeps in memory per job. It is a {@link Job} to the core's
 * JobIndex and transitions, but holds only the fields scheduling reads (ids, queue, type, status,
 * priority, due and creation times, attempt counters, keys); times are kept as numbers. Every
 * other field (payload, metadata, result, error, progress, the other timestamps...) lives in
 * storage: a transition that sets one parks the value in `changes` until the store has read the
 * stored job, merged the change in and written it (see UnstorageJobQueue).
 */
import type { Debounce, Job, JobProgress, JobStatus, RateLimit } from "../../core/index.ts";
import type { IndexEntry } from "../../core/job-index.ts";

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
  /** Kept for rate-limited jobs only: opening rebuilds each rate key's window from its starts. */
  startedAt?: number | null;
}

/** Fields read through `changes`: set by a transition during one operation, otherwise in storage. */
const STORED_FIELDS = [
  "payload",
  "maxRetries",
  "scheduledAt",
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

const FLOW_FIELDS = ["concurrencyKey", "concurrencyLimit", "rateLimit", "debounce"] as const;

/**
 * A job's scheduling fields (see the module comment), and its own index entry: `job` is the
 * object itself, so each stored job costs one object, not an entry and a job.
 */
export class LightJob implements Job, IndexEntry {
  id: string;
  // Set in the constructor through #setHead.
  queueName!: string;
  jobType!: string;
  status!: JobStatus;
  priority!: number;
  attempts!: number;
  retryCount!: number;
  idempotencyKey!: string | null;
  #runAt!: number;
  #createdAt!: number;
  /** Values of stored fields set during the operation in progress (null outside one). */
  changes: Partial<Job> | null = null;
  seq = 0;
  token: string | null = null;
  leaseExpiresAt = 0;
  finishedAt = 0;
  gen = 0;
  // Own properties only when used (most jobs use none), so setFlow's deletes reach them.
  declare concurrencyKey?: string;
  declare concurrencyLimit?: number;
  declare rateLimit?: RateLimit;
  declare debounce?: Debounce;
  /** A rate-limited job's last start (epoch ms), own only with `rateLimit` (see HeadRecord). */
  declare rateStart?: number | null;

  declare payload: unknown;
  declare maxRetries: number;
  declare scheduledAt: Date | null;
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
    this.#setHead(h);
  }

  /** Sets the head's fields; a flow field (or rate start) the head lacks is removed, as after a restore. */
  #setHead(h: HeadRecord): void {
    this.queueName = intern(h.queueName);
    this.jobType = intern(h.jobType);
    this.status = h.status;
    this.priority = h.priority;
    this.attempts = h.attempts;
    this.retryCount = h.retryCount;
    this.idempotencyKey = h.idempotencyKey;
    this.#runAt = h.runAt;
    this.#createdAt = h.createdAt;
    for (const k of FLOW_FIELDS) {
      if (h[k] !== undefined) (this as Record<string, unknown>)[k] = h[k];
      else if (Object.prototype.hasOwnProperty.call(this, k)) delete this[k];
    }
    if (h.rateLimit !== undefined) this.rateStart = h.startedAt ?? null;
    else if (Object.prototype.hasOwnProperty.call(this, "rateStart")) delete this.rateStart;
  }

  /** The light form of a full job; `changes` holds the job itself until its first write. */
  static of(job: Job): LightJob {
    const light = new LightJob(headOf(job));
    light.changes = job;
    return light;
  }

  get job(): LightJob {
    return this;
  }

  get runAt(): Date {
    return new Date(this.#runAt);
  }
  set runAt(value: Date) {
    this.#runAt = value.getTime();
  }
  /** This operation's value, else the kept one of a rate-limited job, else null (not kept). */
  get startedAt(): Date | null {
    const c = this.changes;
    if (c && "startedAt" in c) return c.startedAt ?? null;
    return typeof this.rateStart === "number" ? new Date(this.rateStart) : null;
  }
  set startedAt(value: Date | null) {
    (this.changes ??= {}).startedAt = value;
    if (this.rateLimit !== undefined) this.rateStart = value ? value.getTime() : null;
  }
  get createdAt(): Date {
    return new Date(this.#createdAt);
  }
  set createdAt(value: Date) {
    this.#createdAt = value.getTime();
  }

  /** A copy for undoing a failed write (lease state and `changes` included). */
  clone(): LightJob {
    const c = new LightJob(this.head());
    c.changes = this.changes && { ...this.changes };
    c.seq = this.seq;
    c.token = this.token;
    c.leaseExpiresAt = this.leaseExpiresAt;
    c.finishedAt = this.finishedAt;
    return c;
  }

  /** Puts back what {@link clone} copied (the index's generation is left to the index). */
  restore(from: LightJob): void {
    this.#setHead(from.head());
    this.changes = from.changes;
    this.token = from.token;
    this.leaseExpiresAt = from.leaseExpiresAt;
    this.finishedAt = from.finishedAt;
  }

  /** The head key's job fields. */
  head(): HeadRecord {
    return headOf(this);
  }

  /**
   * The full job: `stored` (the last written full job, or null for a new one) with this
   * operation's changes and the kept fields on top.
   */
  merge(stored: Job | null): Job {
    const job = { ...BODYLESS(), ...stored, ...this.changes } as Job;
    // startedAt: the body's (or this operation's) value, which the head's copy only mirrors.
    const { startedAt: _mirror, ...h } = this.head();
    Object.assign(job, h, { runAt: new Date(h.runAt), createdAt: new Date(h.createdAt) });
    // setFlow deleted what the incoming job lacked: the stored copy must lose it too.
    for (const k of FLOW_FIELDS) if (h[k] === undefined) delete job[k];
    return job;
  }
}

/** What a job whose body key is missing or unreadable shows for its stored fields. */
const BODYLESS = (): Partial<Job> => ({
  payload: null,
  maxRetries: 0,
  scheduledAt: null,
  startedAt: null,
  completedAt: null,
  failedAt: null,
  errorMessage: null,
  createdBy: null,
  metadata: {},
  result: null,
  timeoutMs: null,
  progress: null,
});

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
  for (const k of FLOW_FIELDS) if (job[k] !== undefined) (h as unknown as Record<string, unknown>)[k] = job[k];
  if (job.rateLimit !== undefined) h.startedAt = job.startedAt ? job.startedAt.getTime() : null;
  return h;
}
