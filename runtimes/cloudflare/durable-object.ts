/**
 * JobQueueDurableObject: the Durable Object class to export from a Worker. It only binds the
 * queue logic of portico-jobs/durable-object (JobQueueObject) to `cloudflare:workers`; every
 * method delegates.
 */
// @ts-types="./workers-module.d.ts"
import { DurableObject } from "cloudflare:workers";
import type {
  BulkAction,
  BulkFilter,
  ClaimRequest,
  ClaimedJob,
  FailureOutcome,
  Job,
  JobProgress,
  LeaseRef,
  ListFilter,
  PageFilter,
  QueueStats,
  RetentionOptions,
} from "../../src/core/index.ts";
import { JobQueueObject, type EnqueueReply, type JobQueueObjectRpc, type ShardPage, type SqlJobStore } from "../../src/drivers/durable-object/index.ts";
import { getAlarmRuntime } from "./registry.ts";

/** The Durable Object class to export from a Worker and bind with a `new_sqlite_classes` migration. */
export class JobQueueDurableObject extends DurableObject implements JobQueueObjectRpc {
  readonly #object: JobQueueObject;

  // The state type as the DurableObject base declares it, so no Workers global is named here.
  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: unknown) {
    super(ctx, env as never);
    this.#object = new JobQueueObject(ctx, getAlarmRuntime);
  }

  /** The object's SQL store (benchmarks read its statement counter). */
  get store(): SqlJobStore {
    return this.#object.store;
  }

  enqueue(jobs: readonly Job[]): Promise<EnqueueReply> {
    return this.#object.enqueue(jobs);
  }
  claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    return this.#object.claim(request);
  }
  extendLease(lease: LeaseRef, leaseMs: number, now: number): Promise<boolean | "cancelled"> {
    return this.#object.extendLease(lease, leaseMs, now);
  }
  complete(lease: LeaseRef, result: unknown, now: number, retention?: RetentionOptions): Promise<boolean> {
    return this.#object.complete(lease, result, now, retention);
  }
  fail(lease: LeaseRef, errorMessage: string, outcome: FailureOutcome, now: number): Promise<boolean> {
    return this.#object.fail(lease, errorMessage, outcome, now);
  }
  release(lease: LeaseRef, now: number): Promise<boolean> {
    return this.#object.release(lease, now);
  }
  get(id: string): Promise<Job | null> {
    return this.#object.get(id);
  }
  cancel(id: string, now: number, retention?: RetentionOptions, running?: boolean): Promise<boolean> {
    return this.#object.cancel(id, now, retention, running);
  }
  setPaused(queueName: string, paused: boolean, now: number): Promise<boolean> {
    return this.#object.setPaused(queueName, paused, now);
  }
  progress(lease: LeaseRef, value: JobProgress, now: number): Promise<boolean> {
    return this.#object.progress(lease, value, now);
  }
  bulk(action: BulkAction, filter: BulkFilter, now: number, retention?: RetentionOptions): Promise<{ count: number } | { error: string; field?: string }> {
    return this.#object.bulk(action, filter, now, retention);
  }
  listPage(filter: PageFilter): Promise<ShardPage> {
    return this.#object.listPage(filter);
  }
  retry(id: string, now: number): Promise<Job | null> {
    return this.#object.retry(id, now);
  }
  list(filter: ListFilter): Promise<Job[]> {
    return this.#object.list(filter);
  }
  stats(): Promise<QueueStats> {
    return this.#object.stats();
  }
  countWaiting(): Promise<number> {
    return this.#object.countWaiting();
  }
  nextWakeAt(queues: readonly string[]): Promise<number | null> {
    return this.#object.nextWakeAt(queues);
  }
  registerShard(shard: string): Promise<void> {
    return this.#object.registerShard(shard);
  }
  listShards(): Promise<string[]> {
    return this.#object.listShards();
  }
  override alarm(): Promise<void> {
    return this.#object.alarm();
  }
}
