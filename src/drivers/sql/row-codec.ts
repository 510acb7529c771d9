/**
 * The jobs table's row codec, shared by every SQL dialect: which columns a row has, the values a
 * new job inserts, and a whole row (read as one JSON array) back to a {@link Job}.
 */
import type { Job, JobStatus } from "../../core/index.ts";

/**
 * The columns a row is read back with, in this order. A row crosses from the database as one JSON
 * array of them (SQLite's json_array, PostgreSQL's json_build_array): crossing costs per column,
 * and one text column plus one JSON.parse measured about 3x cheaper than 22 columns as an object.
 * Payload, metadata and result stay strings inside it (JSON.parse in JS was cheaper than parsing
 * them in the database). See {@link fromArray}.
 */
export const ROW_COLUMNS =
  "seq, id, queue, job_type, payload, priority, max_retries, retry_count, scheduled_at, started_at, completed_at, failed_at, status, error_message, created_by, created_at, metadata, idem, result, run_at, attempts, timeout_ms, flow, progress";

/** Positions in a {@link ROW_COLUMNS} array that claims sort on. */
export const ROW_SEQ = 0;
export const ROW_PRIORITY = 5;
export const ROW_RUN_AT = 19;

/**
 * Insert columns in this order; the first {@link ALWAYS} are never NULL. Most columns of a new job
 * are NULL and every bound value costs, so an INSERT names only the columns some row fills.
 */
export const INSERT_COLUMNS = [
  "id", "queue", "job_type", "payload", "priority", "max_retries", "retry_count", "status", "created_at", "metadata", "run_at", "attempts",
  "scheduled_at", "started_at", "completed_at", "failed_at", "error_message", "created_by", "idem", "result", "timeout_ms", "wake_at",
  "flow", "ckey", "climit", "rkey", "rlimit", "rperiod", "dkey",
] as const;
export const ALWAYS = 12;
/** The bit of the idempotency key column in an optional-column mask (see {@link filled}). */
export const IDEM_BIT = 1 << (INSERT_COLUMNS.indexOf("idem") - ALWAYS);
/** The bit of the first flow-control column (flow): set for every job that uses flow control. */
export const FLOW_BIT = 1 << (INSERT_COLUMNS.indexOf("flow") - ALWAYS);
/** Bits of the columns that make a job gated at claim time (a concurrency key or a rate limit). */
export const GATED_BITS = (1 << (INSERT_COLUMNS.indexOf("ckey") - ALWAYS)) | (1 << (INSERT_COLUMNS.indexOf("rkey") - ALWAYS));
/** Columns that hold JSON text. */
export const JSON_COLUMNS: ReadonlySet<string> = new Set(["payload", "metadata", "result", "flow"]);
export const RUN_AT = INSERT_COLUMNS.indexOf("run_at");
export const CREATED_AT = INSERT_COLUMNS.indexOf("created_at");
export const WAKE_AT = INSERT_COLUMNS.indexOf("wake_at");

/** Statuses of a job waiting to be claimed, as an SQL list. */
export const WAITING_SQL = "('pending','scheduled','retrying')";

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const date = (v: unknown): Date | null => (v === null ? null : new Date(v as number));

/**
 * A job's insert values in {@link INSERT_COLUMNS} order (optional ones NULL when absent). JSON
 * columns are strings, or the values themselves when `nested` (a batch that carries them inside
 * one JSON document, so they are not stringified and escaped twice).
 */
export function insertValues(job: Job, nested: boolean): unknown[] {
  const runAt = job.runAt.getTime();
  const s = job.status;
  const json = (v: unknown) => (nested ? v : JSON.stringify(v));
  return [
    job.id, job.queueName, job.jobType, json(job.payload === undefined ? null : job.payload), job.priority, job.maxRetries,
    job.retryCount, s, job.createdAt.getTime(), json(job.metadata ?? {}), runAt, job.attempts,
    ms(job.scheduledAt), ms(job.startedAt), ms(job.completedAt), ms(job.failedAt), job.errorMessage ?? null, job.createdBy ?? null,
    job.idempotencyKey ?? null, job.result === undefined || job.result === null ? null : json(job.result), job.timeoutMs ?? null,
    s === "pending" || s === "scheduled" || s === "retrying" ? runAt : null,
    ...flowValues(job, nested),
  ];
}

/**
 * The flow-control columns: `flow` keeps the options as JSON (what a row reads back), the others
 * are what the claim, the key-slot counts and debounce look up by.
 */
export function flowValues(job: Job, nested: boolean): readonly unknown[] {
  const { concurrencyKey, rateLimit, debounce } = job;
  if (concurrencyKey === undefined && rateLimit === undefined && debounce === undefined) return NO_FLOW;
  const flow = flowOf(job);
  return [
    nested ? flow : JSON.stringify(flow),
    concurrencyKey ?? null,
    concurrencyKey === undefined ? null : (job.concurrencyLimit ?? 1),
    rateLimit?.key ?? null,
    rateLimit?.limit ?? null,
    rateLimit?.periodMs ?? null,
    debounce?.key ?? null,
  ];
}

const NO_FLOW: readonly unknown[] = [null, null, null, null, null, null, null];

/** The flow-control fields of a job, as stored in the `flow` column. */
export function flowOf(job: Job): Record<string, unknown> {
  const flow: Record<string, unknown> = {};
  if (job.concurrencyKey !== undefined) {
    flow.concurrencyKey = job.concurrencyKey;
    flow.concurrencyLimit = job.concurrencyLimit ?? 1;
  }
  if (job.rateLimit !== undefined) flow.rateLimit = job.rateLimit;
  if (job.debounce !== undefined) flow.debounce = job.debounce;
  return flow;
}

/** The optional columns `values` fills, as a bit mask. */
export function filled(values: readonly unknown[]): number {
  let mask = 0;
  for (let i = ALWAYS; i < values.length; i++) if (values[i] !== null) mask |= 1 << (i - ALWAYS);
  return mask;
}

/** `values` without the optional columns outside `mask`. */
export function only(values: unknown[], mask: number): unknown[] {
  const full = (1 << (INSERT_COLUMNS.length - ALWAYS)) - 1;
  return mask === full ? values : values.filter((_, i) => i < ALWAYS || mask & (1 << (i - ALWAYS)));
}

/** The columns a mask of optional columns selects, in insert order. */
export function maskedColumns(mask: number): string[] {
  return INSERT_COLUMNS.filter((_, i) => i < ALWAYS || mask & (1 << (i - ALWAYS)));
}

/** A parsed {@link ROW_COLUMNS} array (numbers are already numbers) as a job. */
export function fromArray(a: unknown[]): Job {
  const job: Job = {
    id: a[1] as string,
    queueName: a[2] as string,
    jobType: a[3] as string,
    payload: JSON.parse(a[4] as string),
    priority: a[5] as number,
    maxRetries: a[6] as number,
    retryCount: a[7] as number,
    scheduledAt: date(a[8]),
    startedAt: date(a[9]),
    completedAt: date(a[10]),
    failedAt: date(a[11]),
    status: a[12] as JobStatus,
    errorMessage: a[13] as string | null,
    createdBy: a[14] as string | null,
    createdAt: new Date(a[15] as number),
    metadata: JSON.parse(a[16] as string) as Record<string, unknown>,
    idempotencyKey: a[17] as string | null,
    result: a[18] === null ? null : JSON.parse(a[18] as string),
    runAt: new Date(a[19] as number),
    attempts: a[20] as number,
    timeoutMs: a[21] as number | null,
    progress: a[23] === null || a[23] === undefined ? null : typeof a[23] === "string" ? JSON.parse(a[23]) : (a[23] as Job["progress"]),
  };
  const flow = a[22];
  if (flow !== null && flow !== undefined) Object.assign(job, typeof flow === "string" ? JSON.parse(flow) : flow);
  return job;
}

/** Claimed rows in claim order (priority high first, then due time, then insertion): RETURNING promises no order. */
export function sortClaimed(rows: unknown[][]): void {
  if (rows.length > 1) {
    rows.sort((a, b) => (b[ROW_PRIORITY] as number) - (a[ROW_PRIORITY] as number) || (a[ROW_RUN_AT] as number) - (b[ROW_RUN_AT] as number) || (a[ROW_SEQ] as number) - (b[ROW_SEQ] as number));
  }
}
