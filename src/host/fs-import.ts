/**
 * The one-time import of an fs store (the server default before SQLite) into the SQLite store
 * that replaces it in the same directory. Runs on every start until it has happened once: it
 * needs the fs store's owner lock, so a process still running the old store delays it (with a
 * warning) to a later start. Only library imports here; the runtime shim supplies the fs driver.
 * @module
 */
import { createStorage, type Driver } from "unstorage";
import { JobStatus, StoreLockedError, type Job, type JobQueue, type Logger } from "../core/index.ts";
import { UnstorageJobQueue } from "../drivers/unstorage/index.ts";

/** The key, at the root of the fs store, that records the import (the jobs' files stay as they were). */
export const IMPORTED_KEY = "imported";

/** What {@link importFsStore} did. */
export type FsImportOutcome =
  | { status: "none" } // no fs store there
  | { status: "done"; jobs: number } // already imported on an earlier start
  | { status: "imported"; jobs: number }
  | { status: "skipped"; reason: string };

export interface FsImportOptions {
  /** Directory of the old store (`meta`, `lock`, `jobs/<id>`). */
  dir: string;
  /** unstorage driver for `dir`. */
  driver: (dir: string) => Driver;
  /** The new store. */
  into: JobQueue;
  logger: Logger;
  ownerLabel?: string;
}

const BATCH = 500;
// The import keeps every job the fs store still holds; the new store's retention applies afterwards.
const KEEP_ALL = { maxCount: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER };

/** Copies every job of the fs store in `dir` into `into` once, keeping ids, statuses and history. */
export async function importFsStore(options: FsImportOptions): Promise<FsImportOutcome> {
  const storage = createStorage({ driver: options.driver(options.dir) });
  try {
    if (!(await storage.hasItem("meta"))) return { status: "none" };
    const marker = (await storage.getItem(IMPORTED_KEY)) as { jobs?: number } | null;
    if (marker) return { status: "done", jobs: marker.jobs ?? 0 };

    const old = new UnstorageJobQueue({ storage, lockWaitMs: 0, ownerLabel: options.ownerLabel, retention: KEEP_ALL, logger: options.logger });
    try {
      await old.open();
    } catch (error) {
      await old.close().catch(() => {});
      if (!(error instanceof StoreLockedError)) throw error;
      const reason = `the fs store in ${options.dir} is in use by another process (${error.message}); its jobs are imported on a start after that process stops`;
      options.logger.warn("host.fs_import_skipped", { dir: options.dir, reason });
      return { status: "skipped", reason };
    }
    try {
      const jobs = (await old.list({ limit: Number.MAX_SAFE_INTEGER })).map(adopt);
      // A crash during an earlier import left some jobs in the new store: skip those.
      const resumed = (await options.into.stats()).total > 0;
      let imported = 0;
      for (let i = 0; i < jobs.length; i += BATCH) {
        let batch = jobs.slice(i, i + BATCH);
        if (resumed) batch = (await Promise.all(batch.map(async (job) => ((await options.into.get(job.id)) ? null : job)))).filter((job) => job !== null);
        imported += (await options.into.enqueue(batch)).filter((r) => r.created).length;
      }
      await storage.setItem(IMPORTED_KEY, { into: "jobs.sqlite", at: new Date().toISOString(), jobs: imported });
      options.logger.info("host.fs_imported", { dir: options.dir, jobs: imported });
      return { status: "imported", jobs: imported };
    } finally {
      await old.close();
    }
  } finally {
    await storage.dispose();
  }
}

/**
 * A job as the new store takes it. A RUNNING job belonged to a process that is gone (we hold its
 * lock): it waits again at once, its attempt still counted, as when a lease expires.
 */
function adopt(job: Job): Job {
  if (job.status !== JobStatus.RUNNING) return job;
  return { ...job, status: JobStatus.PENDING, startedAt: null };
}
