/**
 * Queue names are data: a queue called "__proto__" (or "constructor") is counted like any other
 * in every store's stats, and counting it never writes to Object.prototype. Before stats were
 * folded on null-prototype objects, the memory store hid such a queue and the SQLite store added
 * its counts to Object.prototype itself.
 */
import "fake-indexeddb/auto";
import { createRequire } from "node:module";
import { createStorage } from "unstorage";
import { afterEach, expect, test } from "vitest";
import type { JobQueue } from "../../src/core/index.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { makeJob } from "../../src/testing/conformance/fixtures.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;

const stores: [string, () => JobQueue][] = [
  ["memory", () => new MemoryJobQueue()],
  ["unstorage", () => new UnstorageJobQueue({ storage: createStorage(), lockSettleMs: 0 })],
  ["indexeddb", () => new IndexedDBJobQueue({ dbName: `names-${crypto.randomUUID()}` })],
  ["sqlite", () => new SqliteJobQueue({ database: new Database(":memory:") })],
];

const opened: JobQueue[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((q) => q.close()));
});

for (const [name, open] of stores) {
  test(`${name}: a queue named __proto__ or constructor is counted as an own key, and Object.prototype stays clean`, async () => {
    const q = open();
    opened.push(q);
    await q.enqueue([makeJob({ queueName: "__proto__" }), makeJob({ queueName: "__proto__" }), makeJob({ queueName: "constructor" }), makeJob()]);
    const stats = await q.stats();
    expect(Object.keys(stats.byQueue).sort()).toEqual(["__proto__", "constructor", "default"]);
    expect(Object.getOwnPropertyDescriptor(stats.byQueue, "__proto__")?.value.pending).toBe(2);
    expect(JSON.parse(JSON.stringify(stats)).byQueue.constructor.pending).toBe(1);
    expect(stats.total).toBe(4);
    expect(stats.byStatus.pending).toBe(4);
    expect(Object.prototype).not.toHaveProperty("pending");
    expect(({} as Record<string, unknown>).pending).toBeUndefined();
  });
}
