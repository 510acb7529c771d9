/**
 * The RPC surface of a job-queue Durable Object, shared by the client ({@link DurableObjectJobQueue})
 * and the object class (runtimes/cloudflare), which implements it over {@link SqlJobStore}.
 */
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

/** One object's page: its jobs newest first, `cursors[i]` continuing after `jobs[i]`, and whether more follow. */
export interface ShardPage {
  jobs: Job[];
  cursors: string[];
  more: boolean;
}

/** Outcome of an enqueue RPC. */
export type EnqueueReply = { results: EnqueueResult[] } | { error: string };

/** Methods a job-queue Durable Object answers over RPC. Times are epoch ms chosen by the caller. */
export interface JobQueueObjectRpc {
  /** A refused batch comes back as `{ error }` (thrown errors would cross RPC as uncaught). */
  enqueue(jobs: readonly Job[]): Promise<EnqueueReply>;
  claim(request: ClaimRequest): Promise<ClaimedJob[]>;
  extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled">;
  complete(lease: LeaseRef, result: unknown, now: number, retention?: RetentionOptions): Promise<boolean>;
  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean>;
  release(lease: LeaseRef, now: number): Promise<boolean>;
  get(id: string): Promise<Job | null>;
  cancel(id: string, now: number, retention?: RetentionOptions, running?: boolean): Promise<boolean>;
  setPaused(queueName: string, paused: boolean, now: number): Promise<boolean>;
  progress(lease: LeaseRef, value: JobProgress, now: number): Promise<boolean>;
  /** A refused filter comes back as `{ error }` (see enqueue). */
  bulk(action: BulkAction, filter: BulkFilter, now: number, retention?: RetentionOptions): Promise<{ count: number } | { error: string; field?: string }>;
  /** One page of this object's jobs, with the cursor after each job (the client merges shards' pages). */
  listPage(filter: PageFilter): Promise<ShardPage>;
  retry(id: string, now: number): Promise<Job | null>;
  list(filter: ListFilter): Promise<Job[]>;
  stats(): Promise<QueueStats>;
  /** This object's waiting jobs (PENDING, SCHEDULED, RETRYING): a counter its triggers keep. */
  countWaiting(): Promise<number>;
  nextWakeAt(queues: readonly string[]): Promise<number | null>;
  /** Shard directory: records a shard name (used only on the directory object). */
  registerShard(shard: string): Promise<void>;
  /** Shard directory: every shard name recorded so far. */
  listShards(): Promise<string[]>;
}
