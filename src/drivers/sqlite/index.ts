/**
 * portico-jobs/sqlite: {@link SqliteJobQueue}, the job queue on a SQLite file, over a structural
 * database handle (bun:sqlite, node:sqlite or better-sqlite3), so it imports no engine itself.
 * @module
 */
export { SqliteJobQueue, type SqliteJobQueueConnection, type SqliteJobQueueOptions } from "./queue.ts";
export type { SqliteDatabase, SqliteStatement } from "./database.ts";
