/**
 * The idempotency window on a SQLite file: a file made before it (one `jobs_finished` index over
 * every finished row) is upgraded in place when opened, and its keyed finished jobs are then kept
 * through count pruning while unkeyed ones are pruned to the bound.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { BASE_TIME as T, makeJob } from "../../src/testing/index.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const claimReq = (now: number, limit = 1) => ({ queues: ["default"], limit, leaseMs: 10_000, workerId: "w", now });

test("a file made before the idempotency window gets the split finished indexes in place, and its keyed job survives count pruning", async () => {
  const dir = mkdtempSync(join(tmpdir(), "portico-sqlite-idem-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const open = () => {
    const db = new Database(join(dir, "jobs.sqlite"));
    cleanups.push(() => db.close());
    return db;
  };
  const first = open();
  const old = new SqliteJobQueue({ database: first }, { watchIntervalMs: 0 });
  const keyed = makeJob({ idempotencyKey: "replayed" });
  await old.enqueue([keyed]);
  const [c] = await old.claim(claimReq(T));
  expect(await old.complete(c!, null, T + 1)).toBe(true);
  await old.close();
  // What an older version left behind: one retention index over every finished row.
  first.exec("DROP INDEX jobs_finished_plain; DROP INDEX jobs_finished_keyed; CREATE INDEX jobs_finished ON jobs (finished_at, seq) WHERE finished_at IS NOT NULL");

  const db = open();
  const queue = new SqliteJobQueue({ database: db }, { watchIntervalMs: 0, retention: { maxCount: 5, maxAgeMs: 1e12 } });
  const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'jobs_finished%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  expect(indexes).toEqual(["jobs_finished_keyed", "jobs_finished_plain"]);
  const plain = Array.from({ length: 40 }, () => makeJob());
  await queue.enqueue(plain);
  for (let i = 0; i < plain.length; i++) {
    const [lease] = await queue.claim(claimReq(T + 10 + i));
    await queue.complete(lease!, null, T + 10 + i);
  }
  const [again] = await queue.enqueue([makeJob({ idempotencyKey: "replayed" })]);
  expect([again?.created, again?.job.id]).toEqual([false, keyed.id]);
  const completed = (await queue.stats()).byStatus.completed;
  expect(completed).toBeGreaterThanOrEqual(6);
  expect(completed).toBeLessThanOrEqual(5 + 1 + 1);
  expect(await queue.get(plain[0]!.id)).toBe(null);
  await queue.close();
});
