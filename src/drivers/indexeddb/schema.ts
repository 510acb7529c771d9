/**
 * The IndexedDB layout of {@link IndexedDBJobQueue}: one object store of rows, the indexes that
 * turn every hot query into one indexed range read, and the in-place schema migrations.
 *
 * A row wraps the Job (kept as is: IndexedDB stores Dates and nested JSON by structured clone)
 * with the bookkeeping a queue needs. Index key fields are present only while the row belongs to
 * that index; IndexedDB leaves rows whose key path is missing out of the index, so each index
 * holds exactly the jobs it is about.
 * @module
 */
import type { IDBPDatabase, IDBPTransaction } from "idb";
import type { Job } from "../../core/index.ts";
import { accountedAttempts } from "../../core/failure.ts";

/** Object store of job rows, keyed by job id. */
export const JOBS = "jobs";
/** Object store of small counters (finished-job count for retention). */
export const META = "meta";
/** Key of the counters record in {@link META}. */
export const COUNTERS_KEY = "counters";

/** Claimable now: [queueName, -priority, runAt, seq]. Ascending order = claim order. */
export const READY_INDEX = "ready";
/** Waiting for a time: [queueName, wakeAt, seq] (due time of scheduled/retrying jobs, lease expiry of running ones). */
export const TIMED_INDEX = "timed";
/** Unique [queueName, idempotencyKey]. */
export const IDEMPOTENCY_INDEX = "idempotency";
/** [queueName, status] for stats and filtered lists. */
export const QUEUE_STATUS_INDEX = "queueStatus";
/** status, for lists filtered by status alone. */
export const STATUS_INDEX = "status";
/** Finished (completed or cancelled) jobs without an idempotency key by [finishedAt, seq], for retention by count and age. */
export const FINISHED_INDEX = "finished";
/**
 * Finished jobs with an idempotency key by [finishedAt, seq]: kept (their key still makes a repeat a
 * duplicate) until `max(maxAgeMs, idempotencyWindowMs)` has passed, by age only, so count pruning
 * never walks them.
 */
export const FINISHED_KEYED_INDEX = "finishedKeyed";

/** Parked jobs (their key is full): [gate, -priority, runAt, seq], gate = "c" or "r" + key. */
export const PARKED_INDEX = "parked";
/** RUNNING jobs with a concurrency key: [key, leaseExpiresAt]; a key's live slots are a range count. */
export const KEY_RUNNING_INDEX = "keyRunning";
/** Waiting jobs with a debounce key: [queueName, key]. */
export const DEBOUNCE_INDEX = "debounce";
/** Object store of rate-limit gates, keyed by "r" + key: {@link RateGate}. */
export const FLOW = "flow";
/** Rate gates by the time their window next lets a start through. */
export const GATE_WAKE_INDEX = "wake";

/** Object store of paused queues: key = queue name, value = when it was paused (epoch ms). */
export const PAUSED = "paused";
/** Every row by seq: the newest-first keyset order of listPage. */
export const SEQ_INDEX = "seq";
/** [queueName, seq]: listPage filtered by queue. */
export const QUEUE_SEQ_INDEX = "queueSeq";
/** [status, seq]: listPage filtered by status. */
export const STATUS_SEQ_INDEX = "statusSeq";
/** The idempotency key alone (rows without one have null, which is no key, so are left out). */
export const IDEM_KEY_INDEX = "idemKey";

/** A rate key's recent start times and, while jobs are parked on it, when the next start is allowed. */
export interface RateGate {
  starts: number[];
  wakeAt?: number;
  lim: number;
}

/** The schema version this code writes. Bump it and add a step to {@link MIGRATIONS}. */
export const SCHEMA_VERSION = 6;

/** A stored job. Fields after `job` are bookkeeping; the optional ones are index keys. */
export interface JobRow {
  job: Job;
  /** Insertion order, the last claim-order tie-breaker. */
  seq: number;
  /** Lease token of the current holder (null when nobody holds the job). */
  token: string | null;
  /** Lease expiry (epoch ms) while RUNNING. */
  leaseExpiresAt: number;
  ready?: [string, number, number, number];
  timed?: [string, number, number];
  idem?: [string, string];
  finished?: [number, number];
  finishedKeyed?: [number, number];
  parked?: [string, number, number, number];
  keyRun?: [string, number];
  deb?: [string, string];
}

/** Counters kept next to the jobs, written in the same transactions. */
export interface Counters {
  /** Rows currently in {@link FINISHED_INDEX} (unkeyed finished jobs). */
  finished: number;
}

type UpgradeTx = IDBPTransaction<unknown, string[], "versionchange">;

/**
 * Schema steps, indexed by the version they produce. Each runs inside the upgrade transaction,
 * so an upgrade either completes or leaves the old version untouched; rows are kept.
 */
export const MIGRATIONS: Record<number, (db: IDBPDatabase, tx: UpgradeTx) => void> = {
  1: (db) => {
    const jobs = db.createObjectStore(JOBS, { keyPath: "job.id" });
    jobs.createIndex(READY_INDEX, "ready");
    jobs.createIndex(TIMED_INDEX, "timed");
    jobs.createIndex(IDEMPOTENCY_INDEX, "idem", { unique: true });
    jobs.createIndex(QUEUE_STATUS_INDEX, ["job.queueName", "job.status"]);
  },
  // v2: retention (finished index + counter) and status-only lists. Existing rows are indexed
  // by IndexedDB itself; finished rows written by v1 get their key and are counted here.
  2: (db, tx) => {
    const jobs = tx.objectStore(JOBS);
    jobs.createIndex(STATUS_INDEX, "job.status");
    jobs.createIndex(FINISHED_INDEX, "finished");
    db.createObjectStore(META);
    let finished = 0;
    void (async () => {
      for (let cursor = await jobs.openCursor(); cursor; cursor = await cursor.continue()) {
        const row = cursor.value as JobRow;
        const s = row.job.status;
        if ((s === "completed" || s === "cancelled") && !row.finished) {
          const at = (row.job.completedAt ?? row.job.failedAt ?? row.job.createdAt).getTime();
          row.finished = [at, row.seq];
          cursor.update(row);
          finished++;
        }
      }
      tx.objectStore(META).put({ finished } satisfies Counters, COUNTERS_KEY);
    })().catch(() => abortUpgrade(tx));
  },
  // v3: attempts no longer count released claims (nor survive retryJob). Rows from v2 keep only
  // the attempts their failures account for, so that old releases never count as lost leases.
  3: (_db, tx) => {
    const jobs = tx.objectStore(JOBS);
    void (async () => {
      for (let cursor = await jobs.openCursor(); cursor; cursor = await cursor.continue()) {
        const row = cursor.value as JobRow;
        const accounted = accountedAttempts(row.job);
        if (row.job.attempts > accounted) {
          row.job.attempts = accounted;
          cursor.update(row);
        }
      }
    })().catch(() => abortUpgrade(tx));
  },
  // v4: flow control (concurrency keys, rate limits, debounce). No existing row uses it.
  4: (db, tx) => {
    const jobs = tx.objectStore(JOBS);
    jobs.createIndex(PARKED_INDEX, "parked");
    jobs.createIndex(KEY_RUNNING_INDEX, "keyRun");
    jobs.createIndex(DEBOUNCE_INDEX, "deb");
    db.createObjectStore(FLOW).createIndex(GATE_WAKE_INDEX, "wakeAt");
  },
  // v5: operations (pause/resume, keyset pages). Existing rows all have seq, so IndexedDB
  // indexes them itself; no queue is paused after the upgrade.
  5: (db, tx) => {
    const jobs = tx.objectStore(JOBS);
    jobs.createIndex(SEQ_INDEX, "seq");
    jobs.createIndex(QUEUE_SEQ_INDEX, ["job.queueName", "seq"]);
    jobs.createIndex(STATUS_SEQ_INDEX, ["job.status", "seq"]);
    jobs.createIndex(IDEM_KEY_INDEX, "job.idempotencyKey");
    db.createObjectStore(PAUSED);
  },
  // v6: the idempotency window. Keyed finished rows move from the finished index (walked, not
  // the whole store) to their own, and the counter then counts the unkeyed ones only.
  6: (_db, tx) => {
    const jobs = tx.objectStore(JOBS);
    jobs.createIndex(FINISHED_KEYED_INDEX, "finishedKeyed");
    void (async () => {
      let finished = 0;
      for (let cursor = await jobs.index(FINISHED_INDEX).openCursor(); cursor; cursor = await cursor.continue()) {
        const row = cursor.value as JobRow;
        if (row.job.idempotencyKey === null || row.job.idempotencyKey === undefined) {
          finished++;
          continue;
        }
        row.finishedKeyed = row.finished;
        delete row.finished;
        cursor.update(row);
      }
      tx.objectStore(META).put({ finished } satisfies Counters, COUNTERS_KEY);
    })().catch(() => abortUpgrade(tx));
  },
};

/** A failed step aborts the upgrade: the open then fails as a whole and the old version stays. */
function abortUpgrade(tx: UpgradeTx): void {
  try {
    tx.abort();
  } catch {
    // already aborted
  }
}

/** Runs every step after `oldVersion` up to `newVersion`, in order. */
export function migrate(db: IDBPDatabase, oldVersion: number, newVersion: number, tx: UpgradeTx): void {
  for (let v = oldVersion + 1; v <= newVersion; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`No IndexedDB schema migration to version ${v}`);
    step(db, tx);
  }
}

/** A job as returned to callers: the stored Job without bookkeeping. */
export function rowToJob(row: JobRow): Job {
  return row.job;
}

/** Puts the row in the ready index (claimable now) and out of the timed one. */
export function markReady(row: JobRow): void {
  const j = row.job;
  row.ready = [j.queueName, -j.priority, j.runAt.getTime(), row.seq];
  delete row.timed;
  flowKeys(row);
}

/** Puts the row in the timed index (wakes at `at`) and out of the ready one. */
export function markTimed(row: JobRow, at: number): void {
  row.timed = [row.job.queueName, at, row.seq];
  delete row.ready;
  flowKeys(row);
}

/** Takes the row out of both claim indexes (finished, dead or failed). */
export function markIdle(row: JobRow): void {
  delete row.ready;
  delete row.timed;
  flowKeys(row);
}

/** Parks a waiting row on `gate` (out of both claim indexes) until its key has room. */
export function markParked(row: JobRow, gate: string): void {
  markIdle(row);
  const j = row.job;
  row.parked = [gate, -j.priority, j.runAt.getTime(), row.seq];
}

/** Keeps the flow-control index keys in step with the row's state (every mark* calls it). */
function flowKeys(row: JobRow): void {
  const j = row.job;
  delete row.parked;
  if (j.concurrencyKey !== undefined && j.status === "running") row.keyRun = [j.concurrencyKey, row.leaseExpiresAt];
  else delete row.keyRun;
  if (j.debounce !== undefined && (j.status === "pending" || j.status === "scheduled" || j.status === "retrying") && row.token === null) {
    row.deb = [j.queueName, j.debounce.key];
  } else delete row.deb;
}

/** A fresh row for a new job. */
export function newRow(job: Job, seq: number): JobRow {
  const row: JobRow = { job: { ...job }, seq, token: null, leaseExpiresAt: 0 };
  if (job.idempotencyKey !== null) row.idem = [job.queueName, job.idempotencyKey];
  // PENDING is claimable at once (as in every driver); SCHEDULED and RETRYING wait for runAt.
  if (job.status === "pending") markReady(row);
  else if (job.status === "scheduled" || job.status === "retrying") markTimed(row, job.runAt.getTime());
  else markIdle(row);
  return row;
}
