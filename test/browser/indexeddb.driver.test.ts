/**
 * IndexedDB-specific behaviour in real Chromium, beyond the conformance suite: typed store
 * errors with nothing half-written, in-place schema upgrades, blocked upgrades, and wake-ups
 * (BroadcastChannel between handles, the `online` event, the page's own WorkerManager).
 */
import { openDB } from "idb";
import { afterEach, expect, test } from "vitest";
import { JobService, StorageError, WorkerManager, silentLogger, type Job, type JobHandler } from "../../src/core/index.ts";
import { IndexedDBJobQueue, SCHEMA_VERSION } from "../../src/drivers/indexeddb/index.ts";
import { COUNTERS_KEY, JOBS, META, MIGRATIONS, markReady, type JobRow } from "../../src/drivers/indexeddb/schema.ts";
import { deleteDatabase } from "./helpers.ts";

const opened: IndexedDBJobQueue[] = [];
const restore: (() => void)[] = [];

function queue(dbName = `driver-${crypto.randomUUID()}`, options: { blockedTimeoutMs?: number } = {}): IndexedDBJobQueue {
  const q = new IndexedDBJobQueue({ dbName, ...options });
  opened.push(q);
  return q;
}

afterEach(async () => {
  for (const undo of restore.splice(0)) undo();
  const names = new Set(opened.map((q) => q.dbName));
  await Promise.all(opened.splice(0).map((q) => q.close()));
  for (const name of names) await deleteDatabase(name);
});

const service = (q: IndexedDBJobQueue) => new JobService({ queue: q });

test("a quota error in the middle of a batch stores nothing and is a StorageError naming the quota", async () => {
  const q = queue();
  const jobs = service(q);
  await jobs.createJob("keep", { n: 0 });
  const add = IDBObjectStore.prototype.add;
  let calls = 0;
  IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<typeof add>) {
    if (++calls === 3) throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    return add.apply(this, args);
  };
  restore.push(() => (IDBObjectStore.prototype.add = add));
  const error = await jobs
    .createJobs(Array.from({ length: 5 }, (_, i) => ({ jobType: "batch", payload: { i } })))
    .then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe("storage_error");
  expect((error as Error).message).toMatch(/quota exceeded/i);
  expect((error as Error).message).toMatch(/nothing was written/);
  expect(calls).toBe(3);
  const stats = await q.stats();
  expect(stats.total).toBe(1);
  expect((await q.list({ jobType: "batch" })).length).toBe(0);
});

test("a value IndexedDB cannot clone fails the whole batch with a StorageError", async () => {
  const q = queue();
  const ok: Job = (await service(q).createJobs([{ jobType: "t", payload: 1 }]))[0]!;
  const bad: Job = { ...ok, id: crypto.randomUUID(), payload: { fn: () => 1 } };
  const good: Job = { ...ok, id: crypto.randomUUID() };
  const error = await q.enqueue([good, bad]).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as Error).message).toMatch(/cannot be stored/);
  expect(await q.get(good.id)).toBeNull();
  expect((await q.stats()).total).toBe(1);
});

test("a closed queue refuses calls with a StorageError", async () => {
  const q = queue();
  await q.close();
  await expect(q.get("x")).rejects.toBeInstanceOf(StorageError);
  await expect(q.enqueue([])).rejects.toThrow(/closed/);
});

test("a version-1 database is upgraded in place: its jobs are kept, claimable and counted", async () => {
  const dbName = `upgrade-${crypto.randomUUID()}`;
  const v1 = await openDB(dbName, 1, { upgrade: (db, _o, _n, tx) => MIGRATIONS[1]!(db, tx as never) });
  const base = (await service(queue(`scratch-${crypto.randomUUID()}`)).createJobs([{ jobType: "old", payload: { v: 1 } }]))[0]!;
  const pending: JobRow = { job: { ...base, id: "pending-v1" }, seq: 1, token: null, leaseExpiresAt: 0 };
  markReady(pending);
  const done: JobRow = {
    job: { ...base, id: "done-v1", status: "completed", completedAt: new Date(base.createdAt.getTime() + 5) },
    seq: 2,
    token: null,
    leaseExpiresAt: 0,
  };
  await v1.put(JOBS, pending);
  await v1.put(JOBS, done);
  v1.close();

  const q = queue(dbName);
  const [claimed] = await q.claim({ queues: ["default"], limit: 10, leaseMs: 1_000, workerId: "w", now: Date.now() });
  expect(claimed?.jobId).toBe("pending-v1");
  expect(claimed?.job.payload).toEqual({ v: 1 });
  expect((await q.list({ status: "completed" })).map((j) => j.id)).toEqual(["done-v1"]);
  expect((await q.stats()).byStatus.completed).toBe(1);
  const check = await openDB(dbName);
  expect(check.version).toBe(SCHEMA_VERSION);
  expect([...check.objectStoreNames]).toContain("meta");
  check.close();
});

test("a version-2 database is upgraded: attempts that counted released claims no longer look like lost leases", async () => {
  const dbName = `upgrade-v3-${crypto.randomUUID()}`;
  const v2 = await openDB(dbName, 2, {
    upgrade: (db, _o, _n, tx) => {
      MIGRATIONS[1]!(db, tx as never);
      MIGRATIONS[2]!(db, tx as never);
    },
  });
  const base = (await service(queue(`scratch-${crypto.randomUUID()}`)).createJobs([{ jobType: "old", payload: 1 }]))[0]!;
  const released: JobRow = { job: { ...base, id: "released-4-times", attempts: 4 }, seq: 1, token: null, leaseExpiresAt: 0 };
  markReady(released);
  const retried: JobRow = { job: { ...base, id: "retried-once", attempts: 2, retryCount: 1 }, seq: 2, token: null, leaseExpiresAt: 0 };
  markReady(retried);
  await v2.put(JOBS, released);
  await v2.put(JOBS, retried);
  v2.close();

  const q = queue(dbName);
  expect((await q.get("released-4-times"))?.attempts).toBe(0);
  expect((await q.get("retried-once"))?.attempts).toBe(1);
  const check = await openDB(dbName);
  expect(check.version).toBe(SCHEMA_VERSION);
  check.close();
});

test("a version-5 database is upgraded: keyed finished jobs move out of the count-pruned index and the counter counts the rest", async () => {
  const dbName = `upgrade-v6-${crypto.randomUUID()}`;
  const v5 = await openDB(dbName, 5, {
    upgrade: (db, _o, _n, tx) => {
      for (let v = 1; v <= 5; v++) MIGRATIONS[v]!(db, tx as never);
    },
  });
  const base = (await service(queue(`scratch-${crypto.randomUUID()}`)).createJobs([{ jobType: "old", payload: 1 }]))[0]!;
  const done = (id: string, seq: number, idempotencyKey: string | null): JobRow => ({
    job: { ...base, id, idempotencyKey, status: "completed", completedAt: new Date(1_000 + seq) },
    seq,
    token: null,
    leaseExpiresAt: 0,
    finished: [1_000 + seq, seq],
  });
  await v5.put(JOBS, done("keyed", 1, "k-1"));
  await v5.put(JOBS, done("plain", 2, null));
  await v5.put(META, { finished: 2 }, COUNTERS_KEY);
  v5.close();

  expect((await queue(dbName).get("keyed"))?.status).toBe("completed");
  const check = await openDB(dbName);
  expect(check.version).toBe(SCHEMA_VERSION);
  const keyed = (await check.get(JOBS, "keyed")) as JobRow;
  expect([keyed.finished, keyed.finishedKeyed]).toEqual([undefined, [1_001, 1]]);
  expect(((await check.get(JOBS, "plain")) as JobRow).finished).toEqual([1_002, 2]);
  expect(await check.get(META, COUNTERS_KEY)).toEqual({ finished: 1 });
  check.close();
});

test("an upgrade blocked by another tab's old connection is a StorageError; it succeeds once that tab closes", async () => {
  const dbName = `blocked-${crypto.randomUUID()}`;
  // An "old tab": a version-1 connection that ignores versionchange.
  const old = await openDB(dbName, 1, { upgrade: (db, _o, _n, tx) => MIGRATIONS[1]!(db, tx as never) });
  const q = queue(dbName, { blockedTimeoutMs: 200 });
  const error = await q.get("x").then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as Error).message).toMatch(/blocked by another tab/);
  old.close();
  expect(await q.get("x")).toBeNull();
  expect((await q.stats()).total).toBe(0);
});

test("a handle steps aside when another tab needs a newer schema", async () => {
  const dbName = `newer-${crypto.randomUUID()}`;
  const q = queue(dbName);
  await service(q).createJob("t", {});
  // A "newer tab" opening a higher version must not be blocked by this handle.
  const newer = await openDB(dbName, SCHEMA_VERSION + 1, { blocked: () => expect.fail("blocked by an IndexedDBJobQueue handle") });
  newer.close();
  const error = await q.get("x").then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as Error).message).toMatch(/reload the page/);
});

test("enqueue through one handle wakes subscribers of another handle (BroadcastChannel)", async () => {
  const dbName = `wake-${crypto.randomUUID()}`;
  const a = queue(dbName);
  const b = queue(dbName);
  const woke = new Promise<void>((resolve) => b.subscribe(resolve));
  await service(a).createJob("t", {});
  await woke;
  expect((await b.claim({ queues: ["default"], limit: 5, leaseMs: 1_000, workerId: "b", now: Date.now() })).length).toBe(1);
});

test("subscribers wake on the online event, and stop after unsubscribing", async () => {
  const q = queue();
  let calls = 0;
  const off = q.subscribe(() => calls++);
  window.dispatchEvent(new Event("online"));
  expect(calls).toBe(1);
  off();
  window.dispatchEvent(new Event("online"));
  expect(calls).toBe(1);
});

test("the page's own WorkerManager runs a new job at once, without polling", async () => {
  const q = queue();
  let handled!: (job: Job) => void;
  const ran = new Promise<Job>((resolve) => (handled = resolve));
  const handler: JobHandler = { jobType: "t", handle: async (job) => (handled(job), { success: true }) };
  // With a ten-minute poll interval, only the driver's wake-up can start the job in time.
  const worker = new WorkerManager({ queue: q, handlers: [handler], pollIntervalMs: 600_000, logger: silentLogger });
  await worker.start();
  try {
    await new Promise((r) => setTimeout(r, 50)); // let the worker go idle first
    const job = await service(q).createJob("t", { hello: "tab" });
    expect((await ran).id).toBe(job.id);
  } finally {
    await worker.stop();
  }
});

test("two WorkerManagers on two handles drain one queue, each job handled once", async () => {
  const dbName = `drain-${crypto.randomUUID()}`;
  const seen = new Map<string, number>();
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const total = 60;
  const handler: JobHandler = {
    jobType: "t",
    handle: async (job) => {
      seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
      if (seen.size === total) finished();
      return { success: true };
    },
  };
  const workers = [queue(dbName), queue(dbName)].map(
    (q, i) => new WorkerManager({ queue: q, handlers: [handler], concurrency: 3, workerId: `tab-${i}`, logger: silentLogger }),
  );
  await Promise.all(workers.map((w) => w.start()));
  try {
    await service(queue(dbName)).createJobs(Array.from({ length: total }, (_, i) => ({ jobType: "t", payload: { i } })));
    await all;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
  expect(seen.size).toBe(total);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
  expect((await queue(dbName).stats()).byStatus.completed).toBe(total);
});

test("lease calls made together commit together, and one bad result fails only its own call", async () => {
  const q = queue();
  await service(q).createJobs(Array.from({ length: 3 }, (_, i) => ({ jobType: "t", payload: { i } })));
  const now = Date.now();
  const [a, b, c] = await q.claim({ queues: ["default"], limit: 3, leaseMs: 60_000, workerId: "w", now });
  const results = await Promise.allSettled([
    q.complete(a!, { ok: 1 }, now + 1),
    q.complete(b!, { cannot: () => "clone" }, now + 1),
    q.fail(c!, "boom", { status: "retrying", retryAt: now + 5_000 }, now + 1),
    q.complete(a!, { again: true }, now + 2), // the same lease twice in one batch: only the first wins
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
  expect((results[0] as PromiseFulfilledResult<boolean>).value).toBe(true);
  expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
  expect((results[3] as PromiseFulfilledResult<boolean>).value).toBe(false);
  expect(await q.get(a!.jobId)).toMatchObject({ status: "completed", result: { ok: 1 } });
  expect(await q.get(b!.jobId)).toMatchObject({ status: "running", result: null, completedAt: null });
  expect(await q.get(c!.jobId)).toMatchObject({ status: "retrying", retryCount: 1, errorMessage: "boom" });
  // The refused call left b's lease intact.
  expect(await q.complete(b!, "fine", now + 3)).toBe(true);
  expect((await q.stats()).byStatus.completed).toBe(2);
});

test("a version-4 database is upgraded in place for the operations: its jobs are paged newest first, and a pause holds", async () => {
  const dbName = `upgrade-v5-${crypto.randomUUID()}`;
  const v4 = await openDB(dbName, 4, {
    upgrade: (db, _o, _n, tx) => {
      for (let v = 1; v <= 4; v++) MIGRATIONS[v]!(db, tx as never);
    },
  });
  const base = (await service(queue(`scratch-${crypto.randomUUID()}`)).createJobs([{ jobType: "old", payload: 1 }]))[0]!;
  for (const [i, id] of ["older", "newer"].entries()) {
    const row: JobRow = { job: { ...base, id, idempotencyKey: null }, seq: i + 1, token: null, leaseExpiresAt: 0 };
    markReady(row);
    await v4.put(JOBS, row);
  }
  v4.close();

  const q = queue(dbName);
  const page = await q.listPage({ limit: 1 });
  expect(page.jobs.map((j) => j.id)).toEqual(["newer"]);
  expect((await q.listPage({ limit: 1, cursor: page.nextCursor! })).jobs.map((j) => j.id)).toEqual(["older"]);
  expect(await q.setPaused("default", true, Date.now())).toBe(true);
  expect(await q.claim({ queues: ["default"], limit: 10, leaseMs: 1_000, workerId: "w", now: Date.now() })).toEqual([]);
  expect((await q.stats()).paused).toEqual(["default"]);
  const check = await openDB(dbName);
  expect(check.version).toBe(SCHEMA_VERSION);
  expect([...check.objectStoreNames]).toContain("paused");
  check.close();
});

test("watch hears job changes made through another handle (BroadcastChannel), so waitForJob resolves when another tab runs the job", async () => {
  const dbName = `watch-${crypto.randomUUID()}`;
  const waiter = queue(dbName);
  const runner = queue(dbName);
  const heard: string[] = [];
  const off = waiter.watch((change) => heard.push(`${change.jobId}:${change.status}`));
  const job = await service(waiter).createJob("t", { n: 1 });
  // The waiter's safety read comes only after 30 s: the test's timeout fails it unless the change arrives.
  const waiting = service(waiter).waitForJob(job.id);
  const handler: JobHandler = { jobType: "t", handle: async () => ({ success: true, resultData: { done: 1 } }) };
  const worker = new WorkerManager({ queue: runner, handlers: [handler], workerId: "other-tab", logger: silentLogger });
  await worker.start();
  try {
    const finished = await waiting;
    expect(finished.status).toBe("completed");
    expect(finished.result).toEqual({ done: 1 });
    expect(heard).toContain(`${job.id}:completed`);
  } finally {
    off();
    await worker.stop();
  }
});

test("a job cancelled through one handle while another handle runs it: the holder's renewal answers cancelled", async () => {
  const dbName = `cancel-${crypto.randomUUID()}`;
  const a = queue(dbName);
  const b = queue(dbName);
  const job = await service(a).createJob("t", {});
  const now = Date.now();
  const [held] = await b.claim({ queues: ["default"], limit: 1, leaseMs: 10_000, workerId: "b", now });
  expect(held?.jobId).toBe(job.id);
  expect(await a.cancel(job.id, now + 1, { running: true })).toBe(true);
  expect(await b.extendLease(held!, 10_000, now + 2)).toBe("cancelled");
  expect(await b.complete(held!, "late", now + 3)).toBe(false);
  expect((await a.get(job.id))?.status).toBe("cancelled");
});

test("bulk cancel of keyed jobs leaves the retention count alone: unkeyed jobs finished after it are kept up to maxCount", async () => {
  const q = new IndexedDBJobQueue({ dbName: `bulk-count-${crypto.randomUUID()}`, retention: { maxCount: 2 } });
  opened.push(q);
  const jobs = service(q);
  await jobs.createJobs([1, 2, 3].map((i) => ({ jobType: "keyed", payload: i, options: { idempotencyKey: `k${i}` } })));
  expect(await q.bulk("cancel", { jobType: "keyed" }, Date.now())).toBe(3);
  const plain = await jobs.createJobs([1, 2].map((i) => ({ jobType: "plain", payload: i })));
  const now = Date.now();
  for (const c of await q.claim({ queues: ["default"], limit: 2, leaseMs: 10_000, workerId: "w", now })) await q.complete(c, null, now + 1);
  for (const job of plain) expect((await q.get(job.id))?.status).toBe("completed");
  for (const i of [1, 2, 3]) expect((await q.listPage({ idempotencyKey: `k${i}` })).jobs).toHaveLength(1);
});
