/**
 * The SQL stores the chaos tests run, opened from plain data so the test and its child processes
 * open the same one.
 */
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { SqliteJobQueue } from "../../src/drivers/sqlite/index.ts";
import { openSqliteDatabase } from "../../runtimes/node/sqlite.ts";

export type ChaosStore = { kind: "sqlite"; path: string };

/** Every finished job stays (the test counts them all). */
const KEEP_ALL: RetentionOptions = { maxCount: 1_000_000, maxAgeMs: 24 * 60 * 60 * 1000 };

/** Opens the store; `close` also closes what it runs on. */
export async function openChaosStore(store: ChaosStore): Promise<{ queue: JobQueue; close(): Promise<void> }> {
  const database = await openSqliteDatabase(store.path);
  const queue = new SqliteJobQueue({ database }, { retention: KEEP_ALL });
  return {
    queue,
    async close() {
      await queue.close();
      database.close();
    },
  };
}
