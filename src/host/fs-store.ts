/**
 * The embedded default store of the server runtimes: an {@link UnstorageJobQueue} on unstorage's
 * fs driver, durable across restarts. Only library imports here; the runtime shims decide to use it.
 * @module
 */
import { createStorage, type Driver } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import type { Logger, RetentionOptions } from "../core/index.ts";
import { UnstorageJobQueue } from "../drivers/unstorage/index.ts";

/** Options of {@link createFsJobQueue}. */
export interface FsJobQueueOptions {
  /** Directory holding the jobs (default "./.portico"). One process at a time may use it. */
  dir?: string;
  /** See {@link UnstorageJobQueue}: lock lifetime without renewal (default 10 s). */
  lockTtlMs?: number;
  /** See {@link UnstorageJobQueue}: how long to wait for another owner's lock (default 0). */
  lockWaitMs?: number;
  /** Shown to a second process that finds the store locked, e.g. "pid 4242". */
  ownerLabel?: string;
  /** How many finished jobs to keep, and for how long (default 1,000 / 24 h). */
  retention?: RetentionOptions;
  logger?: Logger;
  /**
   * Makes the unstorage driver for `dir` (default unstorage's fs driver). The runtime shims pass
   * one whose writes are atomic (temporary file + rename).
   */
  driver?: (dir: string) => Driver;
}

/** A queue plus the function that closes it and its storage. */
export interface OwnedQueue {
  queue: UnstorageJobQueue;
  dispose(): Promise<void>;
}

// One queue per directory per process: two serve() calls in one process share the store's
// in-memory index (safe) instead of locking each other out. Reference-counted.
const open = new Map<string, { owned: OwnedQueue; refs: number }>();

/**
 * Opens a job queue stored as one JSON file per job under `dir` (opening starts at once; await
 * `queue.open()` to see it fail, e.g. with StoreLockedError). Within one process,
 * calls for the same `dir` (as written, modulo "./" and trailing slashes) share one queue; the
 * lock options of the first call apply.
 */
export function createFsJobQueue(options: FsJobQueueOptions = {}): OwnedQueue {
  const dir = options.dir ?? ".portico";
  const key = dir.replace(/^(\.\/)+/, "").replace(/\/+$/, "") || ".";
  const shared = open.get(key);
  if (shared) {
    shared.refs++;
    return { queue: shared.owned.queue, dispose: release(key, shared) };
  }
  const storage = createStorage({ driver: options.driver ? options.driver(dir) : fsDriver({ base: dir }) });
  const queue = new UnstorageJobQueue({
    storage,
    lockTtlMs: options.lockTtlMs,
    lockWaitMs: options.lockWaitMs,
    ownerLabel: options.ownerLabel,
    retention: options.retention,
    logger: options.logger,
  });
  const owned: OwnedQueue = {
    queue,
    async dispose() {
      await queue.close();
      await storage.dispose();
    },
  };
  const entry = { owned, refs: 1 };
  open.set(key, entry);
  // A failed open (e.g. the store is locked by another process) must not be shared.
  queue.open().catch(() => {
    if (open.get(key) === entry) open.delete(key);
  });
  return { queue, dispose: release(key, entry) };
}

function release(key: string, entry: { owned: OwnedQueue; refs: number }): () => Promise<void> {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--entry.refs > 0) return;
    if (open.get(key) === entry) open.delete(key);
    await entry.owned.dispose();
  };
}
