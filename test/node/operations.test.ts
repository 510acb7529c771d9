import { describe, expect, test } from "vitest";
import { JobCancelledError, JobService, JobWaitTimeoutError, WorkerManager, silentLogger, type JobEvent, type JobHandler, type JobQueue } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

function setup(handlers: JobHandler<any, any>[], queue: JobQueue = new MemoryJobQueue(), leaseMs = 60) {
  const jobService = new JobService({ queue });
  const worker = new WorkerManager({ queue, handlers, leaseMs, logger: silentLogger, pollIntervalMs: 20, queues: ["default", "other"] });
  return { queue, jobService, worker };
}

describe("operations through JobService and WorkerManager (memory store)", () => {
  test("waitForJob resolves with the result once a worker completes the job, and at once for a finished job", async () => {
    const { jobService, worker } = setup([{ jobType: "double", handle: async (job) => ({ success: true, resultData: (job.payload as { n: number }).n * 2 }) }]);
    const job = await jobService.createJob("double", { n: 21 });
    const waiting = jobService.waitForJob(job.id, { timeoutMs: 10_000 });
    await worker.start();
    try {
      const done = await waiting;
      expect(done.status).toBe("completed");
      expect(done.result).toBe(42);
      expect((await jobService.waitForJob(job.id)).result).toBe(42);
    } finally {
      await worker.stop();
    }
  });

  test("waitForJob rejects with JobWaitTimeoutError, with the signal's reason, and for an unknown job", async () => {
    const { jobService } = setup([]);
    const job = await jobService.createJob("nobody", {});
    await expect(jobService.waitForJob(job.id, { timeoutMs: 20 })).rejects.toBeInstanceOf(JobWaitTimeoutError);
    const controller = new AbortController();
    const waiting = jobService.waitForJob(job.id, { signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    await expect(waiting).rejects.toThrow("caller gave up");
    await expect(jobService.waitForJob("missing")).rejects.toMatchObject({ code: "job_not_found" });
  });

  test("handlers get their attempt and report progress (stored, evented); a second attempt counts 2", async () => {
    const seen: number[] = [];
    const { jobService, worker } = setup([
      {
        jobType: "steps",
        async handle(_job, context) {
          seen.push(context.attempt);
          await context.progress(50);
          await context.progress({ step: "half" });
          await expect(context.progress(Number.NaN)).rejects.toMatchObject({ code: "validation_failed" });
          if (context.attempt === 1) throw new Error("first attempt fails");
          return { success: true };
        },
      },
    ]);
    const events: JobEvent[] = [];
    worker.addEventListener("job:progress", (e) => events.push(e));
    const job = await jobService.createJob("steps", {}, { maxRetries: 1 });
    await worker.start();
    try {
      // The retry waits for its backoff; the job completes on attempt 2.
      const done = await jobService.waitForJob(job.id, { timeoutMs: 20_000 });
      expect(done.status).toBe("completed");
      expect(done.progress).toEqual({ step: "half" });
      expect(seen).toEqual([1, 2]);
      expect(events.map((e) => e.result)).toEqual([50, { step: "half" }, 50, { step: "half" }]);
    } finally {
      await worker.stop();
    }
  }, 30_000);

  test("cancelJob of a running job: CANCELLED at once, the handler's signal aborts with JobCancelledError, its result is refused", async () => {
    let reason: unknown = null;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const { jobService, worker } = setup([
      {
        jobType: "slow",
        handle: (_job, { signal }) =>
          new Promise((resolve) => {
            started();
            signal.addEventListener("abort", () => {
              reason = signal.reason;
              resolve({ success: true, resultData: "finished anyway" });
            });
          }),
      },
    ]);
    const cancelled: JobEvent[] = [];
    worker.addEventListener("job:cancelled", (e) => cancelled.push(e));
    const serviceEvents: string[] = [];
    jobService.addEventListener("job:cancelled", (e) => serviceEvents.push(e.type));
    const job = await jobService.createJob("slow", {});
    await worker.start();
    try {
      await running;
      expect(await jobService.cancelJob(job.id)).toBe(true);
      expect((await jobService.getJob(job.id))?.status).toBe("cancelled");
      expect(serviceEvents).toEqual(["job:cancelled"]);
      const finished = await jobService.waitForJob(job.id, { timeoutMs: 5_000 });
      expect(finished.status).toBe("cancelled");
      await expect.poll(() => cancelled.length).toBe(1);
      expect(reason).toBeInstanceOf(JobCancelledError);
      expect((await jobService.getJob(job.id))?.result).toBeNull();
    } finally {
      await worker.stop();
    }
  });

  test("a paused queue is not run by the worker, other queues are, and resume runs it", async () => {
    const ran: string[] = [];
    const { jobService, worker } = setup([{ jobType: "t", handle: async (job) => (ran.push(job.queueName), { success: true }) }]);
    const paused: string[] = [];
    jobService.addEventListener("queue:paused", (e) => paused.push((e as unknown as { queueName: string }).queueName));
    await jobService.pauseQueue("default");
    expect(paused).toEqual(["default"]);
    const held = await jobService.createJob("t", {});
    const other = await jobService.createJob("t", {}, { queueName: "other" });
    await worker.start();
    try {
      await jobService.waitForJob(other.id, { timeoutMs: 5_000 });
      expect((await jobService.getJob(held.id))?.status).toBe("pending");
      expect((await jobService.stats()).paused).toEqual(["default"]);
      await jobService.resumeQueue("default");
      expect((await jobService.waitForJob(held.id, { timeoutMs: 5_000 })).status).toBe("completed");
      expect(ran).toEqual(["other", "default"]);
    } finally {
      await worker.stop();
    }
  });

  test("bulk operations refuse an empty filter and a status they do not apply to", async () => {
    const { jobService } = setup([]);
    for (const op of ["retryJobs", "cancelJobs", "purgeJobs"] as const) {
      await expect(jobService[op]({})).rejects.toMatchObject({ code: "invalid_filter" });
    }
    await expect(jobService.purgeJobs({ status: "pending" })).rejects.toMatchObject({ code: "invalid_filter", field: "status" });
    await expect(jobService.retryJobs({ status: "completed" })).rejects.toMatchObject({ code: "invalid_filter" });
    await expect(jobService.cancelJobs({ queueName: "" })).rejects.toMatchObject({ code: "invalid_filter", field: "queueName" });
  });
});

describe("operations on the fs store (UnstorageJobQueue)", () => {
  test("a pause is stored: a reopened store still skips the queue; cancel of a running job and progress survive the reopen", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { createStorage } = await import("unstorage");
    const { default: fsDriver } = await import("unstorage/drivers/fs");
    const { UnstorageJobQueue } = await import("../../src/drivers/unstorage/index.ts");
    const dir = await mkdtemp(join(tmpdir(), "portico-ops-"));
    const open = () => new UnstorageJobQueue({ storage: createStorage({ driver: fsDriver({ base: dir }) }), lockSettleMs: 0 });
    try {
      const first = open();
      const service = new JobService({ queue: first });
      await service.pauseQueue("held");
      const held = await service.createJob("t", {}, { queueName: "held" });
      const run = await service.createJob("t", {});
      const [claim] = await first.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: Date.now() });
      expect(await first.progress(claim!, { rows: 10 }, Date.now())).toBe(true);
      expect(await service.cancelJob(run.id)).toBe(true);
      await first.close();
      const second = open();
      try {
        expect((await second.stats()).paused).toEqual(["held"]);
        expect(await second.claim({ queues: ["held"], limit: 1, leaseMs: 1_000, workerId: "w2", now: Date.now() })).toEqual([]);
        const cancelled = await second.get(run.id);
        expect(cancelled).toMatchObject({ status: "cancelled", progress: { rows: 10 } });
        expect(await second.extendLease(claim!, 1_000, Date.now())).toBe("cancelled");
        expect((await second.get(held.id))?.status).toBe("pending");
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
