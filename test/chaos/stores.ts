/**
 * The SQL stores the chaos tests run, opened from plain data so the test and its child processes
 * open the same one.
 */
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { SqliteJobQueue } from "../../src/drivers/sqlite/index.ts";
import { openSqliteDatabase } from "../../runtimes/node/sqlite.ts";

export type ChaosStore = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; schema: string };

/** Every finished job stays (the test counts them all). */
const KEEP_ALL: RetentionOptions = { maxCount: 1_000_000, maxAgeMs: 24 * 60 * 60 * 1000 };

/** Opens the store; `close` also closes what it runs on. */
export async function openChaosStore(store: ChaosStore): Promise<{ queue: JobQueue; close(): Promise<void> }> {
  if (store.kind === "postgres") {
    const queue = new PostgresJobQueue({ url: store.url }, { schema: store.schema, retention: KEEP_ALL });
    return { queue, close: () => queue.close() };
  }
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
