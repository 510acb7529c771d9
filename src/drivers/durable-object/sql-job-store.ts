/**
 * SqlJobStore: the queue port's operations as synchronous SQL on a Durable Object's SQLite
 * storage. Each port call is one statement in the common case (enqueue, claim, complete, fail),
 * so a job's lifecycle costs three statements; retention pruning runs only when a bound is
 * crossed and then removes a tenth of the allowance at once, so it amortizes to almost nothing.
 */
import {
  DEFAULT_RETENTION,
  StorageError,
  emptyStatusCounts,
  type ClaimRequest,
  type ClaimedJob,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobStatus,
  type LeaseRef,
  type ListFilter,
  type QueueStats,
  type RetentionOptions,
} from "../../core/index.ts";
import { SCHEMA_SQL } from "./schema.ts";

/** The slice of `SqlStorage` this store uses (structural, so no Cloudflare runtime import). */
export interface SqlExec {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[] };
}

/** The slice of `DurableObjectStorage` this store uses. */
export interface SqlStorageHost {
  readonly sql: SqlExec;
  transactionSync<T>(fn: () => T): T;
}

type Row = Record<string, unknown>;

const COLUMNS =
  "id, queue, job_type, payload, priority, max_retries, retry_count, scheduled_at, started_at, completed_at, failed_at, status, error_message, created_by, created_at, metadata, idem, result, run_at, attempts, timeout_ms, wake_at";

// One statement for a whole batch: the rows travel as one JSON parameter and json_each
// expands them, so there is no per-row round trip and no bound-parameter limit.
const INSERT_SQL = `INSERT INTO jobs (${COLUMNS})
SELECT j->>'id', j->>'queue', j->>'jobType', j->>'payload', j->>'priority', j->>'maxRetries', j->>'retryCount',
  j->>'scheduledAt', j->>'startedAt', j->>'completedAt', j->>'failedAt', j->>'status', j->>'errorMessage',
  j->>'createdBy', j->>'createdAt', j->>'metadata', j->>'idem', j->>'result', j->>'runAt', j->>'attempts',
  j->>'timeoutMs', j->>'wakeAt'
FROM (SELECT value AS j FROM json_each(?) ORDER BY key) WHERE true
ON CONFLICT (queue, idem) WHERE idem IS NOT NULL DO NOTHING
RETURNING id`;

const WAITING = "('pending','scheduled','retrying')";

/** A statement counter, read by the benchmark to report statements per job. */
export interface StatementCounter {
  statements: number;
}

/** The queue port over SQLite, synchronous; the Durable Object wraps it in RPC methods. */
export class SqlJobStore {
  readonly #storage: SqlStorageHost;
  readonly counter: StatementCounter = { statements: 0 };
  /** Finished rows kept for retention and the oldest finish time, tracked so pruning is rare. */
  #finishedCount = 0;
  #oldestFinishedAt: number | null = null;
  /**
   * Per queue, a lower bound of the earliest lease expiry (never above the true one; extensions
   * and completions only raise the truth), so claims skip the expired-lease walk while no lease can have run out.
   */
  readonly #leaseMin = new Map<string, number>();

  constructor(storage: SqlStorageHost) {
    this.#storage = storage;
    storage.sql.exec(SCHEMA_SQL);
    const [row] = this.#exec("SELECT COUNT(*) AS c, MIN(finished_at) AS m FROM jobs WHERE finished_at IS NOT NULL");
    this.#finishedCount = Number(row?.c ?? 0);
    this.#oldestFinishedAt = (row?.m as number | null) ?? null;
    for (const r of this.#exec("SELECT queue, MIN(wake_at) AS m FROM jobs WHERE token IS NOT NULL GROUP BY queue")) {
      this.#leaseMin.set(r.queue as string, Number(r.m));
    }
  }

  /** Stores a batch in one statement; repeated idempotency keys return the stored job. */
  enqueue(jobs: readonly Job[]): EnqueueResult[] {
    if (jobs.length === 0) return [];
    const rows = jobs.map(toInsertRow);
    return this.#storage.transactionSync(() => {
      let inserted: Row[];
      try {
        inserted = this.#exec(INSERT_SQL, JSON.stringify(rows));
      } catch (error) {
        throw new StorageError(`enqueue failed, nothing stored: ${(error as Error).message}`);
      }
      if (inserted.length === jobs.length) return jobs.map((job) => ({ job, created: true }));
      const created = new Set(inserted.map((r) => r.id as string));
      // Only duplicates pay for a second statement, one for all of them.
      const keys = jobs.filter((j) => !created.has(j.id)).map((j) => [j.queueName, j.idempotencyKey]);
      const existing = this.#exec(
        "SELECT * FROM jobs WHERE (queue, idem) IN (SELECT value->>0, value->>1 FROM json_each(?))",
        JSON.stringify(keys),
      );
      const byKey = new Map(existing.map((r) => [`${r.queue}\u0000${r.idem}`, fromRow(r)]));
      return jobs.map((job) =>
        created.has(job.id)
          ? { job, created: true }
          : { job: byKey.get(`${job.queueName}\u0000${job.idempotencyKey}`)!, created: false },
      );
    });
  }

  /** Claims due jobs (and expired leases) queue by queue: one indexed UPDATE per queue visited. */
  claim(request: ClaimRequest, jobTypes?: readonly string[]): ClaimedJob[] {
    const { now, leaseMs } = request;
    const out: ClaimedJob[] = [];
    const token = crypto.randomUUID();
    const typeFilter = jobTypes ? " AND job_type IN (SELECT value FROM json_each(?5))" : "";
    // Waiting jobs come from one walk of jobs_ready in claim order, stopping after `limit` rows.
    // Expired leases live in jobs_leases; only when one may have expired (now >= the queue's
    // earliest known lease expiry) does the claim also walk that index and merge the two
    // (at most 2 x limit rows). INDEXED BY keeps SQLite from sorting every due job instead.
    for (const queue of request.queues) {
      const limit = request.limit - out.length;
      if (limit <= 0) break;
      const types = jobTypes ? JSON.stringify(jobTypes) : null;
      const leases = now >= (this.#leaseMin.get(queue) ?? Infinity);
      const ready = `SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_ready
               WHERE queue = ?4 AND token IS NULL AND wake_at IS NOT NULL AND wake_at <= ?1${typeFilter}
               ORDER BY priority DESC, run_at, seq LIMIT ?6`;
      const pick = leases
        ? `SELECT seq FROM (SELECT * FROM (${ready}) UNION ALL SELECT * FROM (SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_leases
               WHERE queue = ?4 AND token IS NOT NULL AND wake_at <= ?1${typeFilter} ORDER BY wake_at LIMIT ?6))
           ORDER BY priority DESC, run_at, seq LIMIT ?6`
        : ready.replace("SELECT seq, priority, run_at", "SELECT seq");
      // `seq = (...)` for one job and UPDATE ... FROM for several: both measured faster than `seq IN (...)`.
      const rows = this.#exec(
        `UPDATE jobs SET status = 'running', started_at = ?1, attempts = attempts + 1, token = ?2 || '.' || jobs.seq, wake_at = ?3
         ${limit === 1 ? `WHERE seq = (${pick})` : `FROM (${pick}) AS picked WHERE jobs.seq = picked.seq`} RETURNING *`,
        now,
        token,
        now + leaseMs,
        queue,
        types,
        limit,
      );
      if (leases) {
        // Rare: refresh the queue's earliest lease expiry (an index min) so later claims skip the merge.
        const [m] = this.#exec("SELECT MIN(wake_at) AS m FROM jobs INDEXED BY jobs_leases WHERE queue = ? AND token IS NOT NULL", queue);
        this.#leaseMin.set(queue, m?.m === null || m?.m === undefined ? Infinity : Number(m.m));
      } else if (rows.length > 0) {
        this.#leaseMin.set(queue, Math.min(this.#leaseMin.get(queue) ?? Infinity, now + leaseMs));
      }
      // RETURNING does not promise an order; restore the claim order.
      rows.sort((a, b) => (b.priority as number) - (a.priority as number) || (a.run_at as number) - (b.run_at as number) || (a.seq as number) - (b.seq as number));
      for (const r of rows) out.push({ jobId: r.id as string, token: r.token as string, job: fromRow(r), leaseExpiresAt: now + leaseMs });
    }
    return out;
  }

  extendLease(lease: LeaseRef, leaseMs: number, now: number): boolean {
    return this.#held("UPDATE jobs SET wake_at = ?", [now + leaseMs], lease);
  }

  complete(lease: LeaseRef, result: unknown, now: number, retention?: RetentionOptions): boolean {
    const ok = this.#held(
      "UPDATE jobs SET status = 'completed', completed_at = ?, result = ?, token = NULL, wake_at = NULL, finished_at = ?",
      [now, JSON.stringify(result === undefined ? null : result), now],
      lease,
    );
    if (ok) this.#finished(now, retention);
    return ok;
  }

  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): boolean {
    if (outcome.status === "retrying") {
      return this.#held(
        "UPDATE jobs SET status = 'retrying', retry_count = retry_count + 1, error_message = ?, failed_at = ?, token = NULL, run_at = ?, wake_at = ?",
        [errorMessage, now, outcome.retryAt, outcome.retryAt],
        lease,
      );
    }
    return this.#held("UPDATE jobs SET status = ?, error_message = ?, failed_at = ?, token = NULL, wake_at = NULL", [outcome.status, errorMessage, now], lease);
  }

  release(lease: LeaseRef): boolean {
    return this.#held("UPDATE jobs SET status = 'pending', token = NULL, started_at = NULL, wake_at = run_at", [], lease);
  }

  get(id: string): Job | null {
    const [row] = this.#exec("SELECT * FROM jobs WHERE id = ?", id);
    return row ? fromRow(row) : null;
  }

  cancel(id: string, now: number, retention?: RetentionOptions): boolean {
    const rows = this.#exec(
      `UPDATE jobs SET status = 'cancelled', token = NULL, wake_at = NULL, finished_at = ? WHERE id = ? AND status IN ${WAITING} RETURNING seq`,
      now,
      id,
    );
    if (rows.length > 0) this.#finished(now, retention);
    return rows.length > 0;
  }

  retry(id: string, now: number): Job | null {
    const [row] = this.#exec(
      "UPDATE jobs SET status = 'pending', retry_count = 0, run_at = ?, wake_at = ? WHERE id = ? AND status IN ('dead_letter','failed') RETURNING *",
      now,
      now,
      id,
    );
    return row ? fromRow(row) : null;
  }

  list(filter: ListFilter = {}): Job[] {
    const rows = this.#exec(
      `SELECT * FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR job_type = ?3)
       ORDER BY seq LIMIT ?4`,
      filter.status ?? null,
      filter.queueName ?? null,
      filter.jobType ?? null,
      filter.limit ?? 100,
    );
    return rows.map(fromRow);
  }

  stats(): QueueStats {
    const rows = this.#exec("SELECT queue, status, COUNT(*) AS n FROM jobs GROUP BY queue, status");
    const byStatus = emptyStatusCounts();
    const byQueue: QueueStats["byQueue"] = {};
    let total = 0;
    for (const r of rows) {
      const status = r.status as JobStatus;
      const n = Number(r.n);
      (byQueue[r.queue as string] ??= emptyStatusCounts())[status] += n;
      byStatus[status] += n;
      total += n;
    }
    return { total, byStatus, byQueue };
  }

  /** Earliest wake time in these queues (index min per queue), or of every queue when omitted. */
  nextWakeAt(queues?: readonly string[]): number | null {
    const rows = queues
      ? this.#exec("SELECT MIN(wake_at) AS w FROM jobs WHERE queue IN (SELECT value FROM json_each(?)) AND wake_at IS NOT NULL", JSON.stringify(queues))
      : this.#exec("SELECT MIN(wake_at) AS w FROM jobs WHERE wake_at IS NOT NULL");
    const w = rows[0]?.w;
    return w === null || w === undefined ? null : Number(w);
  }

  /** Applies `sql` (an UPDATE without WHERE) to the job only while `lease` is its live lease. */
  #held(sql: string, bindings: unknown[], lease: LeaseRef): boolean {
    const rows = this.#exec(`${sql} WHERE id = ? AND token = ? AND status = 'running' RETURNING seq`, ...bindings, lease.jobId, lease.token);
    return rows.length > 0;
  }

  /** Counts a newly finished job and prunes when a retention bound is crossed. */
  #finished(now: number, retention?: RetentionOptions): void {
    const { maxCount, maxAgeMs } = { ...DEFAULT_RETENTION, ...retention };
    this.#finishedCount++;
    if (this.#oldestFinishedAt === null) this.#oldestFinishedAt = now;
    const tooMany = this.#finishedCount > maxCount;
    const tooOld = this.#oldestFinishedAt <= now - maxAgeMs;
    if (!tooMany && !tooOld) return;
    // Prune a little past the bound (a tenth of the allowance) so the next prune is far away;
    // removing early is allowed, keeping too long is not.
    const keep = tooMany ? maxCount - Math.floor(maxCount / 10) : this.#finishedCount;
    const cutoff = tooOld ? now - maxAgeMs + Math.floor(maxAgeMs / 10) : -Infinity;
    this.#exec(
      `DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE finished_at IS NOT NULL ORDER BY finished_at, seq LIMIT ?)
       OR (finished_at IS NOT NULL AND finished_at < ?)`,
      Math.max(0, this.#finishedCount - keep),
      Number.isFinite(cutoff) ? cutoff : -1,
    );
    const [row] = this.#exec("SELECT COUNT(*) AS c, MIN(finished_at) AS m FROM jobs WHERE finished_at IS NOT NULL");
    this.#finishedCount = Number(row?.c ?? 0);
    this.#oldestFinishedAt = (row?.m as number | null) ?? null;
  }

  #exec(sql: string, ...bindings: unknown[]): Row[] {
    this.counter.statements++;
    return this.#storage.sql.exec(sql, ...bindings).toArray();
  }
}

function toInsertRow(job: Job): Record<string, unknown> {
  const waiting = job.status === "pending" || job.status === "scheduled" || job.status === "retrying";
  return {
    id: job.id,
    queue: job.queueName,
    jobType: job.jobType,
    payload: JSON.stringify(job.payload === undefined ? null : job.payload),
    priority: job.priority,
    maxRetries: job.maxRetries,
    retryCount: job.retryCount,
    scheduledAt: ms(job.scheduledAt),
    startedAt: ms(job.startedAt),
    completedAt: ms(job.completedAt),
    failedAt: ms(job.failedAt),
    status: job.status,
    errorMessage: job.errorMessage,
    createdBy: job.createdBy,
    createdAt: job.createdAt.getTime(),
    metadata: JSON.stringify(job.metadata ?? {}),
    idem: job.idempotencyKey,
    result: JSON.stringify(job.result === undefined ? null : job.result),
    runAt: job.runAt.getTime(),
    attempts: job.attempts,
    timeoutMs: job.timeoutMs,
    wakeAt: waiting ? job.runAt.getTime() : null,
  };
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

function fromRow(r: Row): Job {
  return {
    id: r.id as string,
    queueName: r.queue as string,
    jobType: r.job_type as string,
    payload: JSON.parse(r.payload as string),
    priority: Number(r.priority),
    maxRetries: Number(r.max_retries),
    retryCount: Number(r.retry_count),
    scheduledAt: date(r.scheduled_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    failedAt: date(r.failed_at),
    status: r.status as JobStatus,
    errorMessage: (r.error_message as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: new Date(Number(r.created_at)),
    metadata: JSON.parse(r.metadata as string),
    idempotencyKey: (r.idem as string | null) ?? null,
    result: r.result === null || r.result === undefined ? null : JSON.parse(r.result as string),
    runAt: new Date(Number(r.run_at)),
    attempts: Number(r.attempts),
    timeoutMs: r.timeout_ms === null || r.timeout_ms === undefined ? null : Number(r.timeout_ms),
  };
}
