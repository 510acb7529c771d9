/**
 * portico-jobs/durable-object: the queue port on SQLite-backed Durable Objects.
 * The queue logic of the object is {@link JobQueueObject}; the class that extends `DurableObject`
 * (`JobQueueDurableObject`, a thin delegate) is exported by `portico-jobs/cloudflare`, because
 * extending `DurableObject` needs the Workers runtime module.
 * @module
 */
export { DurableObjectJobQueue, type DurableObjectJobQueueOptions, type JobQueueNamespace } from "./client.ts";
export { SqlJobStore, type SqlExec, type SqlStorageHost, type StatementCounter } from "./sql-job-store.ts";
export { SCHEMA_SQL } from "./schema.ts";
export type { EnqueueReply, JobQueueObjectRpc, ShardPage } from "./rpc.ts";
export { JobQueueObject, type JobQueueObjectContext } from "./object.ts";
export type { AlarmRuntime } from "./alarm-runner.ts";
