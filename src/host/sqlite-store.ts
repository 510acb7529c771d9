/**
 * The default store of the server runtimes: a {@link SqliteJobQueue} on `<dir>/jobs.sqlite`,
 * durable across restarts and shared by every process of the machine that opens the same file.
 * An fs store left in `dir` by an earlier version is imported on the first start (fs-import.ts).
 * Only library imports here; the runtime shim supplies the SQLite engine and the fs driver.
 * @module
 */
import type { Driver } from "unstorage";
import type { Logger, RetentionOptions } from "../core/index.ts";
import type { SqliteDatabase } from "../drivers/sqlite/database.ts";
import { SqliteJobQueue } from "../drivers/sqlite/index.ts";
import { importFsStore, type FsImportOutcome } from "./fs-import.ts";

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Directory of the store (default "./.portico"); the file is `<dir>/jobs.sqlite`. */
  dir?: string;
  /** Opens the database file with the runtime's engine (creating it and its directory). */
  open(path: string): Promise<SqliteDatabase>;
  /** How many finished jobs to keep, and for how long (default 1,000 / 24 h). */
  retention?: RetentionOptions;
  logger: Logger;
  /** The unstorage driver of an fs store in `dir`, for the one-time import; none: no import. */
  fsDriver?: (dir: string) => Driver;
  /** Names this process in the fs store's lock while importing, e.g. "pid 4242 (node)". */
  ownerLabel?: string;
}

/** A queue plus the function that closes it and its database. */
export interface OwnedSqliteQueue {
  queue: SqliteJobQueue;
  /** What the fs import did on this open (shared opens report the first one's). */
  imported: FsImportOutcome;
  dispose(): Promise<void>;
}

interface Entry {
  opened: Promise<{ queue: SqliteJobQueue; database: SqliteDatabase; imported: FsImportOutcome }>;
  refs: number;
}

// Within one process, serve() calls on one directory share one connection and queue (and one
// import); other processes open their own connection to the same file. Reference-counted.
const open = new Map<string, Entry>();

/** The file of the default store in `dir`. */
export function sqliteStorePath(dir = ".portico"): string {
  return `${dir.replace(/\/+$/, "") || "."}/jobs.sqlite`;
}

/** Opens (or joins this process's open) default store in `options.dir`. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<OwnedSqliteQueue> {
  const dir = options.dir ?? ".portico";
  const key = dir.replace(/^(\.\/)+/, "").replace(/\/+$/, "") || ".";
  let entry = open.get(key);
  if (entry) {
    entry.refs++;
  } else {
    entry = { opened: openFresh(dir, options), refs: 1 };
    open.set(key, entry);
  }
  const current = entry;
  let opened;
  try {
    opened = await current.opened;
  } catch (error) {
    // A failed open is not shared: the next call tries again.
    if (open.get(key) === current) open.delete(key);
    throw error;
  }
  let released = false;
  return {
    queue: opened.queue,
    imported: opened.imported,
    async dispose() {
      if (released) return;
      released = true;
      if (--current.refs > 0) return;
      if (open.get(key) === current) open.delete(key);
      await opened.queue.close();
      opened.database.close();
    },
  };
}

async function openFresh(dir: string, options: SqliteStoreOptions) {
  const database = await options.open(sqliteStorePath(dir));
  let queue: SqliteJobQueue | null = null;
  try {
    queue = new SqliteJobQueue({ database }, { retention: options.retention });
    const imported: FsImportOutcome = options.fsDriver
      ? await importFsStore({ dir, driver: options.fsDriver, into: queue, logger: options.logger, ownerLabel: options.ownerLabel })
      : { status: "none" };
    return { queue, database, imported };
  } catch (error) {
    await queue?.close().catch(() => {});
    database.close();
    throw error;
  }
}
