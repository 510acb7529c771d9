/**
 * What every runtime's SQLite opener does after opening a file, whatever the engine: the parent
 * directory exists first, and the connection gets the settings that let several processes share
 * one file. Uses only node:fs, which Node, Deno and Bun all provide.
 * @module
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { SqliteDatabase } from "../../src/drivers/sqlite/database.ts";

/** Options of `openSqliteDatabase()` in `portico-jobs/node`, `/deno` and `/bun`. */
export interface OpenSqliteOptions {
  /**
   * How long a statement waits for another connection's write lock before failing with
   * SQLITE_BUSY (default 5,000 ms). Several processes on one file take turns within it.
   */
  busyTimeoutMs?: number;
}

/** True for the paths SQLite keeps in memory, which have no directory to create. */
function inMemory(path: string): boolean {
  return path === "" || path === ":memory:" || path.startsWith("file::memory:");
}

/** Creates the parent directory of `path` (the engines create the file, not its directory). */
export function ensureParentDir(path: string): void {
  if (!inMemory(path) && !path.startsWith("file:")) mkdirSync(dirname(path), { recursive: true });
}

/** Checks the options before anything is opened. */
export function busyTimeoutOf(options: OpenSqliteOptions): number {
  const ms = options.busyTimeoutMs ?? 5_000;
  if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`openSqliteDatabase(): busyTimeoutMs must be a non-negative integer, got ${String(ms)}`);
  return ms;
}

/**
 * WAL lets readers run beside the one writer and survives a killed process; synchronous=NORMAL is
 * WAL's usual pairing (a committed transaction survives a process crash; only a power cut can
 * lose the last ones). busy_timeout makes a second process wait for the write lock instead of
 * failing at once. SqliteJobQueue may set them again; they are idempotent.
 */
export function configure(db: SqliteDatabase, path: string, busyTimeoutMs: number): SqliteDatabase {
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    if (!inMemory(path)) db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
