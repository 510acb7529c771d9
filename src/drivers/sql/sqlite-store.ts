/**
 * SqliteJobStore: the queue port's operations as synchronous SQL on SQLite, the SQL core's SQLite
 * side. A Durable Object's storage and a SQLite file (SqliteJobQueue) both run it, each through a
 * {@link SqliteExecutor}. Each port call is one statement in the common case (enqueue, claim,
 * complete, fail), so a job's lifecycle costs three statements; retention pruning runs only when
 * a bound is crossed (see retention.ts).
 */
import {
  InvalidFilterError,
  StorageError,
  type BulkAction,
  type BulkFilter,
  type ClaimRequest,
  type ClaimedJob,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobPage,
  type JobProgress,
  type JobStatus,
  type LeaseRef,
  type PageFilter,
  type ListFilter,
  type QueueStats,
  type RetentionOptions,
} from "../../core/index.ts";
import { debounceInto, foldStats, isGated, rateAllowedAt } from "../../core/transitions.ts";
import { finishedCounts, RetentionTracker } from "./retention.ts";
import { ALWAYS, CREATED_AT, IDEM_BIT, RUN_AT, WAKE_AT, filled, flowValues, fromArray, insertValues, only, sortClaimed } from "./row-codec.ts";
import * as S from "./sqlite-statements.ts";
import { DATA_MIGRATIONS, FLOW_COLUMNS, OPS_COLUMNS, SCHEMA_SQL, WAITING_COUNTER } from "./sqlite-schema.ts";
import { leaseSeq } from "./transitions.ts";

type Row = Record<string, unknown>;

/**
 * How the store reaches SQLite. Statements use numbered `?n` parameters; `bindings` are their
 * values in order.
 */
export interface SqliteExecutor {
  /** Result rows of a statement (a SELECT, or a write with RETURNING). */
  all(sql: string, ...bindings: unknown[]): Row[];
  /** Runs a write; how many rows it wrote (0 when nothing matched). */
  run(sql: string, ...bindings: unknown[]): number;
  /** Runs parameterless statements (DDL), several at once. */
  exec(sql: string): void;
  /** Runs `fn` in one transaction (joining the caller's when one is open). */
  transaction<T>(fn: () => T): T;
}

/** Options of {@link SqliteJobStore}. */
export interface SqliteJobStoreOptions {
  /**
   * Other processes write the same database (a SQLite file). Caches that only this store's own
   * writes keep true are then off: claims always look for expired leases, and retention re-reads
   * the finished count now and then. A Durable Object is the only writer of its storage.
   */
  shared?: boolean;
}

/** A statement counter, read by the benchmark to report statements per job. */
export interface StatementCounter {
  statements: number;
}

/** The queue port over SQLite, synchronous; its owners wrap it in RPC methods or promises. */
export class SqliteJobStore {
  readonly #db: SqliteExecutor;
  readonly #shared: boolean;
  readonly counter: StatementCounter = { statements: 0 };
  readonly #retention: RetentionTracker;
  /**
   * Per queue, a lower bound of the earliest lease expiry (never above the true one; extensions
   * and completions only raise the truth), so claims skip the expired-lease walk while no lease
   * can have run out. Complete from the start on when this store is the only writer (a queue
   * without an entry has no lease); unused when `shared`.
   */
  readonly #leaseMin = new Map<string, number>();
  /**
   * Lease tokens are `<random per store>-<claim counter>.<seq>`: unique across restarts and
   * processes without a randomUUID() per claim, and the trailing seq lets lease calls find the row
   * by its primary key. Tokens guard against stale workers, not against callers.
   */
  readonly #tokenPrefix = crypto.randomUUID();
  #claims = 0;
  /** This database has seen flow control (a gated or debounced job): claims then also run the gated claim. */
  #flowUsed = false;
  /** Queues whose last claim met gated rows: their next claim skips the plain claim (it would find the guard). */
  readonly #gatedQueues = new Set<string>();
  #starts = 0;
  /** The waiting-jobs counter is installed in this database (see countWaiting). */
  #counted = false;

  constructor(db: SqliteExecutor, options: SqliteJobStoreOptions = {}) {
    this.#db = db;
    this.#shared = options.shared ?? false;
    this.#retention = new RetentionTracker(this.#shared);
    // Tables made before flow control get its columns first (the schema's indexes name them).
    const columns = new Set(this.#all("SELECT name FROM pragma_table_info('jobs')").map((r) => r.name as string));
    if (columns.size > 0) {
      for (const [name, type] of [...FLOW_COLUMNS, ...OPS_COLUMNS]) if (!columns.has(name)) db.exec(`ALTER TABLE jobs ADD COLUMN ${name} ${type}`);
    }
    db.exec(SCHEMA_SQL);
    const applied = new Set(this.#all("SELECT name FROM portico_migrations").map((r) => r.name as string));
    this.#flowUsed = applied.has("flow-control-used");
    this.#counted = applied.has(WAITING_COUNTER.name);
    for (const m of DATA_MIGRATIONS) {
      if (applied.has(m.name)) continue;
      db.transaction(() => {
        db.exec(m.sql);
        // A second process may have applied it since we looked: recording it twice is a no-op.
        db.run(S.RECORD_MIGRATION, m.name);
      });
    }
    this.#refreshFinished();
    if (!this.#shared) {
      for (const r of this.#all(S.LEASE_MINS)) {
        if (r.m !== null && r.m !== undefined) this.#leaseMin.set(r.name as string, Number(r.m));
      }
    }
  }

  /** Stores a batch in one statement; repeated idempotency keys return the stored job. */
  enqueue(jobs: readonly Job[]): EnqueueResult[] {
    if (jobs.length === 0) return [];
    let debounced = false;
    let flow = false;
    for (const j of jobs) {
      if (j.debounce !== undefined) debounced = flow = true;
      else if (isGated(j)) flow = true;
    }
    if (flow) {
      return this.#db.transaction(() => {
        if (!this.#flowUsed) this.#run(S.FLOW_USED);
        this.#flowUsed = true;
        return debounced ? jobs.map((j) => (j.debounce !== undefined ? this.#debounceOne(j) : this.#enqueueOne(j))) : this.#enqueuePlain(jobs);
      });
    }
    return this.#enqueuePlain(jobs);
  }

  /** A waiting job with the debounce key takes `job`'s place (see core's debounceInto); else `job` is stored. */
  #debounceOne(job: Job): EnqueueResult {
    const [row] = this.#all(S.DEBOUNCE_FIND, job.queueName, job.debounce!.key);
    if (!row) return this.#enqueueOne(job);
    const existing = fromArray(JSON.parse(row.j as string) as unknown[]);
    debounceInto({ job: existing, token: null, leaseExpiresAt: 0 }, job);
    const f = flowValues(existing, false);
    const runAt = existing.runAt.getTime();
    this.#run(
      S.DEBOUNCE_SET,
      existing.jobType, JSON.stringify(existing.payload === undefined ? null : existing.payload), existing.priority, existing.maxRetries,
      JSON.stringify(existing.metadata ?? {}), existing.createdBy ?? null, existing.timeoutMs ?? null, ...f,
      runAt, existing.scheduledAt ? existing.scheduledAt.getTime() : null, existing.status, runAt, row.seq,
    );
    return { job: existing, created: false };
  }

  #enqueuePlain(jobs: readonly Job[]): EnqueueResult[] {
    if (jobs.length === 1) return [this.#enqueueOne(jobs[0]!)];
    const rows = jobs.map((j) => insertValues(j, true));
    let mask = 0;
    for (const r of rows) mask |= filled(r);
    // One INSERT is atomic on its own (a failing row aborts the whole statement). Without
    // idempotency keys every row is new or the statement throws, so only keyed batches pay for
    // RETURNING.
    const keyed = (mask & IDEM_BIT) !== 0;
    const insert = (nested: boolean, batch: unknown[][]) => {
      const sql = S.insertBatchSql(mask, nested);
      const json = JSON.stringify(batch.map((r) => only(r, mask)));
      if (keyed) return this.#all(`${sql} RETURNING id`, json);
      this.#run(sql, json);
      return [];
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
      throw new StorageError(`enqueue failed, nothing stored: ${(error as Error).message}`, { cause: error });
    }
    if (!keyed || inserted.length === jobs.length) return jobs.map((job) => ({ job, created: true }));
    const created = new Set(inserted.map((r) => r.id as string));
    // Only duplicates pay for a second statement, one for all of them.
    const keys = jobs.filter((j) => !created.has(j.id)).map((j) => [j.queueName, j.idempotencyKey]);
    const existing = this.#jobs(S.BY_KEYS, JSON.stringify(keys));
    const byKey = new Map(existing.map((j) => [`${j.queueName}\u0000${j.idempotencyKey}`, j]));
    return jobs.map((job) =>
      created.has(job.id) ? { job, created: true } : { job: byKey.get(`${job.queueName}\u0000${job.idempotencyKey}`)!, created: false },
    );
  }

  /** One job, one INSERT; a repeated idempotency key writes nothing. */
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
      else if (S.LITERALS[i] !== undefined && v === S.LITERALS[i]) shape += "l";
      else {
        shape += "b";
        bound.push(v);
      }
    }
    let written: number;
    try {
      written = this.#run(S.insertOneSql(shape), ...bound);
    } catch (error) {
      throw new StorageError(`enqueue failed, nothing stored: ${(error as Error).message}`, { cause: error });
    }
    if (written > 0) return { job, created: true };
    const [existing] = this.#jobs(S.BY_KEY, job.queueName, job.idempotencyKey);
    return { job: existing!, created: false };
  }

  /** Claims due jobs (and expired leases) queue by queue: one indexed UPDATE per queue visited. */
  claim(request: ClaimRequest, jobTypes?: readonly string[]): ClaimedJob[] {
    const { now, leaseMs } = request;
    const out: ClaimedJob[] = [];
    const token = `${this.#tokenPrefix}-${++this.#claims}`;
    const types = jobTypes ? JSON.stringify(jobTypes) : null;
    const expiry = now + leaseMs;
    for (const queue of request.queues) {
      const limit = request.limit - out.length;
      if (limit <= 0) break;
      const leases = this.#shared || now >= this.#leaseMinOf(queue);
      const single = limit === 1;
      const sql = S.claimSql(single, leases, types !== null);
      const claimed = this.#gatedQueues.has(queue)
        ? []
        : types !== null
          ? this.#arrays(sql, now, token, expiry, queue, limit, types)
          : single
            ? this.#arrays(sql, now, token, expiry, queue)
            : this.#arrays(sql, now, token, expiry, queue, limit);
      if (this.#shared) {
        // Nothing cached: another process's leases are invisible to this store's bookkeeping.
      } else if (leases) {
        // Rare: refresh the queue's earliest lease expiry (an index min) so later claims skip the merge.
        const [m] = this.#all(S.LEASE_MIN, queue);
        this.#leaseMin.set(queue, m?.m === null || m?.m === undefined ? Infinity : Number(m.m));
      } else if (claimed.length > 0) {
        this.#leaseMin.set(queue, Math.min(this.#leaseMinOf(queue), expiry));
      }
      if (claimed.length === 0 && (this.#gatedQueues.has(queue) || this.#flowSeen())) {
        claimed.push(...this.#gatedClaim(queue, limit, now, token, expiry, types));
        if (!this.#shared && claimed.length > 0) this.#leaseMin.set(queue, Math.min(this.#leaseMinOf(queue), expiry));
      }
      sortClaimed(claimed);
      for (const a of claimed) {
        const job = fromArray(a);
        out.push({ jobId: job.id, token: `${token}.${a[0]}`, job, leaseExpiresAt: expiry });
      }
    }
    return out;
  }

  /** True once flow control was used in this database (re-read while false when other processes write it). */
  #flowSeen(): boolean {
    if (!this.#flowUsed && this.#shared) this.#flowUsed = this.#all(S.FLOW_USED_CHECK).length > 0;
    return this.#flowUsed;
  }

  /**
   * The claim when gated jobs are due, in one transaction: rate gates whose window moved on unpark
   * their best jobs; then candidates come in claim order and each gated one either starts (its key
   * has a live slot and its rate window a start left) or is parked on the gate that holds it (out
   * of every claim index, so no later claim walks it again). Repeats until `limit` rows are
   * claimed or no candidate is left. Key slots and window starts are counted once per key from
   * their indexes, then kept in step with this claim's own picks.
   */
  #gatedClaim(queue: string, limit: number, now: number, token: string, expiry: number, types: string | null): unknown[][] {
    return this.#db.transaction(() => {
      const out: unknown[][] = [];
      let gated = false;
      // Candidates come in growing batches: a run of parked rows costs a few walks, not one per row.
      for (let fetch = limit; out.length < limit; fetch = Math.min(fetch * 4, 4_096)) {
        const want = limit - out.length;
        const size = Math.max(fetch, want);
        let candidates = this.#all(S.FLOW_CANDIDATES, now, queue, size, types);
        if (candidates.length === 0 || candidates[0]!.gates_due) {
          // A rate window moved on: its best parked jobs wait again, then the walk starts over.
          const due = this.#all(S.DUE_GATES, now);
          for (const g of due) this.#run(S.UNPARK, g.gate, g.lim);
          if (due.length > 0) candidates = this.#all(S.FLOW_CANDIDATES, now, queue, size, types);
        }
        if (candidates.length === 0) break;
        const pick: number[] = [];
        const park: [number, string][] = [];
        const started: string[] = [];
        /** This round's own starts per key (the counts in the candidates were taken before them). */
        const slots = new Map<string, number>();
        const rates = new Map<string, number>();
        for (const c of candidates) {
          if (pick.length >= want) break;
          const seq = Number(c.seq);
          const ckey = c.ckey as string | null;
          const rkey = c.rkey as string | null;
          if (ckey !== null || rkey !== null) gated = true;
          if (ckey !== null && Number(c.running) + (slots.get(ckey) ?? 0) >= Number(c.climit ?? 1)) {
            park.push([seq, `c${ckey}`]);
            continue;
          }
          if (rkey !== null) {
            const period = Number(c.rperiod);
            const rlimit = Number(c.rlimit);
            const mine = rates.get(rkey) ?? 0;
            let at: number | null = null;
            if (Number(c.starts) + mine >= rlimit) {
              // Full: when the window lets the next start through needs the start times themselves.
              const list = this.#all(S.RATE_STARTS, rkey, now - period).map((r) => Number(r.at));
              for (let i = 0; i < mine; i++) list.push(now);
              at = rateAllowedAt(list, 0, rlimit, period, now);
            }
            if (at !== null && at > now) {
              park.push([seq, `r${rkey}`]);
              this.#run(S.GATE_WAKE, `r${rkey}`, queue, at, rlimit);
              continue;
            }
            rates.set(rkey, mine + 1);
            started.push(rkey);
            // Now and then, drop the key's starts that left every window.
            if ((++this.#starts & 63) === 0) this.#run(S.TRIM_STARTS, rkey, now - period);
          }
          if (ckey !== null) slots.set(ckey, (slots.get(ckey) ?? 0) + 1);
          pick.push(seq);
        }
        if (park.length > 0) this.#run(S.PARK, JSON.stringify(park));
        if (pick.length > 0) {
          out.push(...this.#arrays(S.CLAIM_SEQS, now, token, expiry, JSON.stringify(pick)));
          if (started.length > 0) this.#run(S.ADD_STARTS, JSON.stringify(started), now);
        }
        if (candidates.length < size) break;
      }
      // While gated rows come up, the next claim of the queue goes straight here.
      if (gated) this.#gatedQueues.add(queue);
      else this.#gatedQueues.delete(queue);
      return out;
    });
  }

  extendLease(lease: LeaseRef, leaseMs: number, now: number): boolean | "cancelled" {
    const expiry = now + leaseMs;
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    // RETURNING the queue, because a lease may also be shortened: claims must then look for
    // expired leases from the new expiry on.
    const [row] = this.#all(S.EXTEND, expiry, seq, lease.token, lease.jobId);
    if (!row) return this.#all(S.CANCELLED_UNDER, seq, lease.token, lease.jobId).length > 0 ? "cancelled" : false;
    const queue = row.queue as string;
    if (!this.#shared) this.#leaseMin.set(queue, Math.min(this.#leaseMinOf(queue), expiry));
    return true;
  }

  complete(lease: LeaseRef, result: unknown, now: number, retention?: RetentionOptions): boolean {
    const ok = this.#held(S.COMPLETE, lease, now, JSON.stringify(result === undefined ? null : result));
    if (ok) this.#finished(now, retention);
    return ok;
  }

  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): boolean {
    if (outcome.status === "retrying") return this.#held(S.RETRYING, lease, errorMessage, now, outcome.retryAt);
    return this.#held(S.FAILED, lease, outcome.status, errorMessage, now);
  }

  release(lease: LeaseRef): boolean {
    return this.#held(S.RELEASE, lease);
  }

  get(id: string): Job | null {
    return this.#jobs(S.BY_ID, id)[0] ?? null;
  }

  /** Cancels a waiting job, or with `running` also a RUNNING one (see SET.cancel). */
  cancel(id: string, now: number, retention?: RetentionOptions, running = false): boolean {
    const written = this.#run(running ? S.CANCEL_RUNNING : S.CANCEL, now, id);
    if (written > 0) this.#finished(now, retention);
    return written > 0;
  }

  retry(id: string, now: number): Job | null {
    return this.#jobs(S.RETRY, now, id)[0] ?? null;
  }

  list(filter: ListFilter = {}): Job[] {
    return this.#jobs(S.LIST, filter.status ?? null, filter.queueName ?? null, filter.jobType ?? null, filter.limit ?? 100);
  }

  stats(): QueueStats {
    // Folded on null-prototype objects: a queue named "__proto__" must not reach Object.prototype.
    const paused = this.pausedQueues();
    return foldStats(this.#all(S.STATS).map((r) => [r.queue as string, r.status as JobStatus, Number(r.n)] as const), paused);
  }

  /**
   * Waiting jobs (PENDING, SCHEDULED, RETRYING) in this database: the counter its triggers keep,
   * one row read. The first call on a database installs the counter (see WAITING_COUNTER).
   */
  countWaiting(): number {
    if (!this.#counted) {
      this.#db.transaction(() => {
        // Another process may have installed it since this store opened: then nothing to do.
        if (this.#all(S.MIGRATION_APPLIED, WAITING_COUNTER.name).length > 0) return;
        this.#db.exec(WAITING_COUNTER.sql);
        this.#run(S.RECORD_MIGRATION, WAITING_COUNTER.name);
      });
      this.#counted = true;
    }
    const [row] = this.#all(S.COUNT_WAITING);
    if (!row) throw new StorageError("the waiting-jobs counter (job_counts) has no row");
    return Number(row.waiting);
  }

  /** The paused queue names, sorted. */
  pausedQueues(): string[] {
    return this.#all(S.PAUSED).map((r) => r.name as string);
  }

  /** Pauses or resumes `queueName` for every claim on this database; true when the state changed. */
  setPaused(queueName: string, paused: boolean, now: number): boolean {
    return (paused ? this.#run(S.PAUSE, queueName, now) : this.#run(S.RESUME, queueName)) > 0;
  }

  /** Stores the lease holder's progress; false when the lease is not live. */
  progress(lease: LeaseRef, value: JobProgress): boolean {
    return this.#held(S.PROGRESS, lease, JSON.stringify(value));
  }

  /** One statement applying `action` to every job matching `filter`; the count. An empty filter is refused. */
  bulk(action: BulkAction, filter: BulkFilter, now: number, retention?: RetentionOptions): number {
    const { status = null, queueName = null, jobType = null, olderThan } = filter ?? {};
    if (status === null && queueName === null && jobType === null && olderThan === undefined) {
      throw new InvalidFilterError("filter", `bulk ${action} needs at least one of status, queueName, jobType, olderThan`);
    }
    const sql = action === "retry" ? S.BULK_RETRY : action === "cancel" ? S.BULK_CANCEL : S.BULK_PURGE;
    const n = this.#all(sql, now, status, queueName, jobType, olderThan === undefined ? null : olderThan.getTime()).length;
    if (n > 0 && action === "cancel") this.#finished(now, retention);
    else if (n > 0 && action === "purge") this.#refreshFinished();
    return n;
  }

  /** One page, newest first, below `filter.cursor`: a walk of the primary key (or of jobs_idem for a key). */
  listPage(filter: PageFilter = {}): JobPage {
    const { jobs, cursors, more } = this.page(filter);
    return { jobs, nextCursor: more ? cursors[cursors.length - 1]! : null };
  }

  /** {@link listPage} with the cursor after each job (a Durable Object client merges several objects' pages). */
  page(filter: PageFilter = {}): { jobs: Job[]; cursors: string[]; more: boolean } {
    const limit = filter.limit ?? 50;
    const f = [filter.status ?? null, filter.queueName ?? null, filter.jobType ?? null];
    let rows: unknown[][];
    let more = false;
    if (filter.idempotencyKey !== undefined) {
      rows = this.#arrays(S.PAGE_BY_KEY, filter.idempotencyKey, f[1], f[0], f[2], limit);
    } else {
      const cursor = filter.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(filter.cursor);
      if (!Number.isSafeInteger(cursor)) throw new InvalidFilterError("cursor", "is not a cursor of this store");
      rows = this.#arrays(S.PAGE, cursor, ...f, limit + 1);
      more = rows.length > limit;
      if (more) rows.length = limit;
    }
    return { jobs: rows.map(fromArray), cursors: rows.map((r) => String(r[0])), more };
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
    const row = (queues ? this.#all(S.WAKE_OF, JSON.stringify(queues)) : this.#all(S.WAKE_ALL))[0];
    const wake = row ? { queue: row.queue as string, at: Number(row.w) } : null;
    if (!this.#flowUsed) return wake;
    // A rate window that moves on wakes its parked jobs (rate keys span queues: not filtered by queue).
    const [gate] = this.#all(S.GATE_MIN);
    if (gate && (wake === null || Number(gate.w) < wake.at)) return { queue: queues?.[0] ?? (gate.queue as string), at: Number(gate.w) };
    return wake;
  }

  /** The queue's earliest lease expiry, or Infinity when none of its jobs is leased. */
  #leaseMinOf(queue: string): number {
    return this.#leaseMin.get(queue) ?? Infinity;
  }

  /** Runs a lease-bound statement (see heldSql) with its values; true when the lease was live. */
  #held(sql: string, lease: LeaseRef, ...values: unknown[]): boolean {
    const seq = leaseSeq(lease);
    return seq !== null && this.#run(sql, ...values, seq, lease.token, lease.jobId) > 0;
  }

  /** Counts a newly finished job and prunes when a retention bound is crossed. */
  #finished(now: number, retention?: RetentionOptions): void {
    let plan = this.#retention.finished(now, retention);
    if (plan === "refresh") {
      this.#refreshFinished();
      plan = this.#retention.plan(now, retention);
    }
    if (plan === null) return;
    this.#run(S.PRUNE, plan.remove, plan.cutoff, plan.keyedCutoff);
    this.#refreshFinished();
  }

  #refreshFinished(): void {
    this.#retention.set(finishedCounts(this.#all(S.FINISHED)[0]));
  }

  #all(sql: string, ...bindings: unknown[]): Row[] {
    this.counter.statements++;
    return this.#db.all(sql, ...bindings);
  }

  #run(sql: string, ...bindings: unknown[]): number {
    this.counter.statements++;
    return this.#db.run(sql, ...bindings);
  }

  /** Runs a statement whose single column is ROW_JSON; returns the parsed arrays. */
  #arrays(sql: string, ...bindings: unknown[]): unknown[][] {
    return this.#all(sql, ...bindings).map((r) => JSON.parse(r.j as string) as unknown[]);
  }

  #jobs(sql: string, ...bindings: unknown[]): Job[] {
    return this.#arrays(sql, ...bindings).map(fromArray);
  }
}
