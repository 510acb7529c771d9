/** The driver conformance suite against SqliteJobQueue on a SQLite file, through better-sqlite3 (Node 20 has no node:sqlite). */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;

interface Opened {
  db: SqliteDatabase;
  dir: string | null;
  path: string;
}
const opened = new Map<JobQueue, Opened>();

/** A fresh file in its own directory (each queue an empty, isolated store). */
const fileQueue = (retention?: RetentionOptions): JobQueue => {
  const dir = mkdtempSync(join(tmpdir(), "portico-sqlite-"));
  const path = join(dir, "jobs.sqlite");
  const db = new Database(path);
  const queue = new SqliteJobQueue({ database: db }, { retention });
  opened.set(queue, { db, dir, path });
  return queue;
};

runQueueConformance({
  name: "sqlite(better-sqlite3)",
  test,
  expect,
  createQueue: () => fileQueue(),
  operations: true,
  createQueueWithRetention: (retention) => fileQueue(retention),
  // A second connection to the same file: what a second process holds.
  openSecondHandle: (queue) => {
    const db = new Database(opened.get(queue)!.path);
    const second = new SqliteJobQueue({ database: db });
    opened.set(second, { db, dir: null, path: opened.get(queue)!.path });
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
