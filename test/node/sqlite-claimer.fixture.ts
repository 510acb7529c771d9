/**
 * A second process on a SQLite file (test/node/sqlite.test.ts): claims jobs one by one until none
 * is left, completing each with this process's name, and prints how many it completed.
 * Usage: node --import tsx sqlite-claimer.fixture.ts <file> <name>
 */
import { createRequire } from "node:module";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";

const [path, name] = process.argv.slice(2) as [string, string];
const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
const db = new Database(path);
const queue = new SqliteJobQueue({ database: db });
let done = 0;
for (;;) {
  const claimed = await queue.claim({ queues: ["default"], limit: 4, leaseMs: 60_000, workerId: name, now: Date.now() });
  if (claimed.length === 0) break;
  for (const c of claimed) if (await queue.complete(c, { by: name }, Date.now())) done++;
}
await queue.close();
db.close();
process.stdout.write(`${done}\n`);
