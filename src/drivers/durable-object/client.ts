/**
 * DurableObjectJobQueue: the queue port as a client of job-queue Durable Objects. By default each
 * queue name lives in its own object (so throughput scales with queues); `shardKey` groups queues
 * differently. A small directory object remembers which shards exist, for the calls that are not
 * tied to one queue (get, cancel, retry, list, stats).
 * @module
 */
import type {
  BulkAction,
  BulkFilter,
  ClaimRequest,
  ClaimedJob,
  EnqueueResult,
  FailureOutcome,
  Job,
  JobPage,
  JobProgress,
  JobQueue,
  LeaseRef,
  ListFilter,
  PageFilter,
  QueueStats,
  RetentionOptions,
} from "../../core/index.ts";
import { InvalidFilterError, JOB_STATUSES, PorticoError, StorageError } from "../../core/index.ts";
import { foldStats } from "../../core/transitions.ts";
import type { JobQueueObjectRpc, ShardPage } from "./rpc.ts";

/** The slice of a Durable Object namespace binding the client uses (structural). */
export interface JobQueueNamespace {
  idFromName(name: string): unknown;
  get(id: never): unknown;
}

/** Options of {@link DurableObjectJobQueue}. */
export interface DurableObjectJobQueueOptions {
  /** The Durable Object namespace binding whose class is `JobQueueDurableObject`. */
  namespace: JobQueueNamespace;
  /** Prefix of every object name, so several independent queues can share a namespace (default "portico"). */
  name?: string;
  /**
   * Which object holds a queue: a function of the queue name (default: the queue name itself, one
   * object per queue), or one fixed string to keep every queue in a single object.
   */
  shardKey?: string | ((queueName: string) => string);
  /** How many finished jobs each object keeps, and for how long (default 1,000 and 24 h). */
  retention?: RetentionOptions;
}

const DIRECTORY = "__directory";
const TOKEN_SEPARATOR = "|";

/** A {@link JobQueue} backed by SQLite-backed Durable Objects, reached over RPC. */
export class DurableObjectJobQueue implements JobQueue {
  readonly #namespace: JobQueueNamespace;
  readonly #prefix: string;
  readonly #shardOf: (queueName: string) => string;
  readonly #single: string | null;
  readonly #retention: RetentionOptions | undefined;
  /** Shards this isolate has already recorded in the directory. */
  readonly #registered = new Set<string>();

  constructor(options: DurableObjectJobQueueOptions) {
    if (!options || typeof options.namespace?.idFromName !== "function") {
      throw new PorticoError("invalid_option", "DurableObjectJobQueue: options.namespace must be a Durable Object namespace binding (e.g. env.JOB_QUEUE)");
    }
    this.#namespace = options.namespace;
    this.#prefix = options.name ?? "portico";
    const key = options.shardKey;
    this.#single = typeof key === "string" ? key : null;
    this.#shardOf = typeof key === "function" ? key : typeof key === "string" ? () => key : (q) => q;
    this.#retention = options.retention;
  }

  /** The prefix of this queue's object names (open a second handle with the same name). */
  get name(): string {
    return this.#prefix;
  }

  /**
   * The object (RPC stub) that holds `shard`. A stub belongs to the request that made it in
   * Workers, and this client may outlive a request, so stubs are made per call (cheap: no I/O).
   */
  stub(shard: string): JobQueueObjectRpc {
    const ns = this.#namespace;
    return ns.get(ns.idFromName(`${this.#prefix}:${shard}`) as never) as JobQueueObjectRpc;
  }

  /** The shard that holds `queueName`. */
  shardFor(queueName: string): string {
    return this.#shardOf(queueName);
  }

  async enqueue(jobs: readonly Job[]): Promise<EnqueueResult[]> {
    // Group by shard, keeping each job's index so results come back in input order. A batch
    // spanning several shards is atomic per shard only (objects share no transaction).
    const groups = new Map<string, { jobs: Job[]; at: number[] }>();
    jobs.forEach((job, i) => {
      const shard = this.#shardOf(job.queueName);
      let g = groups.get(shard);
      if (!g) groups.set(shard, (g = { jobs: [], at: [] }));
      g.jobs.push(job);
      g.at.push(i);
    });
    await Promise.all([...groups.keys()].map((s) => this.#register(s)));
    const out: EnqueueResult[] = new Array(jobs.length);
    await Promise.all(
      [...groups].map(async ([shard, g]) => {
        const reply = await this.stub(shard).enqueue(g.jobs);
        if ("error" in reply) throw new StorageError(reply.error);
        reply.results.forEach((r, k) => (out[g.at[k]!] = r));
      }),
    );
    return out;
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    const out: ClaimedJob[] = [];
    // Consecutive queues of one shard go in one call; shards are visited in queue order.
    for (const run of runsByShard(request.queues, this.#shardOf)) {
      const limit = request.limit - out.length;
      if (limit <= 0) break;
      const claimed = await this.stub(run.shard).claim({ ...request, queues: run.queues, limit });
      for (const c of claimed) out.push({ ...c, token: `${run.shard}${TOKEN_SEPARATOR}${c.token}` });
    }
    return out;
  }

  extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    const [shard, ref] = this.#unwrap(lease);
    return shard === null ? Promise.resolve(false) : this.stub(shard).extendLease(ref, leaseMs, now);
  }

  complete(lease: LeaseRef, result: unknown, now: number): Promise<boolean> {
    const [shard, ref] = this.#unwrap(lease);
    return shard === null ? Promise.resolve(false) : this.stub(shard).complete(ref, result ?? null, now, this.#retention);
  }

  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    const [shard, ref] = this.#unwrap(lease);
    return shard === null ? Promise.resolve(false) : this.stub(shard).fail(ref, errorMessage, outcome, now);
  }

  release(lease: LeaseRef, now: number): Promise<boolean> {
    const [shard, ref] = this.#unwrap(lease);
    return shard === null ? Promise.resolve(false) : this.stub(shard).release(ref, now);
  }

  async get(id: string): Promise<Job | null> {
    const found = await Promise.all((await this.#shards()).map((s) => this.stub(s).get(id)));
    return found.find((j) => j !== null) ?? null;
  }

  async cancel(id: string, now: number, options?: { running?: boolean }): Promise<boolean> {
    const running = options?.running === true;
    const done = await Promise.all((await this.#shards()).map((s) => this.stub(s).cancel(id, now, this.#retention, running)));
    return done.includes(true);
  }

  /** A pause lives in the object that holds the queue, so every claim of it (any isolate) sees it. */
  async setPaused(queueName: string, paused: boolean, now: number): Promise<boolean> {
    const shard = this.#shardOf(queueName);
    await this.#register(shard);
    return this.stub(shard).setPaused(queueName, paused, now);
  }

  progress(lease: LeaseRef, value: JobProgress, now: number): Promise<boolean> {
    const [shard, ref] = this.#unwrap(lease);
    return shard === null ? Promise.resolve(false) : this.stub(shard).progress(ref, value, now);
  }

  /** One statement in each object that may hold matching jobs (one, when the filter names a queue); the counts summed. */
  async bulk(action: BulkAction, filter: BulkFilter, now: number): Promise<number> {
    const shards = filter?.queueName !== undefined ? [this.#shardOf(filter.queueName)] : await this.#shards();
    const replies = await Promise.all(shards.map((s) => this.stub(s).bulk(action, filter, now, this.#retention)));
    let count = 0;
    for (const r of replies) {
      if ("error" in r) throw new InvalidFilterError(r.field ?? "filter", r.error);
      count += r.count;
    }
    return count;
  }

  /**
   * Newest first across objects: each object's page (its own keyset cursor) merged by creation
   * time, head by head, so each object's order is kept and every job comes once. The cursor
   * holds each object's position; objects first seen after the first page are not part of the walk.
   */
  async listPage(filter: PageFilter = {}): Promise<JobPage> {
    const limit = filter.limit ?? 50;
    const { cursor, ...rest } = filter;
    let positions: Record<string, string | null>;
    if (cursor === undefined) {
      const shards = filter.queueName !== undefined ? [this.#shardOf(filter.queueName)] : await this.#shards();
      positions = Object.fromEntries(shards.map((s) => [s, ""]));
    } else {
      positions = parseCursor(cursor);
    }
    const live = Object.entries(positions).filter((e): e is [string, string] => e[1] !== null);
    const pages = await Promise.all(
      live.map(async ([shard, at]): Promise<[string, ShardPage]> => [shard, await this.stub(shard).listPage({ ...rest, limit, ...(at === "" ? {} : { cursor: at }) })]),
    );
    if (filter.idempotencyKey !== undefined) return { jobs: pages.flatMap(([, p]) => p.jobs).slice(0, limit), nextCursor: null };
    const next: Record<string, string | null> = { ...positions };
    const heads = pages.map(([shard, page]) => ({ shard, page, i: 0 }));
    const jobs: Job[] = [];
    while (jobs.length < limit) {
      let best: (typeof heads)[number] | null = null;
      for (const h of heads) {
        const j = h.page.jobs[h.i];
        if (j === undefined) continue;
        const b = best?.page.jobs[best.i];
        if (!b || j.createdAt.getTime() > b.createdAt.getTime() || (j.createdAt.getTime() === b.createdAt.getTime() && j.id > b.id)) best = h;
      }
      if (!best) break;
      jobs.push(best.page.jobs[best.i]!);
      next[best.shard] = best.page.cursors[best.i]!;
      best.i++;
    }
    // An object whose page was taken whole and has no more is done.
    for (const h of heads) if (h.i === h.page.jobs.length && !h.page.more) next[h.shard] = null;
    const more = Object.values(next).some((v) => v !== null);
    return { jobs, nextCursor: more ? JSON.stringify(next) : null };
  }

  async retry(id: string, now: number): Promise<Job | null> {
    const found = await Promise.all((await this.#shards()).map((s) => this.stub(s).retry(id, now)));
    return found.find((j) => j !== null) ?? null;
  }

  async list(filter: ListFilter = {}): Promise<Job[]> {
    const limit = filter.limit ?? 100;
    const shards = filter.queueName !== undefined ? [this.#shardOf(filter.queueName)] : await this.#shards();
    const lists = await Promise.all(shards.map((s) => this.stub(s).list({ ...filter, limit })));
    // Each object lists in insertion order; across objects, creation time is the best common order.
    return lists
      .flat()
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .slice(0, limit);
  }

  async stats(): Promise<QueueStats> {
    const all = await Promise.all((await this.#shards()).map((s) => this.stub(s).stats()));
    // Own keys only (a queue may be called "__proto__"), summed in case two shards name one queue.
    return foldStats(
      all.flatMap((s) => Object.keys(s.byQueue).flatMap((q) => JOB_STATUSES.map((st) => [q, st, s.byQueue[q]![st]] as const))),
      [...new Set(all.flatMap((s) => s.paused ?? []))],
    );
  }

  /**
   * Waiting jobs in every object of this queue: each object's counter (kept by triggers, one row
   * read), summed. One RPC per object plus the directory's, so a createJob under JobService's
   * `maxWaitingJobs` costs as many calls as there are shards (one with a fixed `shardKey`).
   */
  async countWaiting(): Promise<number> {
    const counts = await Promise.all((await this.#shards()).map((s) => this.stub(s).countWaiting()));
    return counts.reduce((a, b) => a + b, 0);
  }

  async nextWakeAt(queues: readonly string[], _now: number): Promise<number | null> {
    const runs = runsByShard(queues, this.#shardOf);
    const times = await Promise.all(runs.map((r) => this.stub(r.shard).nextWakeAt(r.queues)));
    let best: number | null = null;
    for (const t of times) if (t !== null && (best === null || t < best)) best = t;
    return best;
  }

  async close(): Promise<void> {}

  /** Every shard that may hold jobs. */
  async #shards(): Promise<string[]> {
    if (this.#single !== null) return [this.#single];
    return this.stub(DIRECTORY).listShards();
  }

  async #register(shard: string): Promise<void> {
    if (this.#single !== null || this.#registered.has(shard)) return;
    await this.stub(DIRECTORY).registerShard(shard);
    this.#registered.add(shard);
  }

  /** Splits the client token back into the shard and the object's own lease. */
  #unwrap(lease: LeaseRef): [string | null, LeaseRef] {
    const at = lease.token.lastIndexOf(TOKEN_SEPARATOR);
    if (at < 0) return [null, lease];
    return [lease.token.slice(0, at), { jobId: lease.jobId, token: lease.token.slice(at + 1) }];
  }
}

/** The shard positions of a {@link DurableObjectJobQueue.listPage} cursor. */
function parseCursor(cursor: string): Record<string, string | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => v === null || typeof v === "string")) {
    throw new InvalidFilterError("cursor", "is not a cursor of this store");
  }
  return parsed as Record<string, string | null>;
}

/** Groups consecutive queues that live in the same shard, keeping queue order. */
function runsByShard(queues: readonly string[], shardOf: (q: string) => string): { shard: string; queues: string[] }[] {
  const runs: { shard: string; queues: string[] }[] = [];
  for (const q of queues) {
    const shard = shardOf(q);
    const last = runs[runs.length - 1];
    if (last && last.shard === shard) last.queues.push(q);
    else runs.push({ shard, queues: [q] });
  }
  return runs;
}
