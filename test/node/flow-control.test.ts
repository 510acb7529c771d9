/**
 * Flow control end to end: JobService validation by field, and several WorkerManagers on one
 * store (memory, and a SQLite file with one connection per worker) never running more jobs of a
 * key than its limit, checked from the handlers' own start and end records.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { JobService, JobValidationError, WorkerManager, isDuplicateJob, type JobQueue } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { createFakeClock } from "../../src/testing/index.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("JobService validates flow-control options by field", () => {
  const service = new JobService({ queue: new MemoryJobQueue() });
  const cases: [Record<string, unknown>, string][] = [
    [{ concurrencyKey: "" }, "options.concurrencyKey"],
    [{ concurrencyKey: 5 }, "options.concurrencyKey"],
    [{ concurrencyKey: "a", concurrencyLimit: 0 }, "options.concurrencyLimit"],
    [{ concurrencyKey: "a", concurrencyLimit: 1.5 }, "options.concurrencyLimit"],
    [{ concurrencyLimit: 2 }, "options.concurrencyLimit"],
    [{ rateLimit: "x" }, "options.rateLimit"],
    [{ rateLimit: { key: "k", limit: 1, periodMs: 0 } }, "options.rateLimit.periodMs"],
    [{ rateLimit: { key: "k", limit: -1, periodMs: 10 } }, "options.rateLimit.limit"],
    [{ rateLimit: { limit: 1, periodMs: 10 } }, "options.rateLimit.key"],
    [{ debounce: { key: "k", delayMs: -1 } }, "options.debounce.delayMs"],
    [{ debounce: { key: "k", delayMs: 1, maxDelayMs: "9" } }, "options.debounce.maxDelayMs"],
    [{ debounce: { delayMs: 1 } }, "options.debounce.key"],
  ];
  for (const [options, path] of cases) {
    test(`${JSON.stringify(options)} -> ${path}`, async () => {
      const error = await service.createJob("t", {}, options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobValidationError);
      expect((error as JobValidationError).issues.map((i) => i.path)).toContain(path);
      expect(await service.stats()).toMatchObject({ total: 0 });
    });
  }

  test("valid options are stored on the job; the limit defaults to 1", async () => {
    const job = await service.createJob("t", {}, { concurrencyKey: "acct", rateLimit: { key: "api", limit: 3, periodMs: 1000 } });
    expect(job).toMatchObject({ concurrencyKey: "acct", concurrencyLimit: 1, rateLimit: { key: "api", limit: 3, periodMs: 1000 } });
    expect(await service.getJob(job.id)).toMatchObject({ concurrencyKey: "acct", concurrencyLimit: 1 });
    const plain = await service.createJob("t", {});
    expect("concurrencyKey" in plain).toBe(false);
  });

  test("debounce through JobService: same id, new payload, due now + delayMs capped by maxDelayMs", async () => {
    const clock = createFakeClock(1_000_000);
    const s = new JobService({ queue: new MemoryJobQueue(), clock });
    const first = await s.createJob("t", { v: 1 }, { debounce: { key: "doc", delayMs: 100, maxDelayMs: 250 } });
    expect(first.status).toBe("scheduled");
    expect(first.runAt.getTime()).toBe(1_000_100);
    clock.advance(80);
    const second = await s.createJob("t", { v: 2 }, { debounce: { key: "doc", delayMs: 100, maxDelayMs: 250 } });
    expect(second.id).toBe(first.id);
    expect(isDuplicateJob(second)).toBe(true);
    expect(second.payload).toEqual({ v: 2 });
    expect(second.runAt.getTime()).toBe(1_000_180);
    clock.advance(150);
    const third = await s.createJob("t", { v: 3 }, { debounce: { key: "doc", delayMs: 100, maxDelayMs: 250 } });
    expect(third.id).toBe(first.id);
    expect(third.runAt.getTime()).toBe(1_000_250);
  });
});

/** Several WorkerManagers on `queues` (handles on one store) run 40 keyed jobs; returns the most of a key ever running at once. */
async function runKeyed(queues: JobQueue[]): Promise<{ maxByKey: Map<string, number>; done: number }> {
  const service = new JobService({ queue: queues[0]! });
  const running = new Map<string, number>();
  const maxByKey = new Map<string, number>();
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const handler = {
    jobType: "keyed",
    async handle(job: { payload: unknown; concurrencyKey?: string }) {
      const key = job.concurrencyKey!;
      const n = (running.get(key) ?? 0) + 1;
      running.set(key, n);
      maxByKey.set(key, Math.max(maxByKey.get(key) ?? 0, n));
      await new Promise((r) => setTimeout(r, 2));
      running.set(key, running.get(key)! - 1);
      if (++done === 40) finish();
      return { success: true };
    },
  };
  for (let i = 0; i < 40; i++) {
    const key = `k${i % 4}`;
    await service.createJob("keyed", { i }, { concurrencyKey: key, concurrencyLimit: key === "k0" ? 2 : 1 });
  }
  const workers = queues.map((queue, i) => new WorkerManager({ queue, handlers: [handler], concurrency: 4, pollIntervalMs: 5, logger: silent, workerId: `w${i}` }));
  for (const w of workers) await w.start();
  cleanups.push(async () => {
    for (const w of workers) await w.stop();
  });
  await all;
  return { maxByKey, done };
}

test("three WorkerManagers on one memory queue keep every key within its limit", async () => {
  const queue = new MemoryJobQueue();
  const { maxByKey, done } = await runKeyed([queue, queue, queue]);
  expect(done).toBe(40);
  expect(maxByKey.get("k0")).toBeLessThanOrEqual(2);
  for (const k of ["k1", "k2", "k3"]) expect(maxByKey.get(k)).toBe(1);
});

test("three WorkerManagers on one SQLite file (a connection each) keep every key within its limit", async () => {
  const dir = mkdtempSync(join(tmpdir(), "portico-flow-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const queues = [0, 1, 2].map(() => {
    const db = new Database(join(dir, "jobs.sqlite"));
    const q = new SqliteJobQueue({ database: db });
    cleanups.push(async () => {
      await q.close();
      db.close();
    });
    return q;
  });
  const { maxByKey, done } = await runKeyed(queues);
  expect(done).toBe(40);
  expect(maxByKey.get("k0")).toBeLessThanOrEqual(2);
  for (const k of ["k1", "k2", "k3"]) expect(maxByKey.get(k)).toBe(1);
});
