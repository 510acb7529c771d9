/** The driver conformance suite under Bun: SqliteJobQueue on a SQLite file through bun:sqlite. */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

const opened = new Map<JobQueue, { db: SqliteDatabase; dir: string | null; path: string }>();

const fileQueue = (retention?: RetentionOptions): JobQueue => {
  const dir = mkdtempSync(join(tmpdir(), "portico-sqlite-"));
  const path = join(dir, "jobs.sqlite");
  const db = new Database(path);
  const queue = new SqliteJobQueue({ database: db }, { retention });
  opened.set(queue, { db, dir, path });
  return queue;
};

runQueueConformance({
  name: "sqlite(bun:sqlite) on bun",
  test,
  expect,
  createQueue: () => fileQueue(),
  operations: true,
  createQueueWithRetention: (retention) => fileQueue(retention),
  openSecondHandle: (queue) => {
    const path = opened.get(queue)!.path;
    const db = new Database(path);
    const second = new SqliteJobQueue({ database: db });
    opened.set(second, { db, dir: null, path });
    return second;
  },
  disposeQueue: async (queue) => {
    await queue.close();
    const o = opened.get(queue);
    opened.delete(queue);
    if (!o) return;
    o.db.close();
    if (o.dir) rmSync(o.dir, { recursive: true, force: true });
  },
});
