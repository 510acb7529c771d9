/** MemoryJobQueue specifics beyond the conformance suite: retention, notifications, close, scaling. */
import { describe, expect, test } from "vitest";
import { DEFAULT_RETENTION, JobService, JobStatus, StorageError, WorkerManager, silentLogger, type ClaimRequest, type JobHandler } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { BASE_TIME as T, makeJob } from "../../src/testing/conformance/fixtures.ts";

const req = (now: number, limit = 1, queues = ["default"]): ClaimRequest => ({ queues, limit, leaseMs: 1_000, workerId: "w", now });

describe("retention", () => {
  test("defaults keep 10,000 completed jobs", async () => {
    expect(DEFAULT_RETENTION.maxCount).toBe(10_000);
    const q = new MemoryJobQueue();
    const jobs = Array.from({ length: 10_005 }, () => makeJob());
    await q.enqueue(jobs);
    for (let i = 0; i < jobs.length; i++) {
      const [c] = await q.claim(req(T + i));
      await q.complete(c!, null, T + i);
    }
    const s = await q.stats();
    expect(s.byStatus.completed).toBe(10_000);
    expect(s.total).toBe(10_000);
    expect(await q.get(jobs[4]!.id)).toBeNull();
    expect(await q.get(jobs[5]!.id)).not.toBeNull();
  });

  test("default age limit is 24 h, and cancelled jobs count as finished", async () => {
    const q = new MemoryJobQueue();
    const cancelled = makeJob();
    const later = makeJob({ queueName: "later" });
    await q.enqueue([cancelled, later]);
    await q.cancel(cancelled.id, T);
    const [c] = await q.claim(req(T + 24 * 3_600_000 + 1, 1, ["later"]));
    await q.complete(c!, null, T + 24 * 3_600_000 + 1);
    expect(await q.get(cancelled.id)).toBeNull();
    expect((await q.get(later.id))?.status).toBe(JobStatus.COMPLETED);
    expect((await q.stats()).byStatus.cancelled).toBe(0);
  });

  test("a pruned job frees its idempotency key (no idempotency window)", async () => {
    const q = new MemoryJobQueue({ retention: { maxCount: 1, idempotencyWindowMs: 0 } });
    const first = makeJob({ idempotencyKey: "k" });
    await q.enqueue([first, makeJob()]);
    for (const now of [T, T + 1]) {
      const [c] = await q.claim(req(now));
      await q.complete(c!, null, now);
    }
    expect(await q.get(first.id)).toBeNull();
    const [again] = await q.enqueue([makeJob({ idempotencyKey: "k" })]);
    expect(again?.created).toBe(true);
  });

  test("memory stays bounded over a long run of completions", async () => {
    const q = new MemoryJobQueue({ retention: { maxCount: 50 } });
    for (let round = 0; round < 40; round++) {
      await q.enqueue(Array.from({ length: 100 }, () => makeJob()));
      const claimed = await q.claim(req(T + round, 100));
      for (const c of claimed) await q.complete(c, { round }, T + round);
    }
    const s = await q.stats();
    expect(s.total).toBe(50);
    expect((await q.list({ limit: 1_000 })).every((j) => (j.result as { round: number }).round === 39)).toBe(true);
  });
});

describe("notifications and lifecycle", () => {
  test("subscribe hears enqueues, retries, releases and re-drives; unsubscribe stops it", async () => {
    const q = new MemoryJobQueue();
    let heard = 0;
    const off = q.subscribe(() => heard++);
    await q.enqueue([makeJob({ maxRetries: 0 }), makeJob()]);
    expect(heard).toBe(1);
    const [a, b] = await q.claim(req(T, 2));
    await q.fail(a!, "x", { status: "retrying", retryAt: T + 10 }, T);
    expect(heard).toBe(2);
    await q.release(b!, T);
    expect(heard).toBe(3);
    const [c] = await q.claim(req(T + 10));
    await q.fail(c!, "x", { status: "dead_letter" }, T + 10);
    await q.retry(c!.jobId, T + 11);
    expect(heard).toBe(4);
    off();
    await q.enqueue([makeJob()]);
    expect(heard).toBe(4);
  });

  test("a repeated idempotency key does not notify", async () => {
    const q = new MemoryJobQueue();
    await q.enqueue([makeJob({ idempotencyKey: "k" })]);
    let heard = 0;
    q.subscribe(() => heard++);
    await q.enqueue([makeJob({ idempotencyKey: "k" })]);
    expect(heard).toBe(0);
  });

  test("a closed queue refuses enqueue and claim with a StorageError", async () => {
    const q = new MemoryJobQueue();
    await q.close();
    await expect(q.enqueue([makeJob()])).rejects.toBeInstanceOf(StorageError);
    await expect(q.claim(req(T))).rejects.toBeInstanceOf(StorageError);
  });
});

test("a handler cannot change the stored payload that a retry will see", async () => {
  const queue = new MemoryJobQueue();
  const service = new JobService({ queue });
  const seen: unknown[] = [];
  const handler: JobHandler<{ items: number[] }> = {
    jobType: "mutate",
    async handle(job) {
      seen.push(structuredClone(job.payload));
      job.payload.items.push(99); // throws: the stored payload is frozen
      return { success: true };
    },
  };
  const worker = new WorkerManager({ queue, handlers: [handler], logger: silentLogger, backoff: { baseMs: 1, jitter: false } });
  const job = await service.createJob("mutate", { items: [1] }, { maxRetries: 1 });
  await worker.start();
  await expect.poll(async () => (await service.getJob(job.id))?.status).toBe(JobStatus.DEAD_LETTER);
  await worker.stop();
  expect(seen).toEqual([{ items: [1] }, { items: [1] }]);
  expect((await service.getJob(job.id))?.payload).toEqual({ items: [1] });
});

test("the stored result is a detached copy: changing the handler's object or a read copy changes nothing", async () => {
  const q = new MemoryJobQueue();
  const job = makeJob();
  await q.enqueue([job]);
  const [c] = await q.claim(req(T));
  const result = { rows: [1, 2], at: new Date(T) };
  expect(await q.complete(c!, result, T + 1)).toBe(true);
  result.rows.push(3);
  const read = await q.get(job.id);
  // Stored as JSON stores it (a Date becomes its ISO string), and frozen.
  expect(read?.result).toEqual({ rows: [1, 2], at: new Date(T).toISOString() });
  expect(() => ((read!.result as { rows: number[] }).rows as number[]).push(4)).toThrow(TypeError);
  expect((await q.get(job.id))?.result).toEqual({ rows: [1, 2], at: new Date(T).toISOString() });
});

test("Dates are never shared between the caller, the stored job and other readers", async () => {
  const q = new MemoryJobQueue();
  const job = makeJob();
  await q.enqueue([job]);
  job.createdAt.setTime(0); // the caller's object
  const a = await q.get(job.id);
  expect(a?.createdAt.getTime()).toBe(T);
  a!.runAt.setTime(1); // one reader's copy
  const [c] = await q.claim(req(T));
  expect(c?.job.runAt.getTime()).toBe(T);
  c!.job.startedAt!.setTime(2);
  expect((await q.get(job.id))?.startedAt?.getTime()).toBe(T);
});
