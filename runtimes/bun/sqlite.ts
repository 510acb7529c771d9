/**
 * Opens a SQLite database on Bun with its built-in `bun:sqlite`.
 * @module
 */
import type { SqliteDatabase } from "../../src/drivers/sqlite/database.ts";
import { busyTimeoutOf, configure, ensureParentDir, type OpenSqliteOptions } from "../node/sqlite-setup.ts";

export type { OpenSqliteOptions } from "../node/sqlite-setup.ts";

/**
 * Opens (creating it and its directory if needed) the SQLite database at `path`, in WAL mode with
 * a busy timeout, ready for `new SqliteJobQueue({ database })`.
 * @example
 * ```ts
 * const database = await openSqliteDatabase("./.portico/jobs.sqlite");
 * ```
 */
export async function openSqliteDatabase(path: string, options: OpenSqliteOptions = {}): Promise<SqliteDatabase> {
  if (typeof path !== "string") throw new TypeError(`openSqliteDatabase(): path must be a string, got ${typeof path}`);
  const busyTimeoutMs = busyTimeoutOf(options);
  // Imported on use, so that loading portico-jobs/bun elsewhere (a type check, a bundler) works.
  const { Database } = await import("bun:sqlite");
  ensureParentDir(path);
  return configure(new Database(path), path, busyTimeoutMs);
}
