/**
 * Opens a SQLite database on Deno with its built-in `node:sqlite`.
 * @module
 */
import type { SqliteDatabase } from "../../src/drivers/sqlite/database.ts";
import { busyTimeoutOf, configure, ensureParentDir, type OpenSqliteOptions } from "../node/sqlite-setup.ts";

export type { OpenSqliteOptions } from "../node/sqlite-setup.ts";

// In a variable so that tsc (with Node 20's types, which lack node:sqlite) checks this file too.
const NODE_SQLITE = "node:sqlite";

/**
 * Opens (creating it and its directory if needed) the SQLite database at `path`, in WAL mode with
 * a busy timeout, ready for `new SqliteJobQueue({ database })`. Needs `--allow-read --allow-write`.
 * @example
 * ```ts
 * const database = await openSqliteDatabase("./.portico/jobs.sqlite");
 * ```
 */
export async function openSqliteDatabase(path: string, options: OpenSqliteOptions = {}): Promise<SqliteDatabase> {
  if (typeof path !== "string") throw new TypeError(`openSqliteDatabase(): path must be a string, got ${typeof path}`);
  const busyTimeoutMs = busyTimeoutOf(options);
  const { DatabaseSync } = (await import(NODE_SQLITE)) as { DatabaseSync: new (path: string) => SqliteDatabase };
  ensureParentDir(path);
  return configure(new DatabaseSync(path), path, busyTimeoutMs);
}
