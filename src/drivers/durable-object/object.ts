/**
 * JobQueueObject: the queue logic of one job-queue Durable Object, over a structural `ctx` (the
 * slice of DurableObjectState it uses), so it needs no import of the Workers runtime module. It answers
 * the queue port over RPC on a {@link SqlJobStore}, keeps one alarm at the earliest due time or
 * lease expiry, and, when the script registered handlers, runs due jobs in that alarm.
 * runtimes/cloudflare's `JobQueueDurableObject` is a thin class that delegates to it.
 */
import { InvalidFilterError } from "../../core/index.ts";
import type {
  BulkAction,
  BulkFilter,
  ClaimRequest,
  ClaimedJob,
  EnqueueResult,
  FailureOutcome,
  Job,
  JobProgress,
  LeaseRef,
  ListFilter,
  PageFilter,
  QueueStats,
  RetentionOptions,
} from "../../core/index.ts";
import { becameClaimable } from "../../core/transitions.ts";
import { AlarmRunner, type AlarmRuntime } from "./alarm-runner.ts";
import type { EnqueueReply, JobQueueObjectRpc, ShardPage } from "./rpc.ts";
import { SqlJobStore, type SqlStorageHost } from "./sql-job-store.ts";

/** The slice of a Durable Object's `ctx` (DurableObjectState) the queue uses. */
export interface JobQueueObjectContext {
  readonly storage: SqlStorageHost & {
    getAlarm(): Promise<number | null>;
    setAlarm(scheduledTime: number): Promise<void>;
  };
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

/** How long one alarm keeps draining due jobs before it yields and re-arms (the alarm limit is 15 min). */
const ALARM_BUDGET_MS = 30_000;

/** The queue logic of one Durable Object (see the module comment). */
export class JobQueueObject implements JobQueueObjectRpc {
  readonly store: SqlJobStore;
  readonly #ctx: JobQueueObjectContext;
  readonly #runtime: () => AlarmRuntime | null;
  /** The runner of the last runtime seen (rebuilt when the script installs another). */
  #runner: { runtime: AlarmRuntime; runner: AlarmRunner } | null = null;
  /** The alarm as last set by this instance: undefined = not known yet, null = none. */
  #alarmAt: number | null | undefined = undefined;
  #shardsReady = false;

  /** `runtime` is asked at each alarm: the handlers the script registered, or null (store only). */
  constructor(ctx: JobQueueObjectContext, runtime: () => AlarmRuntime | null) {
    this.#ctx = ctx;
    this.#runtime = runtime;
    this.store = new SqlJobStore(ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueReply> {
    let results: EnqueueResult[];
    try {
      results = this.store.enqueue(jobs);
    } catch (error) {
      return { error: (error as Error).message };
    }
    let earliest: number | null = null;
    for (const r of results) {
      if (r.created && becameClaimable(r.job)) {
        const t = r.job.runAt.getTime();
        if (earliest === null || t < earliest) earliest = t;
      }
    }
    if (earliest !== null) await this.#armAt(earliest);
    return { results };
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    const claimed = this.store.claim(request);
    // A lease that runs out must bring the job back even if its worker is gone.
    if (claimed.length > 0) await this.#armAt(request.now + request.leaseMs);
    return claimed;
  }

  async extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    return this.store.extendLease(lease, leaseMs, now);
  }

  async complete(lease: LeaseRef, result: unknown, now: number, retention?: RetentionOptions): Promise<boolean> {
    return this.store.complete(lease, result, now, retention);
  }

  async fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const ok = this.store.fail(lease, errorMessage, outcome, now);
    if (ok && outcome.status === "retrying") await this.#armAt(outcome.retryAt);
    return ok;
  }

  async release(lease: LeaseRef, now: number): Promise<boolean> {
    const ok = this.store.release(lease);
    if (ok) await this.#armAt(now);
    return ok;
  }

  async get(id: string): Promise<Job | null> {
    return this.store.get(id);
  }

  async cancel(id: string, now: number, retention?: RetentionOptions, running = false): Promise<boolean> {
    const ok = this.store.cancel(id, now, retention, running);
    // A job this object's alarm runs learns it at once (nothing renews its lease there).
    if (ok && running) this.#runner?.runner.cancelled([id]);
    return ok;
  }

  async setPaused(queueName: string, paused: boolean, now: number): Promise<boolean> {
    const changed = this.store.setPaused(queueName, paused, now);
    // Resumed: its due jobs need the alarm again (a paused queue gave it no wake time).
    if (changed && !paused) {
      const next = this.store.nextWakeAt([queueName]);
      if (next !== null) await this.#armAt(next);
    }
    return changed;
  }

  async progress(lease: LeaseRef, value: JobProgress, _now: number): Promise<boolean> {
    return this.store.progress(lease, value);
  }

  async bulk(action: BulkAction, filter: BulkFilter, now: number, retention?: RetentionOptions): Promise<{ count: number } | { error: string; field?: string }> {
    let count: number;
    try {
      count = this.store.bulk(action, filter, now, retention);
    } catch (error) {
      if (error instanceof InvalidFilterError) return { error: error.message.slice(error.field.length + 2), field: error.field };
      throw error;
    }
    if (count > 0 && action === "cancel") this.#runner?.runner.cancelled();
    if (count > 0 && action === "retry") await this.#armAt(now);
    return { count };
  }

  async listPage(filter: PageFilter): Promise<ShardPage> {
    return this.store.page(filter);
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const job = this.store.retry(id, now);
    if (job) await this.#armAt(now);
    return job;
  }

  async list(filter: ListFilter): Promise<Job[]> {
    return this.store.list(filter);
  }

  async stats(): Promise<QueueStats> {
    return this.store.stats();
  }

  async countWaiting(): Promise<number> {
    return this.store.countWaiting();
  }

  async nextWakeAt(queues: readonly string[]): Promise<number | null> {
    return this.store.nextWakeAt(queues);
  }

  async registerShard(shard: string): Promise<void> {
    this.#shardTable();
    this.#ctx.storage.sql.exec("INSERT INTO shards (name) VALUES (?) ON CONFLICT DO NOTHING", shard);
  }

  async listShards(): Promise<string[]> {
    this.#shardTable();
    return this.#ctx.storage.sql
      .exec("SELECT name FROM shards ORDER BY rowid")
      .toArray()
      .map((r) => r.name as string);
  }

  /**
   * Runs due jobs with the script's handlers, then re-arms at the next due time or lease
   * expiry. The claim itself arms the alarm at the lease expiry first, so an eviction or a
   * crash in the middle still wakes the object again.
   */
  async alarm(): Promise<void> {
    this.#alarmAt = null;
    const runtime = this.#runtime();
    if (runtime) {
      const runner = this.#runnerFor(runtime);
      const started = Date.now();
      while (Date.now() - started < ALARM_BUDGET_MS) {
        const now = Date.now();
        const queue = this.#earliestDueQueue(now);
        if (queue === null) break;
        // Every type is claimed: one without a handler fails at once instead of waking us forever.
        const batch = this.store.claim({ queues: [queue], limit: runtime.batchSize, leaseMs: runtime.leaseMs, workerId: "alarm", now });
        if (batch.length === 0) break;
        await this.#armAt(now + runtime.leaseMs);
        await runner.run(batch);
      }
    }
    const next = this.store.nextWakeAt();
    // Without handlers, due jobs wait for an outside worker: re-arm only for future times,
    // so the alarm does not spin on jobs nobody here can run.
    if (next !== null && (runtime || next > Date.now())) await this.#armAt(Math.max(next, Date.now()), true);
  }

  #runnerFor(runtime: AlarmRuntime): AlarmRunner {
    if (this.#runner?.runtime !== runtime) this.#runner = { runtime, runner: new AlarmRunner(this.store, runtime) };
    return this.#runner.runner;
  }

  /** Sets the alarm to `at` unless one is already set earlier (or always, when `force`). */
  async #armAt(at: number, force = false): Promise<void> {
    if (this.#alarmAt === undefined) this.#alarmAt = await this.#ctx.storage.getAlarm();
    if (!force && this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    await this.#ctx.storage.setAlarm(at);
  }

  /** The queue whose earliest wake time (due job or expired lease) has passed first, or null. */
  #earliestDueQueue(now: number): string | null {
    const next = this.store.earliestWake();
    return next !== null && next.at <= now ? next.queue : null;
  }

  #shardTable(): void {
    if (this.#shardsReady) return;
    this.#ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS shards (name TEXT PRIMARY KEY)");
    this.#shardsReady = true;
  }
}
