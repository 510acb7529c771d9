/**
 * PostgresJobQueue: the queue port on PostgreSQL through the SQL core's PostgreSQL dialect, on the
 * `postgres` client. Any number of processes and machines share one database: every transition is
 * one statement (claims with FOR UPDATE SKIP LOCKED), leases expire on the database's clock,
 * enqueues NOTIFY and subscribed workers LISTEN.
 */
import type { Options, Sql } from "postgres";
import {
  ANY_JOB,
  InvalidFilterError,
  isWaiting,
  JobStatus,
  PorticoError,
  StorageError,
  type BulkAction,
  type BulkFilter,
  type ClaimRequest,
  type ClaimedJob,
  type CountWaitingOptions,
  type EnqueueResult,
  type FailureOutcome,
  type Job,
  type JobChange,
  type JobPage,
  type JobProgress,
  type JobQueue,
  type LeaseRef,
  type ListFilter,
  type PageFilter,
  type QueueStats,
  type RetentionOptions,
} from "../../core/index.ts";
import { INSERT_COLUMNS, flowValues, fromArray, insertValues, sortClaimed } from "../sql/row-codec.ts";
import { debounceInto, isGated, rateAllowedAt } from "../../core/transitions.ts";
import { quoteIdent } from "../sql/pg-schema.ts";
import { DONE_PREFIX, pgStatements, type PgLeaseClock, type PgStatements } from "../sql/pg-statements.ts";
import { finishedCounts, RetentionTracker, type PrunePlan } from "../sql/retention.ts";
import { foldStats } from "../../core/transitions.ts";
import { leaseSeq } from "../sql/transitions.ts";
import { Coalescer } from "./coalescer.ts";
import { isConnectionError, storageError } from "./errors.ts";
import { migrate } from "./migrate.ts";
import { Notifications } from "./notifications.ts";
import { PgClient } from "./client.ts";

/** Where the queue's database is: a connection URL (the queue makes and ends its client), or your own `postgres` client. */
export type PostgresJobQueueConnection =
  | {
      /** `postgres://user:pass@host:port/db`; the queue opens a pool of `max` connections (default 10) and ends it on close(). */
      url: string;
      max?: number;
      /** More options for that client, e.g. `{ socket: postgresSocket }` in a Worker (see docs/postgres.md). */
      client?: PostgresClientOptions;
    }
  | {
      /** A client made with `postgres(...)`; it stays yours: close() does not end it. */
      sql: Sql;
    };

/** Options for the client a `{ url }` queue makes: the `postgres` client's own, but `max` (a sibling of `url`) and `fetch_types` (always off: see client.ts). */
export type PostgresClientOptions = Omit<Options<Record<string, never>>, "max" | "fetch_types"> & {
  /** The client's custom-socket option (untyped in `postgres` 3.4.9): a function of the client's options returning a socket, or a promise of one. */
  socket?: (options: never) => unknown;
};

/** Options of {@link PostgresJobQueue}. */
export interface PostgresJobQueueOptions {
  /** The schema holding the queue's tables, created on open (default "portico"). Queues in different schemas are independent. */
  schema?: string;
  /** Subscribed workers LISTEN for enqueues (default true). Off behind a pooler that cannot hold a session (see docs/postgres.md). */
  listen?: boolean;
  /** How many finished jobs to keep, and for how long (default `DEFAULT_RETENTION`: 10,000 and 24 h). */
  retention?: RetentionOptions;
  /**
   * Whose clock decides lease expiry: "database" (default: written and compared with the
   * server's `now()`, so machines with skewed clocks never both hold a job) or "caller" (the
   * `now` each call passes; for tests that drive time with a fake clock).
   */
  leaseClock?: PgLeaseClock;
  /**
   * How old a count of waiting jobs may grow for `countWaiting({ cached: true })`, the call
   * JobService's `maxWaitingJobs` makes on every creation (default 1,000 ms). Such a call answers
   * from the last count plus this queue's own changes since (its creations, claims, retries,
   * releases, cancels: exact for one process); once the count is older than this (and than 20
   * times the last count's duration, so counting stays a small share of the database's work) it
   * starts a new count in the background and answers from the figure it has. Other processes'
   * changes therefore show within about this time. 0 counts on every call and waits for it (a
   * scan per creation: for tests). A single counter row would be exact, but every writer in every
   * process would then queue for its lock.
   */
  waitingCountMaxAgeMs?: number;
}

/** Result rows (shaped by each statement's SELECT list) and the count of rows a write changed. */
// deno-lint-ignore no-explicit-any
type Rows = Record<string, any>[] & { count: number };

/** A completion waiting for its batch: the lease's seq, token and id, the time and the result as JSON text. */
interface Completion {
  s: number;
  t: string;
  i: string;
  n: number;
  r: string;
}

/** A cached count of waiting jobs is renewed after at least this many times the last count's duration, so counting takes at most a twentieth of one connection. */
const COUNT_TIME_FACTOR = 20;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * For bulk actions (retry, cancel, purge by filter): planned on each call instead of prepared. A
 * prepared statement's cached generic plan is made for the table as it was (see #walk); these
 * calls are rare, so a plan per call costs little.
 */
const FRESH_PLAN = true;

/** How long a transaction whose statement saw its connection fail waits for the close before it rolls back as usual. */
const TRANSACTION_LOST_GRACE_MS = 10_000;

/** A {@link JobQueue} on PostgreSQL, shared by any number of processes and machines. */
export class PostgresJobQueue implements JobQueue {
  readonly #client: PgClient;
  readonly #schema: string;
  readonly #clock: PgLeaseClock;
  readonly #retention: RetentionOptions | undefined;
  readonly #tracker = new RetentionTracker(true);
  readonly #q: PgStatements;
  readonly #channel: string;
  readonly #prepare: boolean;
  readonly #listeners = new Set<() => void>();
  readonly #watchers = new Set<(change: JobChange) => void>();
  readonly #notifications: Notifications | null;
  /** Lease tokens: `<random per queue>-<claim counter>.<seq>` (the trailing seq finds the row by its primary key). */
  readonly #tokenPrefix = crypto.randomUUID();
  #claims = 0;
  /** Completions in flight together go out as one statement (see Coalescer). */
  readonly #completions = new Coalescer<Completion, boolean>((batch) => this.#completeBatch(batch));
  /** The retention re-read or prune under way; finishes meanwhile are only counted (see #finished). */
  #retentionRun: Promise<void> | null = null;
  #opening: Promise<void> | null = null;
  #closed = false;
  /** This schema has seen flow control (re-read while false: other processes may use it first). */
  #flowUsed = false;
  readonly #waitingMaxAge: number;
  /** The last count of waiting jobs, less this queue's changes up to it (so `base + #waitingDelta` is the estimate), when it was taken and how long it took. */
  #waiting: { base: number; at: number; took: number } | null = null;
  /** Waiting jobs this queue added (or, negative, took) by its own writes, since it was made. */
  #waitingDelta = 0;
  /** A count in flight, shared by the cached callers that found the last one too old. */
  #counting: Promise<number> | null = null;

  constructor(connection: PostgresJobQueueConnection, options: PostgresJobQueueOptions = {}) {
    const schema = options.schema ?? "portico";
    if (typeof schema !== "string" || !SCHEMA_NAME.test(schema)) {
      throw new PorticoError("invalid_option", `PostgresJobQueue: schema must be an SQL identifier (letters, digits, _; at most 63), got ${JSON.stringify(options.schema)}`);
    }
    const clock = options.leaseClock ?? "database";
    if (clock !== "database" && clock !== "caller") {
      throw new PorticoError("invalid_option", `PostgresJobQueue: leaseClock must be "database" or "caller", got ${JSON.stringify(options.leaseClock)}`);
    }
    const replaced = (sql: Sql) => this.#notifications?.useClient(sql);
    if (connection && "url" in connection && typeof connection.url === "string") {
      this.#client = new PgClient({ url: connection.url, max: connection.max ?? 10, options: connection.client }, replaced);
    } else if (connection && "sql" in connection && typeof connection.sql === "function") {
      this.#client = new PgClient({ sql: connection.sql }, replaced);
    } else {
      throw new PorticoError("invalid_option", "PostgresJobQueue: pass { url: \"postgres://...\" } or { sql } (a client made with postgres())");
    }
    this.#schema = schema;
    this.#clock = clock;
    this.#retention = options.retention;
    const maxAge = options.waitingCountMaxAgeMs ?? 1_000;
    if (typeof maxAge !== "number" || !(maxAge >= 0)) {
      throw new PorticoError("invalid_option", `PostgresJobQueue: waitingCountMaxAgeMs must be a number >= 0, got ${String(options.waitingCountMaxAgeMs)}`);
    }
    this.#waitingMaxAge = maxAge;
    this.#q = pgStatements(quoteIdent(schema), clock);
    this.#channel = `portico_jobs:${schema}`;
    this.#prepare = (this.#client.sql.options as { prepare?: boolean } | undefined)?.prepare !== false;
    this.#notifications = options.listen === false ? null : new Notifications(this.#client.sql, this.#channel, (payload) => this.#heard(payload));
    // Open (migrate) at once, so the first call finds it done; a failure is reported by that call.
    this.ready().catch(() => {});
  }

  /** The schema this queue lives in. */
  get schema(): string {
    return this.#schema;
  }

  /**
   * Resolves once the schema is created or migrated (every call waits for it anyway). Rejects with
   * a StorageError when the database cannot be reached; the next call tries again.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new StorageError("PostgresJobQueue: the queue is closed"));
    this.#opening ??= (async () => {
      const sql = this.#client.use();
      try {
        await migrate(sql, this.#schema);
        const [row] = (await sql.unsafe(this.#q.finished)) as unknown as Rows;
        this.#tracker.set(finishedCounts(row));
      } catch (error) {
        this.#opening = null;
        this.#connectionFailed(sql, error);
        throw storageError("open", error);
      } finally {
        this.#client.done(sql);
      }
    })();
    return this.#opening;
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    if (jobs.length === 0) return [];
    const results = jobs.some((j) => j.debounce !== undefined || isGated(j)) ? await this.#enqueueFlow(jobs) : await this.#enqueuePlain(jobs);
    // A debounced job that took a waiting job's place was not created: the count stays.
    let created = 0;
    for (const r of results) if (r.created && isWaiting(r.job.status)) created++;
    this.#moved(created);
    return results;
  }

  /**
   * Jobs with flow control, in one transaction under the schema's flow lock: a debounced job
   * replaces the waiting job with its key (core's debounceInto), the others are inserted.
   */
  async #enqueueFlow(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    const results = await this.#transaction("enqueue", async (run) => {
      await run(this.#q.flowLock, []);
      await run(this.#q.flowUsed, []);
      const out: EnqueueResult[] = [];
      for (const job of jobs) {
        if (job.debounce !== undefined) {
          const [row] = await run(this.#q.debounceFind, [job.queueName, job.debounce.key]);
          if (row) {
            const existing = fromArray(row.j as unknown[]);
            debounceInto({ job: existing, token: null, leaseExpiresAt: 0 }, job);
            const runAt = existing.runAt.getTime();
            await run(this.#q.debounceSet, [
              existing.jobType, JSON.stringify(existing.payload === undefined ? null : existing.payload), existing.priority, existing.maxRetries,
              JSON.stringify(existing.metadata ?? {}), existing.createdBy ?? null, existing.timeoutMs ?? null, ...flowValues(existing, false),
              runAt, existing.scheduledAt ? existing.scheduledAt.getTime() : null, existing.status, runAt, row.seq,
            ]);
            out.push({ job: existing, created: false });
            continue;
          }
        }
        out.push(...(await this.#enqueuePlain([job], run)));
      }
      return out;
    });
    this.#flowUsed = true;
    this.#notify();
    return results;
  }

  async #enqueuePlain(jobs: readonly Job[], run: (text: string, params: unknown[]) => Promise<Rows> = (t, p) => this.#run("enqueue", t, p)): Promise<EnqueueResult[]> {
    const rows = jobs.map((job) => {
      const values = insertValues(job, false);
      const record: Record<string, unknown> = {};
      for (let i = 0; i < INSERT_COLUMNS.length; i++) record[INSERT_COLUMNS[i]!] = values[i];
      return record;
    });
    const [r] = await run(this.#q.enqueue, [JSON.stringify(rows), this.#channel]);
    const created = new Set((r as { ids: string[] }).ids);
    if (created.size > 0) this.#notify();
    if (created.size === jobs.length) return jobs.map((job) => ({ job, created: true }));
    const keys = jobs.filter((j) => !created.has(j.id) && j.idempotencyKey !== null).map((j) => ({ q: j.queueName, i: j.idempotencyKey }));
    // Only duplicates pay for a second statement, one for all of them.
    const existing = keys.length > 0 ? (await run(this.#q.byKeys, [JSON.stringify(keys)])).map((x) => fromArray((x as { j: unknown[] }).j)) : [];
    const byKey = new Map(existing.map((j) => [`${j.queueName}\u0000${j.idempotencyKey}`, j]));
    return jobs.map((job) => {
      if (created.has(job.id)) return { job, created: true };
      const found = byKey.get(`${job.queueName}\u0000${job.idempotencyKey}`);
      // Only a key already taken is skipped; anything else not created would be a lost job.
      if (!found) throw new StorageError(`PostgresJobQueue.enqueue: job ${job.id} was neither stored nor found by its idempotency key`);
      return { job: found, created: false };
    });
  }

  /** Claims queue by queue, one statement per queue visited (FOR UPDATE SKIP LOCKED). */
  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    const { now, leaseMs } = request;
    const out: ClaimedJob[] = [];
    const token = `${this.#tokenPrefix}-${++this.#claims}`;
    for (const queue of request.queues) {
      const limit = request.limit - out.length;
      if (limit <= 0) break;
      const claimed = await this.#run("claim", this.#q.claim, [now, token, leaseMs, queue, limit]);
      // An expired lease was RUNNING before the claim and is after it: only the others stop waiting.
      this.#moved(-claimed.filter((r) => !r.leased).length);
      const rows = claimed.map((r) => (r as { j: unknown[] }).j);
      if (rows.length === 0 && (await this.#flowSeen())) rows.push(...(await this.#gatedClaim(queue, limit, now, token, leaseMs)));
      sortClaimed(rows);
      for (const a of rows) {
        const job = fromArray(a);
        out.push({ jobId: job.id, token: `${token}.${a[0]}`, job, leaseExpiresAt: now + leaseMs });
      }
    }
    return out;
  }

  async #flowSeen(): Promise<boolean> {
    if (!this.#flowUsed) this.#flowUsed = (await this.#run("claim", this.#q.flowUsedCheck, [])).length > 0;
    return this.#flowUsed;
  }

  /**
   * The claim when gated jobs are due: one transaction under the schema's flow lock (so two workers
   * never both take a key's last slot or a window's last start), the same steps as the SQLite
   * store's gated claim: open rate gates, then candidates in claim order, each started or parked.
   */
  async #gatedClaim(queue: string, limit: number, now: number, token: string, leaseMs: number): Promise<unknown[][]> {
    /** Waiting jobs this claim takes, less the expired leases it parks (RUNNING -> PENDING). */
    let moved = 0;
    const rows = await this.#transaction("claim", async (run) => {
      moved = 0;
      await run(this.#q.flowLock, []);
      // Synchronous (a gated claim also records rate-limit starts), but the same plan settings.
      await run(this.#q.planSettings, []);
      for (const g of await run(this.#q.dueGates, [now])) await run(this.#q.unpark, [g.gate, g.lim]);
      const running = new Map<string, number>();
      const starts = new Map<string, number[]>();
      const out: unknown[][] = [];
      // Candidates come in growing batches: a run of parked rows costs a few walks, not one per row.
      for (let fetch = limit; out.length < limit; fetch = Math.min(fetch * 4, 4_096)) {
        const want = limit - out.length;
        const candidates = await run(this.#q.flowCandidates, [now, queue, Math.max(fetch, want)]);
        if (candidates.length === 0) break;
        const pick: number[] = [];
        const park: { s: number; g: string }[] = [];
        const started: string[] = [];
        for (const c of candidates) {
          if (pick.length >= want) break;
          const ckey = c.ckey as string | null;
          const rkey = c.rkey as string | null;
          if (ckey !== null) {
            let n = running.get(ckey);
            if (n === undefined) n = Number((await run(this.#q.keyRunning, [ckey, now]))[0]!.n);
            running.set(ckey, n);
            if (n >= Number(c.climit ?? 1)) {
              park.push({ s: c.seq, g: `c${ckey}` });
              if (c.leased) moved++;
              continue;
            }
          }
          if (rkey !== null) {
            const period = Number(c.rperiod);
            const rlimit = Number(c.rlimit);
            let list = starts.get(rkey);
            if (list === undefined) {
              await run(this.#q.trimStarts, [rkey, now - period]);
              list = (await run(this.#q.rateStarts, [rkey, now - period])).map((r) => Number(r.at));
              starts.set(rkey, list);
            }
            const at = rateAllowedAt(list, 0, rlimit, period, now);
            if (at !== null) {
              park.push({ s: c.seq, g: `r${rkey}` });
              if (c.leased) moved++;
              await run(this.#q.gateWake, [`r${rkey}`, queue, at, rlimit]);
              continue;
            }
            list.push(now);
            started.push(rkey);
          }
          if (ckey !== null) running.set(ckey, running.get(ckey)! + 1);
          pick.push(c.seq);
          if (!c.leased) moved--;
        }
        if (park.length > 0) await run(this.#q.park, [JSON.stringify(park)]);
        if (pick.length > 0) {
          out.push(...(await run(this.#q.claimSeqs, [now, token, leaseMs, JSON.stringify(pick)])).map((r) => (r as { j: unknown[] }).j));
          if (started.length > 0) await run(this.#q.addStarts, [JSON.stringify(started), now]);
        }
        if (candidates.length < Math.max(fetch, want)) break;
      }
      return out;
    });
    this.#moved(moved);
    return rows;
  }

  /**
   * Runs `fn` in one transaction after opening; failures become StorageErrors.
   *
   * When a statement fails because the connection was lost, `fn` is left waiting instead of
   * returning: `postgres` (3.4.9) would answer its failure by sending ROLLBACK on the closed
   * connection, which throws from a timer and ends the process. The server rolls the transaction
   * back by itself when the connection goes, so nothing is left to undo; the lost connection
   * rejects this call at once. Should the connection prove alive after all (no close within a
   * grace period), `fn` fails then and the client rolls back as usual.
   */
  async #transaction<T>(op: string, fn: (run: (text: string, params: unknown[]) => Promise<Rows>) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StorageError(`PostgresJobQueue.${op}: the queue is closed`);
    await this.ready();
    let lost!: (error: unknown) => void;
    const connectionLost = new Promise<never>((_, reject) => (lost = reject));
    let settled = false;
    const sql = this.#client.use();
    const begin = sql.begin((tx) =>
      fn(async (text, params) => {
        try {
          return (await tx.unsafe(text, params as never[], { prepare: this.#prepare })) as unknown as Rows;
        } catch (error) {
          if (!isConnectionError(error)) throw error;
          lost(error);
          return new Promise<never>((_, reject) => {
            const timer = setTimeout(() => settled || reject(error), TRANSACTION_LOST_GRACE_MS);
            (timer as { unref?: () => void }).unref?.();
          });
        }
      }),
    );
    begin.then(() => (settled = true), () => (settled = true));
    try {
      return (await Promise.race([begin, connectionLost])) as T;
    } catch (error) {
      this.#connectionFailed(sql, error);
      throw storageError(op, error);
    } finally {
      this.#client.done(sql);
    }
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    const params: unknown[] = [leaseMs, seq, lease.token, lease.jobId];
    if (this.#clock === "caller") params.push(now);
    if ((await this.#run("extendLease", this.#q.extend, params)).count > 0) return true;
    // Refused: a cancel may have taken the job from this very lease (rare, so a second read).
    return (await this.#run("extendLease", this.#q.cancelledUnder, [seq, lease.token, lease.jobId])).length > 0 ? "cancelled" : false;
  }

  async complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    const ok = await this.#completions.push({ s: seq, t: lease.token, i: lease.jobId, n: now, r: JSON.stringify(result === undefined ? null : result) });
    if (ok) {
      this.#changed(lease.jobId, JobStatus.COMPLETED);
      await this.#finished(now);
    }
    return ok;
  }

  /**
   * One statement for the batch. Every row is checked as a single complete is (seq, token, id,
   * running), so batching changes no lease rule; a lease named twice succeeds at most once.
   */
  async #completeBatch(batch: Completion[]): Promise<boolean[]> {
    if (batch.length === 1) {
      const c = batch[0]!;
      return [(await this.#run("complete", this.#q.complete, [c.n, c.r, c.s, c.t, c.i, this.#channel])).length > 0];
    }
    const done = new Set((await this.#run("complete", this.#q.completeMany, [JSON.stringify(batch), this.#channel])).map((r) => `${r.s}|${r.t}`));
    return batch.map((c) => done.delete(`${c.s}|${c.t}`));
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    if (outcome.status === "retrying") {
      const ok = await this.#held("fail", this.#q.retrying, lease, [errorMessage, now, outcome.retryAt]);
      if (ok) this.#moved(1);
      return ok;
    }
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    const ok = (await this.#run("fail", this.#q.failed, [outcome.status, errorMessage, now, seq, lease.token, lease.jobId, this.#channel])).length > 0;
    if (ok) this.#changed(lease.jobId, outcome.status);
    return ok;
  }

  async release(lease: LeaseRef, _now: number): Promise<boolean> {
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    const [r] = await this.#run("release", this.#q.release, [seq, lease.token, lease.jobId, this.#channel]);
    const ok = (r as { changed: number }).changed > 0;
    if (ok) {
      this.#moved(1);
      this.#notify();
    }
    return ok;
  }

  async get(id: string): Promise<Job | null> {
    const [r] = await this.#run("get", this.#q.get, [id]);
    return r ? fromArray((r as { j: unknown[] }).j) : null;
  }

  async cancel(id: string, now: number, options?: { running?: boolean }): Promise<boolean> {
    const running = options?.running === true;
    const [r] = await this.#run("cancel", running ? this.#q.cancelRunning : this.#q.cancel, [now, id, this.#channel]);
    const ok = r !== undefined;
    if (ok && (!running || r.waited)) this.#moved(-1);
    if (ok) {
      this.#changed(id, JobStatus.CANCELLED);
      await this.#finished(now);
    }
    return ok;
  }

  /** A row in the schema's paused_queues: every claim of every process reads it by primary key. */
  async setPaused(queueName: string, paused: boolean, now: number): Promise<boolean> {
    if (paused) return (await this.#run("setPaused", this.#q.pause, [queueName, now])).count > 0;
    const [r] = await this.#run("setPaused", this.#q.resume, [queueName, this.#channel]);
    const changed = (r as { c: number }).c > 0;
    if (changed) this.#notify();
    return changed;
  }

  async progress(lease: LeaseRef, value: JobProgress, _now: number): Promise<boolean> {
    const ok = await this.#held("progress", this.#q.progress, lease, [JSON.stringify(value)]);
    if (ok) this.#changed(lease.jobId, JobStatus.RUNNING);
    return ok;
  }

  /** One statement per action; an empty filter is refused. */
  async bulk(action: BulkAction, filter: BulkFilter, now: number): Promise<number> {
    const { status = null, queueName = null, jobType = null, olderThan } = filter ?? {};
    if (status === null && queueName === null && jobType === null && olderThan === undefined) {
      throw new InvalidFilterError("filter", `bulk ${action} needs at least one of status, queueName, jobType, olderThan`);
    }
    const params: unknown[] = [now, status, queueName, jobType, olderThan === undefined ? null : olderThan.getTime()];
    const text = action === "retry" ? this.#q.bulkRetry : action === "cancel" ? this.#q.bulkCancel : this.#q.bulkPurge;
    if (action !== "purge") params.push(this.#channel);
    const [r] = await this.#run("bulk", text, params, FRESH_PLAN);
    const n = Number((r as { c: number }).c);
    if (action === "retry") this.#moved(n);
    if (action === "cancel") this.#moved(-Number((r as { w: number }).w));
    if (n > 0 && action === "retry") this.#notify();
    if (n > 0 && action === "cancel") {
      this.#changed(ANY_JOB, JobStatus.CANCELLED);
      await this.#finished(now);
    }
    if (n > 0 && action === "purge") await this.#refresh().catch(() => {});
    return n;
  }

  /** Newest first below the cursor: a walk of the primary key (of jobs_idem for a key), never an offset. */
  async listPage(filter: PageFilter = {}): Promise<JobPage> {
    const limit = filter.limit ?? 50;
    const f = [filter.status ?? null, filter.queueName ?? null, filter.jobType ?? null];
    if (filter.idempotencyKey !== undefined) {
      const rows = await this.#run("listPage", this.#q.pageByKey, [filter.idempotencyKey, f[1], f[0], f[2], limit]);
      return { jobs: rows.map((r) => fromArray((r as { j: unknown[] }).j)), nextCursor: null };
    }
    const cursor = filter.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(filter.cursor);
    if (!Number.isSafeInteger(cursor)) throw new InvalidFilterError("cursor", "is not a cursor of this store");
    const rows = (await this.#walk("listPage", this.#q.page, [cursor, ...f, limit + 1])).map((r) => (r as { j: unknown[] }).j);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { jobs: rows.map(fromArray), nextCursor: more ? String(rows[rows.length - 1]![0]) : null };
  }

  /**
   * This process's finishes, cancels and progress at once, and every other process's finishes
   * through the NOTIFY their statements send on the queue's channel (the same LISTEN as subscribe).
   */
  watch(listener: (change: JobChange) => void): () => void {
    this.#watchers.add(listener);
    if (!this.#closed) this.#notifications?.start();
    return () => {
      this.#watchers.delete(listener);
      if (this.#listeners.size === 0 && this.#watchers.size === 0) void this.#notifications?.stop();
    };
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const [r] = await this.#run("retry", this.#q.retry, [now, id, this.#channel]);
    if (!r) return null;
    this.#moved(1);
    this.#notify();
    return fromArray((r as { j: unknown[] }).j);
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    const rows = await this.#walk("list", this.#q.list, [filter.status ?? null, filter.queueName ?? null, filter.jobType ?? null, filter.limit ?? 100]);
    return rows.map((r) => fromArray((r as { j: unknown[] }).j));
  }

  async stats(): Promise<QueueStats> {
    const rows = (await this.#run("stats", this.#q.stats, [])) as unknown as { queue: string; status: JobStatus; n: number }[];
    // Prototype-less counters: a queue named "__proto__" or "constructor" is an ordinary key.
    const paused = (await this.#run("stats", this.#q.paused, [])).map((r) => r.name as string);
    return foldStats(rows.map((r) => [r.queue, r.status, Number(r.n)] as const), paused);
  }

  /**
   * Waiting jobs in the schema, every process's included: one count over the partial indexes of
   * waiting rows. With `cached: true` (JobService's `maxWaitingJobs`), the last count plus this
   * queue's own changes since, while it is younger than `waitingCountMaxAgeMs` (see there).
   */
  async countWaiting(options?: CountWaitingOptions): Promise<number> {
    if (options?.cached !== true || this.#waitingMaxAge === 0) return this.#countNow();
    const last = this.#waiting;
    if (last === null) {
      await (this.#counting ??= this.#recount());
    } else if (Date.now() - last.at >= Math.max(this.#waitingMaxAge, COUNT_TIME_FACTOR * last.took)) {
      // Counted again in the background: this call answers from the figure it has, so a
      // creation never waits for a count (only the very first does). A failed count is tried
      // again by the next call; the exact call reports the error.
      this.#counting ??= this.#recount();
      this.#counting.catch(() => {});
    }
    return Math.max(0, this.#waiting!.base + this.#waitingDelta);
  }

  #recount(): Promise<number> {
    return this.#countNow().finally(() => (this.#counting = null));
  }

  async #countNow(): Promise<number> {
    const at = Date.now();
    const before = this.#waitingDelta;
    const [r] = await this.#run("countWaiting", this.#q.countWaiting, []);
    const n = Number((r as { n: number }).n);
    // This queue's changes that commit while the count runs may be in it already: counted from
    // `before`, they count twice until the next count, which errs on the side of full.
    this.#waiting = { base: n - before, at, took: Date.now() - at };
    return n;
  }

  /** Records a change of this queue's own to the number of waiting jobs. */
  #moved(n: number): void {
    this.#waitingDelta += n;
  }

  async nextWakeAt(queues: readonly string[], now: number): Promise<number | null> {
    const [r] = await this.#run("nextWakeAt", this.#q.nextWake, [JSON.stringify(queues), now]);
    const w = (r as { w: number | null } | undefined)?.w;
    let wake = w === null || w === undefined ? null : Number(w);
    if (this.#flowUsed) {
      // A rate window that moves on wakes its parked jobs (rate keys span queues).
      const g = (await this.#run("nextWakeAt", this.#q.gateMin, []))[0]?.w;
      if (g !== null && g !== undefined && (wake === null || Number(g) < wake)) wake = Math.max(Number(g), now);
    }
    return wake;
  }

  /** Wakes `listener` on this queue's own writes at once and, through LISTEN, on every other process's enqueues. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#closed) this.#notifications?.start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#watchers.size === 0) void this.#notifications?.stop();
    };
  }

  /** Stops listening and refuses further calls; ends the client when the queue made it from a URL. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#watchers.clear();
    await this.#notifications?.stop();
    await this.#opening?.catch(() => {});
    await this.#client.end(5);
  }

  /**
   * Runs one statement after opening; failures become StorageErrors (see #connectionFailed).
   * `fresh` plans it on each call (see FRESH_PLAN).
   */
  async #run(op: string, text: string, params: unknown[], fresh = false): Promise<Rows> {
    if (this.#closed) throw new StorageError(`PostgresJobQueue.${op}: the queue is closed`);
    await this.ready();
    const sql = this.#client.use();
    try {
      return (await sql.unsafe(text, params as never[], { prepare: this.#prepare && !fresh })) as unknown as Rows;
    } catch (error) {
      this.#connectionFailed(sql, error);
      throw storageError(op, error);
    } finally {
      this.#client.done(sql);
    }
  }

  /**
   * Runs a list or page statement as a walk of the primary key in seq order, whatever the
   * statistics or a cached plan say: sorts are priced out for its transaction. A prepared page
   * cached at 1,000 rows otherwise kept a plan that read and sorted the whole table for each page
   * at 100,000 (155 ms against 0.1 ms), and a page planned afresh without statistics chose that
   * plan for a filtered page (77 ms). A walk reads until it has `limit` matches: quick when the
   * filter matches many, a longer walk when it matches few (docs/postgres.md).
   */
  async #walk(op: string, text: string, params: unknown[]): Promise<Rows> {
    return this.#transaction(op, async (run) => {
      await run(this.#q.planSettings, []);
      return run(text, params);
    });
  }

  /** After a failure on `sql`: a lost connection replaces the client (PgClient), or else listens again. */
  #connectionFailed(sql: Sql, error: unknown): void {
    if (!isConnectionError(error)) return;
    if (!this.#client.failed(sql, error)) this.#notifications?.reconnect();
  }

  /** A lease-bound statement: `values` first, then the lease's seq, token and id. */
  async #held(op: string, text: string, lease: LeaseRef, values: unknown[]): Promise<boolean> {
    const seq = leaseSeq(lease);
    if (seq === null) return false;
    return (await this.#run(op, text, [...values, seq, lease.token, lease.jobId])).count > 0;
  }

  /**
   * Counts a finished job and prunes when a retention bound is crossed, one re-read or prune at a
   * time: the figures stay past the bound until it lands, and every finish meanwhile would start
   * its own (at concurrency 50, 50 count queries and competing DELETEs at once). The transition
   * has committed already, so a failed prune is left for the next one instead of failing it.
   */
  async #finished(now: number): Promise<void> {
    const plan = this.#tracker.finished(now, this.#retention);
    if (plan === null || this.#retentionRun) return;
    const run = this.#applyRetention(now, plan).finally(() => (this.#retentionRun = null));
    this.#retentionRun = run;
    await run;
  }

  async #applyRetention(now: number, first: PrunePlan | "refresh"): Promise<void> {
    try {
      let plan: PrunePlan | "refresh" | null = first;
      if (plan === "refresh") {
        await this.#refresh();
        plan = this.#tracker.plan(now, this.#retention);
      }
      if (plan === null) return;
      await this.#run("prune", this.#q.prune, [plan.remove, plan.cutoff, plan.keyedCutoff]);
      await this.#refresh();
    } catch {
      // Retention is best effort per call; the next finished job checks again.
    }
  }

  async #refresh(): Promise<void> {
    const [row] = await this.#run("prune", this.#q.finished, []);
    this.#tracker.set(finishedCounts(row));
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #changed(jobId: string, status: JobStatus): void {
    for (const w of this.#watchers) w({ jobId, status });
  }

  /**
   * A notification on the channel: a finish (`d:<id>`) wakes waiters only; anything else (an
   * enqueue, a retry, a resume, or a (re)listen, which may have missed some) wakes workers, and
   * after a (re)listen waiters too.
   */
  #heard(payload: string | undefined): void {
    if (payload !== undefined && payload.startsWith(DONE_PREFIX)) {
      const id = payload.slice(DONE_PREFIX.length);
      this.#changed(id === "*" ? ANY_JOB : id, JobStatus.COMPLETED);
      return;
    }
    this.#notify();
    if (payload === undefined) this.#changed(ANY_JOB, JobStatus.RUNNING);
  }
}
