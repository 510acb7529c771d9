/**
 * SqliteJobQueue beyond the conformance suite: the file settings it applies, every job-path
 * statement served by an index, a write lock held by another connection (typed error, nothing
 * changed), wake-ups from another connection's commits, retention bounded across handles, and two
 * real processes draining one file without sharing a job.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, expect, test } from "vitest";
import { PorticoError, StorageError } from "../../src/core/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { positional } from "../../src/drivers/sqlite/executor.ts";
import { BASE_TIME as T, makeJob } from "../../src/testing/index.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A fresh file and a way to open more connections to it. */
function freshFile(): { path: string; open: () => SqliteDatabase } {
  const dir = mkdtempSync(join(tmpdir(), "portico-sqlite-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "jobs.sqlite");
  return {
    path,
    open: () => {
      const db = new Database(path);
      cleanups.push(() => db.close());
      return db;
    },
  };
}

const claimReq = (now: number, limit = 1) => ({ queues: ["default"], limit, leaseMs: 10_000, workerId: "w", now });

test("opening sets WAL and the busy timeout; a handle that is not a database is refused, naming the field", () => {
  const { open } = freshFile();
  const db = open();
  new SqliteJobQueue({ database: db }, { busyTimeoutMs: 1234 });
  expect(db.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  expect(db.prepare("PRAGMA busy_timeout").get()).toEqual({ timeout: 1234 });
  expect(() => new SqliteJobQueue({ database: {} as SqliteDatabase })).toThrow(/database must be an open SQLite handle/);
  expect(() => new SqliteJobQueue({ database: {} as SqliteDatabase })).toThrow(PorticoError);
  expect(() => new SqliteJobQueue({ database: db }, { busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
});

test("an in-memory database works too (one connection)", async () => {
  const db = new Database(":memory:");
  cleanups.push(() => db.close());
  const queue = new SqliteJobQueue({ database: db });
  const job = makeJob();
  await queue.enqueue([job]);
  const [c] = await queue.claim(claimReq(T));
  expect(await queue.complete(c!, { ok: 1 }, T + 1)).toBe(true);
  expect((await queue.get(job.id))?.result).toEqual({ ok: 1 });
});

test("numbered parameters become positional ones in value order", () => {
  expect(positional("a = ?1 AND b = ?2")).toEqual({ sql: "a = ? AND b = ?", order: null });
  expect(positional("a = ?2, b = ?1, c = ?2")).toEqual({ sql: "a = ?, b = ?, c = ?", order: [2, 1, 2] });
  expect(() => positional("a = ? AND b = ?1")).toThrow(/mixes/);
});

test("every statement of the job path reads the jobs through an index, and a claim sorts only the rows its two index walks picked", async () => {
  const { open } = freshFile();
  const db = open();
  const log: { sql: string; params: unknown[] }[] = [];
  // A recording handle: the statements exactly as the queue prepares and binds them.
  const recording: SqliteDatabase = {
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    prepare: (sql) => {
      const s = db.prepare(sql);
      const rec = (params: unknown[]) => log.push({ sql, params });
      return {
        run: (...p) => (rec(p), s.run(...p)),
        all: (...p) => (rec(p), s.all(...p)),
        get: (...p) => (rec(p), s.get(...p)),
      };
    },
  };
  const queue = new SqliteJobQueue({ database: recording }, { watchIntervalMs: 0 });
  const jobs = Array.from({ length: 200 }, (_, i) =>
    makeJob({ priority: i % 5, runAt: new Date(T + (i % 7) * 1000), idempotencyKey: i % 3 ? null : `k${i}` }),
  );
  log.length = 0;
  await queue.enqueue(jobs.slice(0, 150));
  await queue.enqueue([jobs[150]!]);
  await queue.enqueue([{ ...jobs[0]!, id: crypto.randomUUID() }]);
  const [one] = await queue.claim(claimReq(T + 10_000));
  const some = await queue.claim(claimReq(T + 10_000, 5));
  await queue.complete(one!, { ok: true }, T + 10_001);
  await queue.fail(some[0]!, "x", { status: "retrying", retryAt: T + 30_000 }, T + 10_001);
  await queue.release(some[1]!, T + 10_001);
  await queue.extendLease(some[2]!, 1_000, T + 10_001);
  await queue.nextWakeAt(["default"], T);
  const statements = log.filter((r) => !/^(BEGIN|COMMIT|ROLLBACK)/.test(r.sql));
  expect(statements.length).toBeGreaterThan(8);
  const plan = (r: { sql: string; params: unknown[] }) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...r.params) as { detail: string }[]).map((l) => l.detail);
  for (const r of statements) {
    const lines = plan(r);
    const scans = lines.filter((l) => /^SCAN jobs\b/.test(l) && !/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/.test(l));
    expect(scans, `${r.sql}\n${lines.join("\n")}`).toEqual([]);
  }
  const claims = statements.filter((r) => r.sql.startsWith("UPDATE jobs SET status = 'running'"));
  expect(claims).toHaveLength(2);
  for (const r of claims) {
    const lines = plan(r).join("\n");
    // Another process's leases may have run out, so a shared file's claim walks both indexes.
    expect(lines).toMatch(/jobs_ready/);
    expect(lines).toMatch(/jobs_wakeups/);
    // The only sort is the merge of the two walks' at most 2 x limit rows, never the queue's rows.
    expect(lines.match(/TEMP B-TREE/g) ?? []).toHaveLength(1);
    expect(lines).toMatch(/SCAN \(subquery-\d+\)\nUSE TEMP B-TREE FOR ORDER BY/);
  }
});

test("a write lock held by another connection past the busy timeout is a StorageError, and nothing changes", async () => {
  const { open } = freshFile();
  const queue = new SqliteJobQueue({ database: open() }, { busyTimeoutMs: 0 });
  const job = makeJob();
  await queue.enqueue([job]);
  const other = open();
  other.exec("BEGIN IMMEDIATE");
  const refused = await queue.claim(claimReq(T)).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(StorageError);
  expect((refused as StorageError).code).toBe("storage_error");
  expect((refused as Error).message).toMatch(/SqliteJobQueue\.claim failed, nothing changed: .*busyTimeoutMs/);
  await expect(queue.enqueue([makeJob()])).rejects.toThrow(StorageError);
  other.exec("ROLLBACK");
  expect((await queue.get(job.id))?.status).toBe("pending");
  expect((await queue.get(job.id))?.attempts).toBe(0);
  expect((await queue.stats()).total).toBe(1);
  const [c] = await queue.claim(claimReq(T));
  expect(c?.jobId).toBe(job.id);
});

test("a subscriber wakes on its own queue's enqueues and on another connection's commits", async () => {
  const { open } = freshFile();
  const a = new SqliteJobQueue({ database: open() }, { watchIntervalMs: 5 });
  const b = new SqliteJobQueue({ database: open() });
  let wakes = 0;
  let onWake: () => void = () => {};
  const unsubscribe = a.subscribe(() => {
    wakes++;
    onWake();
  });
  const woken = () => new Promise<void>((resolve) => (onWake = resolve));
  let next = woken();
  await a.enqueue([makeJob()]);
  await next;
  expect(wakes).toBe(1);
  next = woken();
  await b.enqueue([makeJob()]);
  await next; // only the data_version watch can see b's commit
  expect(wakes).toBeGreaterThanOrEqual(2);
  unsubscribe();
  await a.close();
  await b.close();
  await expect(a.get("x")).rejects.toThrow(/closed/);
});

test("retention holds across two handles finishing jobs in one file", async () => {
  const { open } = freshFile();
  const retention = { maxCount: 20, maxAgeMs: 1e12 };
  const a = new SqliteJobQueue({ database: open() }, { retention });
  const b = new SqliteJobQueue({ database: open() }, { retention });
  let max = 0;
  const probe = open();
  for (let i = 0; i < 200; i++) {
    const q = i % 2 ? a : b;
    await q.enqueue([makeJob()]);
    const [c] = await q.claim(claimReq(T));
    await q.complete(c!, null, T + i);
    const { n } = probe.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status = 'completed'").get() as { n: number };
    max = Math.max(max, n);
  }
  // Each handle re-reads the true count every tenth of maxCount of its own finishes.
  expect(max).toBeLessThanOrEqual(retention.maxCount + 2 * (retention.maxCount / 10));
  expect(max).toBeGreaterThan(retention.maxCount / 2);
});

test("two processes drain one file: every job completed exactly once", async () => {
  const { path, open } = freshFile();
  const queue = new SqliteJobQueue({ database: open() });
  const jobs = Array.from({ length: 600 }, () => makeJob({ runAt: new Date(0) }));
  for (let i = 0; i < jobs.length; i += 100) await queue.enqueue(jobs.slice(i, i + 100));
  const run = promisify(execFile);
  const fixture = join(import.meta.dirname, "sqlite-claimer.fixture.ts");
  const outs = await Promise.all(["p1", "p2"].map((name) => run(process.execPath, ["--import", "tsx", fixture, path, name])));
  const counts = outs.map((o) => Number(o.stdout.trim()));
  expect(counts[0]! + counts[1]!).toBe(jobs.length);
  const stats = await queue.stats();
  expect(stats.byStatus.completed).toBe(jobs.length);
  const rows = open().prepare("SELECT attempts, result FROM jobs").all() as { attempts: number; result: string }[];
  expect(rows.every((r) => r.attempts === 1)).toBe(true);
  expect(new Set(rows.map((r) => r.result))).toEqual(new Set(['{"by":"p1"}', '{"by":"p2"}'].filter((_, i) => counts[i]! > 0)));
});
