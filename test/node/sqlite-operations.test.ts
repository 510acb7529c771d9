/**
 * The operations on SqliteJobQueue beyond the conformance suite: a claim next to a paused queue
 * still walks its indexes (the pause is one primary-key lookup in the claim statement), a file
 * made before the operations is upgraded in place, and waitForJob resolves for a job another
 * connection (another process) finished.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { JobService } from "../../src/core/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { BASE_TIME as T, makeJob } from "../../src/testing/index.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function freshFile(): () => SqliteDatabase {
  const dir = mkdtempSync(join(tmpdir(), "portico-sqlite-ops-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "jobs.sqlite");
  return () => {
    const db = new Database(path);
    cleanups.push(() => db.close());
    return db;
  };
}

const claimReq = (queues: string[], now: number, limit = 1) => ({ queues, limit, leaseMs: 10_000, workerId: "w", now });

test("a claim and nextWakeAt with a paused queue read the pause by primary key and the jobs through their indexes", async () => {
  const db = freshFile()();
  const log: { sql: string; params: unknown[] }[] = [];
  const recording: SqliteDatabase = {
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    prepare: (sql) => {
      const s = db.prepare(sql);
      const rec = (params: unknown[]) => log.push({ sql, params });
      return { run: (...p) => (rec(p), s.run(...p)), all: (...p) => (rec(p), s.all(...p)), get: (...p) => (rec(p), s.get(...p)) };
    },
  };
  const queue = new SqliteJobQueue({ database: recording }, { watchIntervalMs: 0 });
  await queue.enqueue(Array.from({ length: 100 }, (_, i) => makeJob({ queueName: i % 2 ? "a" : "b" })));
  expect(await queue.setPaused("a", true, T)).toBe(true);
  log.length = 0;
  const claimed = await queue.claim(claimReq(["a", "b"], T + 1, 3));
  expect(claimed.map((c) => c.job.queueName)).toEqual(["b", "b", "b"]);
  expect(await queue.nextWakeAt(["a"], T + 1)).toBe(null);
  const statements = log.filter((r) => !/^(BEGIN|COMMIT|ROLLBACK)/.test(r.sql));
  const claims = statements.filter((r) => r.sql.startsWith("UPDATE jobs SET status = 'running'"));
  expect(claims).toHaveLength(2);
  for (const r of statements) {
    const lines = (db.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...r.params) as { detail: string }[]).map((l) => l.detail);
    const scans = lines.filter((l) => /^SCAN (jobs|paused_queues)\b/.test(l) && !/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/.test(l));
    expect(scans, `${r.sql}\n${lines.join("\n")}`).toEqual([]);
    if (claims.includes(r)) {
      expect(lines.join("\n")).toMatch(/SEARCH paused_queues USING (COVERING )?INDEX sqlite_autoindex_paused_queues_1 \(name=\?\)/);
      expect(lines.join("\n")).toMatch(/jobs_ready_plain/);
    }
  }
});

test("a file made before the operations gets the progress column and the pause table in place", async () => {
  const open = freshFile();
  const first = open();
  const old = new SqliteJobQueue({ database: first }, { watchIntervalMs: 0 });
  const job = makeJob();
  await old.enqueue([job]);
  await old.close();
  // What an older version left behind: no operations columns, no pause table.
  first.exec("DROP TABLE paused_queues; ALTER TABLE jobs DROP COLUMN progress; ALTER TABLE jobs DROP COLUMN ctoken");
  const queue = new SqliteJobQueue({ database: open() }, { watchIntervalMs: 0 });
  const [c] = await queue.claim(claimReq(["default"], T));
  expect(await queue.progress(c!, 50, T + 1)).toBe(true);
  expect((await queue.get(job.id))?.progress).toBe(50);
  expect(await queue.setPaused("default", true, T)).toBe(true);
  expect((await queue.stats()).paused).toEqual(["default"]);
});

test("waitForJob resolves for a job another connection finished (data_version), and a running job cancelled through it is refused to its holder", async () => {
  const open = freshFile();
  const here = new SqliteJobQueue({ database: open() }, { watchIntervalMs: 5 });
  const there = new SqliteJobQueue({ database: open() }, { watchIntervalMs: 5 });
  cleanups.push(() => void here.close(), () => void there.close());
  const service = new JobService({ queue: here });
  const done = makeJob();
  const running = makeJob();
  await here.enqueue([done, running]);
  const waiting = service.waitForJob(done.id, { timeoutMs: 20_000 });
  const [a, b] = await there.claim(claimReq(["default"], T, 2));
  const mine = a!.jobId === done.id ? a! : b!;
  const other = mine === a ? b! : a!;
  expect(await there.complete(mine, { answer: 42 }, T + 1)).toBe(true);
  const finished = await waiting;
  expect(finished.status).toBe("completed");
  expect(finished.result).toEqual({ answer: 42 });
  await service.cancelJob(other.jobId);
  expect((await there.get(other.jobId))?.status).toBe("cancelled");
  expect(await there.extendLease(other, 10_000, T + 2)).toBe("cancelled");
  expect(await there.complete(other, "late", T + 3)).toBe(false);
});
