/**
 * DurableObjectJobQueue: the queue port as a client of job-queue Durable Objects. By default each
 * queue name lives in its own object (so throughput scales with queues); `shardKey` groups queues
 * differently. A small directory object remembers which shards exist, for the calls that are not
 * tied to one queue (get, cancel, retry, list, stats).
 * @module
 */
import type {
  ClaimRequest,
  ClaimedJob,
  EnqueueResult,
  FailureOutcome,
  Job,
  JobQueue,
  LeaseRef,
  ListFilter,
  QueueStats,
  RetentionOptions,
} from "../../core/index.ts";
import { JOB_STATUSES, PorticoError, StorageError } from "../../core/index.ts";
import { foldStats } from "../../core/transitions.ts";
import type { JobQueueObjectRpc } from "./rpc.ts";

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

  extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean> {
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

  async cancel(id: string, now: number): Promise<boolean> {
    const done = await Promise.all((await this.#shards()).map((s) => this.stub(s).cancel(id, now, this.#retention)));
    return done.includes(true);
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
    );
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
