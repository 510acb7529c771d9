/**
 * portico-jobs core: the job model, the ports, JobService and WorkerManager.
 * Dependency-free; runs on any runtime with Web APIs.
 *
 * Only the public API is exported here. The machinery the drivers and runtimes share (JobIndex,
 * Heap, the job record codec, the lifecycle transitions, the job runner, the failure rules) is
 * imported by relative path from its own file, so it can change without a breaking release.
 * @module
 */
export * from "./job.ts";
export type * from "./ports.ts";
export * from "./queue.ts";
export * from "./errors.ts";
export * from "./backoff.ts";
export { type Logger, createJsonLogger, jsonLogger, silentLogger } from "./logger.ts";
export * from "./events.ts";
export * from "./clock.ts";
export type { StandardSchemaV1 } from "./standard-schema.ts";
export { DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAYLOAD_BYTES } from "./json.ts";
export type { HandlerPayload, JobSpecOf, JobTypeOf, PayloadMap, PayloadOf } from "./registry.ts";
export { JobService, isDuplicateJob, type JobServiceOptions, type JobSpec, type JobFilter, type WaitForJobOptions } from "./job-service.ts";
export { JobStalledError, DEFAULT_MAX_STALLS } from "./failure.ts";
export { WorkerManager, type WorkerManagerOptions, type StopOptions } from "./worker-manager.ts";
export { JobTimeoutError, JobAbortedError } from "./run-job.ts";
export type { HandlerList } from "./handlers.ts";
