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
import { DATA_MIGRATIONS, SCHEMA_SQL } from "./schema.ts";

/** The slice of `SqlStorage` this store uses (structural, so no Cloudflare runtime import). */
export interface SqlExec {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[]; readonly rowsWritten: number };
}

/** The slice of `DurableObjectStorage` this store uses. */
export interface SqlStorageHost {
  readonly sql: SqlExec;
  transactionSync<T>(fn: () => T): T;
}

type Row = Record<string, unknown>;

/**
 * A whole row as one JSON array: crossing from SQLite to JS costs per column, and one text column
 * plus one JSON.parse measured about 3x cheaper than 22 columns as an object. Payload, metadata
 * and result stay strings inside it (JSON.parse in JS was cheaper than json() in SQLite). See
 * {@link fromArray}.
 */
const ROW_JSON =
  "json_array(seq, id, queue, job_type, payload, priority, max_retries, retry_count, scheduled_at, started_at, completed_at, failed_at, status, error_message, created_by, created_at, metadata, idem, result, run_at, attempts, timeout_ms) AS j";

/**
 * The distinct queues that have wake times, one index seek each (SQLite has no skip-scan without
 * statistics, and GROUP BY queue would walk every waiting row); ends with one NULL row.
 */
const QUEUES_CTE = `WITH RECURSIVE qs(name) AS (
  SELECT (SELECT MIN(queue) FROM jobs INDEXED BY jobs_wakeups WHERE wake_at IS NOT NULL)
  UNION ALL
  SELECT (SELECT MIN(queue) FROM jobs INDEXED BY jobs_wakeups WHERE wake_at IS NOT NULL AND queue > qs.name) FROM qs WHERE qs.name IS NOT NULL)`;

/** A queue's earliest wake time among waiting (`leased` 0) or running (1) jobs: one index minimum. */
const minWake = (queue: string, leased: 0 | 1) =>
  `(SELECT MIN(wake_at) FROM jobs INDEXED BY jobs_wakeups WHERE queue = ${queue} AND (token IS NOT NULL) = ${leased} AND wake_at IS NOT NULL)`;

/**
 * Insert columns in this order; the first `ALWAYS` are never NULL. Most columns of a new job are
 * NULL and every value costs to cross into SQLite (0.15 to 0.3 us per bound value, measured), so
 * an INSERT names only the columns that some row fills. Statements are built once per shape.
 */
const INSERT_COLUMNS = [
  "id", "queue", "job_type", "payload", "priority", "max_retries", "retry_count", "status", "created_at", "metadata", "run_at", "attempts",
  "scheduled_at", "started_at", "completed_at", "failed_at", "error_message", "created_by", "idem", "result", "timeout_ms", "wake_at",
] as const;
const ALWAYS = 12;
const IDEM_BIT = 1 << (INSERT_COLUMNS.indexOf("idem") - ALWAYS);
/** Columns that hold JSON text: a batch carries them as nested JSON and stores them with `->`. */
const JSON_COLUMNS = new Set(["payload", "metadata", "result"]);
const insertSqls = new Map<string, string>();

/**
 * A batch is one INSERT over json_each of one JSON array of rows (one bound value however many
 * rows, and no bound-parameter limit), each row a positional array of the columns in `mask` (the
 * optional columns some row fills). Payload, metadata and result travel nested, not as strings
 * inside the JSON, so they are neither stringified nor escaped twice.
 */
function insertBatchSql(mask: number, nested = true): string {
  const key = `batch${mask}${nested ? "" : "s"}`;
  let sql = insertSqls.get(key);
  if (sql === undefined) {
    const cols = INSERT_COLUMNS.filter((_, i) => i < ALWAYS || mask & (1 << (i - ALWAYS)));
    sql = `INSERT INTO jobs (${cols.join(", ")})
      SELECT ${cols.map((c, i) => `j${nested && JSON_COLUMNS.has(c) ? "->" : "->>"}${i}`).join(", ")}
      FROM (SELECT value AS j FROM json_each(?) ORDER BY key) WHERE true
      ON CONFLICT (queue, idem) WHERE idem IS NOT NULL DO NOTHING`;
    insertSqls.set(key, sql);
  }
  return sql;
}

const RUN_AT = INSERT_COLUMNS.indexOf("run_at");
const CREATED_AT = INSERT_COLUMNS.indexOf("created_at");
const WAKE_AT = INSERT_COLUMNS.indexOf("wake_at");
/** Values a new job usually has, written into the single-job INSERT as SQL literals instead of bound. */
const LITERALS: readonly unknown[] = INSERT_COLUMNS.map((c) =>
  c === "priority" || c === "retry_count" || c === "attempts" ? 0 : c === "max_retries" ? 3 : c === "status" ? "pending" : c === "metadata" ? "{}" : undefined,
);

/** The single-job INSERT for a shape (see #enqueueOne): ?1 is run_at, the bound values follow in column order. */
function insertOneSql(shape: string): string {
  let sql = insertSqls.get(shape);
  if (sql === undefined) {
    const cols: string[] = [];
    const vals: string[] = [];
    let n = 1;
    for (let i = 0; i < INSERT_COLUMNS.length; i++) {
      const kind = shape[i];
      if (kind === "n") continue;
      const literal = LITERALS[i];
      cols.push(INSERT_COLUMNS[i]!);
      vals.push(kind === "r" ? "?1" : kind === "l" ? (typeof literal === "string" ? `'${literal}'` : String(literal)) : `?${++n}`);
    }
    sql = `INSERT INTO jobs (${cols.join(", ")}) VALUES (${vals.join(", ")}) ON CONFLICT (queue, idem) WHERE idem IS NOT NULL DO NOTHING`;
    insertSqls.set(shape, sql);
  }
  return sql;
}

/** A job's insert values (`INSERT_COLUMNS` order, optional ones NULL when absent); JSON columns as strings or nested. */
function insertValues(job: Job, nested: boolean): unknown[] {
  const runAt = job.runAt.getTime();
  const s = job.status;
  const json = (v: unknown) => (nested ? v : JSON.stringify(v));
  return [
    job.id, job.queueName, job.jobType, json(job.payload === undefined ? null : job.payload), job.priority, job.maxRetries,
    job.retryCount, s, job.createdAt.getTime(), json(job.metadata ?? {}), runAt, job.attempts,
    ms(job.scheduledAt), ms(job.startedAt), ms(job.completedAt), ms(job.failedAt), job.errorMessage ?? null, job.createdBy ?? null,
    job.idempotencyKey ?? null, job.result === undefined || job.result === null ? null : json(job.result), job.timeoutMs ?? null,
    s === "pending" || s === "scheduled" || s === "retrying" ? runAt : null,
  ];
}

/** The optional columns `values` fills, as a bit mask. */
function filled(values: readonly unknown[]): number {
  let mask = 0;
  for (let i = ALWAYS; i < values.length; i++) if (values[i] !== null) mask |= 1 << (i - ALWAYS);
  return mask;
}

/** `values` without the optional columns outside `mask`. */
function only(values: unknown[], mask: number): unknown[] {
  const full = (1 << (INSERT_COLUMNS.length - ALWAYS)) - 1;
  return mask === full ? values : values.filter((_, i) => i < ALWAYS || mask & (1 << (i - ALWAYS)));
}

/**
 * The claim UPDATE for one queue. Waiting jobs come from one walk of jobs_ready in claim order,
 * stopping after `limit` rows (`run_at` equals `wake_at` for waiting rows and is in the index, so
 * the due test needs no row lookup). Expired leases are the leased half of jobs_wakeups; only when
 * one may have expired (now >= the queue's earliest known lease expiry) does the claim also walk
 * it and merge the two (at most 2 x limit rows). INDEXED BY keeps SQLite from sorting every due
 * job instead. `seq = (...)` for one job and UPDATE ... FROM for several: both measured faster
 * than `seq IN (...)`. Bindings: ?1 now, ?2 token, ?3 lease expiry, ?4 queue, then ?5 limit unless
 * it is a literal 1 (one claim without a type filter, the common case: a bound value costs) and
 * ?6 job types when filtered. Eight variants, each built once instead of on every claim.
 */
const claimSqls = new Map<string, string>();
function claimSql(single: boolean, leases: boolean, typed: boolean): string {
  const key = `${single}${leases}${typed}`;
  let sql = claimSqls.get(key);
  if (sql !== undefined) return sql;
  const typeFilter = typed ? " AND job_type IN (SELECT value FROM json_each(?6))" : "";
  const limit = single && !typed ? "1" : "?5";
  const ready = `SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_ready
    WHERE queue = ?4 AND token IS NULL AND wake_at IS NOT NULL AND run_at <= ?1${typeFilter}
    ORDER BY priority DESC, run_at, seq LIMIT ${limit}`;
  const pick = leases
    ? `SELECT seq FROM (SELECT * FROM (${ready}) UNION ALL SELECT * FROM (SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_wakeups
         WHERE queue = ?4 AND (token IS NOT NULL) = 1 AND wake_at IS NOT NULL AND wake_at <= ?1${typeFilter} ORDER BY wake_at LIMIT ${limit}))
       ORDER BY priority DESC, run_at, seq LIMIT ${limit}`
    : ready.replace("SELECT seq, priority, run_at", "SELECT seq");
  sql = `UPDATE jobs SET status = 'running', started_at = ?1, attempts = attempts + 1, token = ?2 || '.' || jobs.seq, wake_at = ?3
    ${single ? `WHERE seq = (${pick})` : `FROM (${pick}) AS picked WHERE jobs.seq = picked.seq`} RETURNING ${ROW_JSON}`;
  claimSqls.set(key, sql);
  return sql;
}

/** Lease statements with their WHERE clause, built once each (see #held). */
const heldSqls = new Map<string, string>();
/** `sql` restricted to the row a live lease holds; the lease's seq, token and id bind after `n` values. */
function heldSql(sql: string, n: number): string {
  let full = heldSqls.get(sql);
  if (full === undefined) heldSqls.set(sql, (full = `${sql} WHERE seq = ?${n + 1} AND token = ?${n + 2} AND id = ?${n + 3} AND status = 'running'`));
  return full;
}
/** The row's primary key carried at the end of a lease token, or null for a malformed token. */
function leaseSeq(lease: LeaseRef): number | null {
  const seq = Number(lease.token.slice(lease.token.lastIndexOf(".") + 1));
  return Number.isSafeInteger(seq) ? seq : null;
}

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
   * and completions only raise the truth), so claims skip the expired-lease walk while no lease
   * can have run out. Complete from the object start on: a queue without an entry has no lease.
   */
  readonly #leaseMin = new Map<string, number>();
  /**
   * Lease tokens are `<random per object start>-<claim counter>.<seq>`: unique across restarts
   * without a randomUUID() per claim, and the trailing seq lets lease calls find the row by its
   * primary key. Tokens guard against stale workers, not against callers (who can reach every RPC).
   */
  readonly #tokenPrefix = crypto.randomUUID();
  #claims = 0;

  constructor(storage: SqlStorageHost) {
    this.#storage = storage;
    storage.sql.exec(SCHEMA_SQL);
    const applied = new Set(this.#exec("SELECT name FROM portico_migrations").map((r) => r.name as string));
    for (const m of DATA_MIGRATIONS) {
      if (applied.has(m.name)) continue;
      storage.transactionSync(() => {
        storage.sql.exec(m.sql);
        storage.sql.exec("INSERT INTO portico_migrations (name) VALUES (?)", m.name);
      });
    }
    const [row] = this.#exec("SELECT COUNT(*) AS c, MIN(finished_at) AS m FROM jobs WHERE finished_at IS NOT NULL");
    this.#finishedCount = Number(row?.c ?? 0);
    this.#oldestFinishedAt = (row?.m as number | null) ?? null;
    for (const r of this.#exec(`${QUEUES_CTE} SELECT name, ${minWake("qs.name", 1)} AS m FROM qs WHERE name IS NOT NULL`)) {
      if (r.m !== null && r.m !== undefined) this.#leaseMin.set(r.name as string, Number(r.m));
    }
  }

  /** Stores a batch in one statement; repeated idempotency keys return the stored job. */
  enqueue(jobs: readonly Job[]): EnqueueResult[] {
    if (jobs.length === 0) return [];
    if (jobs.length === 1) return [this.#enqueueOne(jobs[0]!)];
    const rows = jobs.map((j) => insertValues(j, true));
    let mask = 0;
    for (const r of rows) mask |= filled(r);
    // One INSERT is atomic on its own (a failing row aborts the whole statement), so no
    // transaction is opened. Without idempotency keys every row is new or the statement
    // throws, so only keyed batches pay for RETURNING.
    const keyed = (mask & IDEM_BIT) !== 0;
    const insert = (nested: boolean, batch: unknown[][]) => {
      const sql = insertBatchSql(mask, nested);
      return this.#exec(keyed ? `${sql} RETURNING id` : sql, JSON.stringify(batch.map((r) => only(r, mask))));
    };
    let inserted: Row[];
    try {
      try {
        inserted = insert(true, rows);
      } catch (error) {
        // SQLite's JSON depth limit (1000) counts the two levels of the batch too: a payload
        // nested ~1000 deep fits alone but not inside the batch. As strings, it fits.
        if (!/malformed JSON|too deep/i.test((error as Error).message)) throw error;
        inserted = insert(false, jobs.map((j) => insertValues(j, false)));
      }
    } catch (error) {
      throw new StorageError(`enqueue failed, nothing stored: ${(error as Error).message}`);
    }
    if (!keyed || inserted.length === jobs.length) return jobs.map((job) => ({ job, created: true }));
    const created = new Set(inserted.map((r) => r.id as string));
    // Only duplicates pay for a second statement, one for all of them.
    const keys = jobs.filter((j) => !created.has(j.id)).map((j) => [j.queueName, j.idempotencyKey]);
    const existing = this.#jobs(
      // json_each first (CROSS JOIN fixes the order), then one jobs_idem lookup per key; a
      // `(queue, idem) IN (...)` form scanned the table.
      `SELECT ${ROW_JSON} FROM jobs WHERE seq IN (SELECT d.seq FROM json_each(?) AS k CROSS JOIN jobs AS d INDEXED BY jobs_idem
         WHERE d.queue = k.value->>0 AND d.idem = k.value->>1 AND d.idem IS NOT NULL)`,
      JSON.stringify(keys),
    );
    const byKey = new Map(existing.map((j) => [`${j.queueName}\u0000${j.idempotencyKey}`, j]));
    return jobs.map((job) =>
      created.has(job.id) ? { job, created: true } : { job: byKey.get(`${job.queueName}\u0000${job.idempotencyKey}`)!, created: false },
    );
  }

  /** One job, one INSERT; `rowsWritten` tells a repeated idempotency key (nothing written) apart. */
  #enqueueOne(job: Job): EnqueueResult {
    const values = insertValues(job, false);
    // Each column is left out (NULL), a literal (a common default), the run_at value again, or
    // bound: the shape is the cache key, so the common shapes bind 6 values instead of 13.
    const runAt = values[RUN_AT];
    const bound: unknown[] = [runAt];
    let shape = "";
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (i === RUN_AT || ((i === CREATED_AT || i === WAKE_AT) && v === runAt)) shape += "r";
      else if (v === null && i >= ALWAYS) shape += "n";
      else if (LITERALS[i] !== undefined && v === LITERALS[i]) shape += "l";
      else {
        shape += "b";
        bound.push(v);
      }
    }
    let written: number;
    try {
      written = this.#write(insertOneSql(shape), ...bound);
    } catch (error) {
      throw new StorageError(`enqueue failed, nothing stored: ${(error as Error).message}`);
    }
    if (written > 0) return { job, created: true };
    const [existing] = this.#jobs(`SELECT ${ROW_JSON} FROM jobs WHERE queue = ? AND idem = ?`, job.queueName, job.idempotencyKey);
    return { job: existing!, created: false };
  }

  /** Claims due jobs (and expired leases) queue by queue: one indexed UPDATE per queue visited. */
  claim(request: ClaimRequest, jobTypes?: readonly string[]): ClaimedJob[] {
    const { now, leaseMs } = request;
    const out: ClaimedJob[] = [];
    const token = `${this.#tokenPrefix}-${++this.#claims}`;
    const types = jobTypes ? JSON.stringify(jobTypes) : null;
    for (const queue of request.queues) {
      const limit = request.limit - out.length;
      if (limit <= 0) break;
      const leases = now >= this.#leaseMinOf(queue);
      const single = limit === 1;
      const sql = claimSql(single, leases, types !== null);
      const claimed =
        types !== null
          ? this.#arrays(sql, now, token, now + leaseMs, queue, limit, types)
          : single
            ? this.#arrays(sql, now, token, now + leaseMs, queue)
            : this.#arrays(sql, now, token, now + leaseMs, queue, limit);
      if (leases) {
        // Rare: refresh the queue's earliest lease expiry (an index min) so later claims skip the merge.
        const [m] = this.#exec(`SELECT ${minWake("?", 1)} AS m`, queue);
        this.#leaseMin.set(queue, m?.m === null || m?.m === undefined ? Infinity : Number(m.m));
      } else if (claimed.length > 0) {
        this.#leaseMin.set(queue, Math.min(this.#leaseMinOf(queue), now + leaseMs));
      }
      // RETURNING does not promise an order; restore the claim order (priority, run_at, seq).
      if (claimed.length > 1) claimed.sort((a, b) => (b[5] as number) - (a[5] as number) || (a[19] as number) - (b[19] as number) || (a[0] as number) - (b[0] as number));
      for (const a of claimed) {
        const job = fromArray(a);
        out.push({ jobId: job.id, token: `${token}.${a[0]}`, job, leaseExpiresAt: now + leaseMs });
      }
    }
    return out;
  }

  extendLease(lease: LeaseRef, leaseMs: number, now: number): boolean {
    const expiry = now + leaseMs;
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    // RETURNING the queue, because a lease may also be shortened: claims must then look for
    // expired leases from the new expiry on.
    const [row] = this.#exec(`${heldSql("UPDATE jobs SET wake_at = ?1", 1)} RETURNING queue`, expiry, seq, lease.token, lease.jobId);
    if (!row) return false;
    const queue = row.queue as string;
    this.#leaseMin.set(queue, Math.min(this.#leaseMinOf(queue), expiry));
    return true;
  }

  complete(lease: LeaseRef, result: unknown, now: number, retention?: RetentionOptions): boolean {
    const ok = this.#held(
      "UPDATE jobs SET status = 'completed', completed_at = ?1, result = ?2, token = NULL, wake_at = NULL, finished_at = ?1",
      [now, JSON.stringify(result === undefined ? null : result)],
      lease,
    );
    if (ok) this.#finished(now, retention);
    return ok;
  }

  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): boolean {
    if (outcome.status === "retrying") {
      return this.#held(
        "UPDATE jobs SET status = 'retrying', retry_count = retry_count + 1, error_message = ?1, failed_at = ?2, token = NULL, run_at = ?3, wake_at = ?3",
        [errorMessage, now, outcome.retryAt],
        lease,
      );
    }
    return this.#held("UPDATE jobs SET status = ?1, error_message = ?2, failed_at = ?3, token = NULL, wake_at = NULL", [outcome.status, errorMessage, now], lease);
  }

  release(lease: LeaseRef): boolean {
    return this.#held("UPDATE jobs SET status = 'pending', token = NULL, started_at = NULL, wake_at = run_at, attempts = max(attempts - 1, 0)", [], lease);
  }

  get(id: string): Job | null {
    return this.#jobs(`SELECT ${ROW_JSON} FROM jobs WHERE id = ?`, id)[0] ?? null;
  }

  cancel(id: string, now: number, retention?: RetentionOptions): boolean {
    const written = this.#write(
      `UPDATE jobs SET status = 'cancelled', token = NULL, wake_at = NULL, finished_at = ? WHERE id = ? AND status IN ${WAITING}`,
      now,
      id,
    );
    if (written > 0) this.#finished(now, retention);
    return written > 0;
  }

  retry(id: string, now: number): Job | null {
    return (
      this.#jobs(
        `UPDATE jobs SET status = 'pending', retry_count = 0, attempts = 0, run_at = ?, wake_at = ? WHERE id = ? AND status IN ('dead_letter','failed') RETURNING ${ROW_JSON}`,
        now,
        now,
        id,
      )[0] ?? null
    );
  }

  list(filter: ListFilter = {}): Job[] {
    return this.#jobs(
      `SELECT ${ROW_JSON} FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR job_type = ?3)
       ORDER BY seq LIMIT ?4`,
      filter.status ?? null,
      filter.queueName ?? null,
      filter.jobType ?? null,
      filter.limit ?? 100,
    );
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
    return this.earliestWake(queues)?.at ?? null;
  }

  /**
   * The earliest wake time and its queue, over `queues` or every queue. Each queue costs two index
   * minima (waiting and leased halves of jobs_wakeups); without `queues`, the distinct queues are
   * found by stepping through the same index (one seek per queue), so it never walks the jobs.
   */
  earliestWake(queues?: readonly string[]): { queue: string; at: number } | null {
    // One row per queue and half (a two-argument min() would be NULL whenever a half is empty).
    const half = (leased: 0 | 1) => `SELECT name AS queue, ${minWake("qs.name", leased)} AS w FROM qs`;
    const pick = `SELECT queue, w FROM (${half(0)} UNION ALL ${half(1)}) WHERE w IS NOT NULL ORDER BY w LIMIT 1`;
    const rows = queues
      ? this.#exec(`WITH qs(name) AS MATERIALIZED (SELECT value FROM json_each(?)) ${pick}`, JSON.stringify(queues))
      : this.#exec(`${QUEUES_CTE} ${pick}`);
    const row = rows[0];
    return row ? { queue: row.queue as string, at: Number(row.w) } : null;
  }

  /** The queue's earliest lease expiry, or Infinity when none of its jobs is leased. */
  #leaseMinOf(queue: string): number {
    return this.#leaseMin.get(queue) ?? Infinity;
  }

  /**
   * Applies `sql` (an UPDATE without WHERE, using ?1..?n for its n `bindings`) to the job only
   * while `lease` is its live lease. The
   * row is found by the seq at the end of the token (the primary key, no id index lookup); the
   * id, token and status checks make a forged or stale token match nothing.
   */
  #held(sql: string, bindings: unknown[], lease: LeaseRef): boolean {
    const seq = leaseSeq(lease);
    return seq !== null && this.#write(heldSql(sql, bindings.length), ...bindings, seq, lease.token, lease.jobId) > 0;
  }

  /** Counts a newly finished job and prunes when a retention bound is crossed. */
  #finished(now: number, retention?: RetentionOptions): void {
    const maxCount = retention?.maxCount ?? DEFAULT_RETENTION.maxCount;
    const maxAgeMs = retention?.maxAgeMs ?? DEFAULT_RETENTION.maxAgeMs;
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

  /** Runs a write and returns how many rows and index entries it wrote (0 when nothing matched). */
  #write(sql: string, ...bindings: unknown[]): number {
    this.counter.statements++;
    return this.#storage.sql.exec(sql, ...bindings).rowsWritten;
  }

  /** Runs a statement whose single column is {@link ROW_JSON}; returns the parsed arrays. */
  #arrays(sql: string, ...bindings: unknown[]): unknown[][] {
    return this.#exec(sql, ...bindings).map((r) => JSON.parse(r.j as string) as unknown[]);
  }

  #jobs(sql: string, ...bindings: unknown[]): Job[] {
    return this.#arrays(sql, ...bindings).map(fromArray);
  }
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const date = (v: unknown): Date | null => (v === null ? null : new Date(v as number));

/** A parsed {@link ROW_JSON} array (numbers are already numbers) as a job. */
function fromArray(a: unknown[]): Job {
  return {
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
  };
}
