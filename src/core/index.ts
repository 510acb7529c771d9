/**
 * portico-jobs core: the job model, the ports, JobService and WorkerManager.
 * Dependency-free; runs on any runtime with Web APIs.
 * @module
 */
export * from "./job.ts";
export type * from "./ports.ts";
export * from "./queue.ts";
export * from "./errors.ts";
export * from "./backoff.ts";
export * from "./logger.ts";
export * from "./events.ts";
export * from "./clock.ts";
export * from "./job-record.ts";
export { cloneJson } from "./json.ts";
export { randomId } from "./random-id.ts";
export { type StandardSchemaV1, formatIssuePath } from "./standard-schema.ts";
export { JobService, isDuplicateJob, type JobServiceOptions, type JobSpec, type JobFilter } from "./job-service.ts";
export { JobStalledError, DEFAULT_MAX_STALLS, accountedAttempts, checkMaxStalls, failureOutcome, stallsOf } from "./failure.ts";
export { WorkerManager, type WorkerManagerOptions, type StopOptions } from "./worker-manager.ts";
export { JobTimeoutError, JobAbortedError } from "./run-job.ts";
export type { HandlerList } from "./handlers.ts";
export { Heap } from "./heap.ts";
export { JobIndex, withOwnDates, type IndexEntry, type JobIndexOptions } from "./job-index.ts";
