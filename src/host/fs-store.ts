/**
 * The embedded default store of the server runtimes: an {@link UnstorageJobQueue} on unstorage's
 * fs driver, durable across restarts. Only library imports here; the runtime shims decide to use it.
 * @module
 */
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import type { Logger } from "../core/index.ts";
import { UnstorageJobQueue } from "../drivers/unstorage.ts";

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
  logger?: Logger;
}

/** A queue plus the function that closes it and its storage. */
export interface OwnedQueue {
  queue: UnstorageJobQueue;
  dispose(): Promise<void>;
}

/** Opens (lazily) a job queue stored as one JSON file per job under `dir`. */
export function createFsJobQueue(options: FsJobQueueOptions = {}): OwnedQueue {
  const storage = createStorage({ driver: fsDriver({ base: options.dir ?? ".portico" }) });
  const queue = new UnstorageJobQueue({
    storage,
    lockTtlMs: options.lockTtlMs,
    lockWaitMs: options.lockWaitMs,
    ownerLabel: options.ownerLabel,
    logger: options.logger,
  });
  return {
    queue,
    async dispose() {
      await queue.close();
      await storage.dispose();
    },
  };
}
