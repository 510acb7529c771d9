/** The driver conformance suite under Deno: SqliteJobQueue on a SQLite file through Deno's own node:sqlite. */
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

// @types/node 20 (the types Deno checks against here) has no node:sqlite; Deno itself has it.
const engine = "node:sqlite";
const { DatabaseSync } = (await import(engine)) as { DatabaseSync: new (path: string) => SqliteDatabase };

const opened = new Map<JobQueue, { db: SqliteDatabase; dir: string | null; path: string }>();

const fileQueue = (retention?: RetentionOptions): JobQueue => {
  const dir = Deno.makeTempDirSync({ prefix: "portico-sqlite-" });
  const path = `${dir}/jobs.sqlite`;
  const db = new DatabaseSync(path);
  const queue = new SqliteJobQueue({ database: db }, { retention });
  opened.set(queue, { db, dir, path });
  return queue;
};

runQueueConformance({
  name: "sqlite(node:sqlite) on deno",
  test: (name, fn) => Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true }),
  createQueue: () => fileQueue(),
  operations: true,
  createQueueWithRetention: (retention) => fileQueue(retention),
  openSecondHandle: (queue) => {
    const path = opened.get(queue)!.path;
    const db = new DatabaseSync(path);
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
    if (o.dir) Deno.removeSync(o.dir, { recursive: true });
  },
});
