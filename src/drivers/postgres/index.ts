/**
 * portico-jobs/postgres: {@link PostgresJobQueue}, the job queue on PostgreSQL (on the `postgres`
 * client), shared by any number of processes and machines.
 * @module
 */
export { PostgresJobQueue, type PostgresClientOptions, type PostgresJobQueueConnection, type PostgresJobQueueOptions } from "./queue.ts";
export type { PgLeaseClock } from "../sql/pg-statements.ts";
