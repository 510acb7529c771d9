/** Misbehaving collaborators (loggers, payloads in errors) must not take a worker down. */
import { expect, test } from "vitest";
import { JobService, JobStatus, WorkerManager, createJsonLogger, type JobHandler, type Logger } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

test("the JSON logger never throws: BigInt and cyclic fields still produce a line", () => {
  const lines: string[] = [];
  const log = createJsonLogger({ level: "debug", write: (l) => lines.push(l) });
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  expect(() => log.error("job.on_failure_error", { jobId: "j1", error: { amount: 10n } })).not.toThrow();
  expect(() => log.warn("odd.fields", { jobId: "j2", cyclic })).not.toThrow();
  expect(lines).toHaveLength(2);
  const [a, b] = lines.map((l) => JSON.parse(l));
  expect(a).toMatchObject({ level: "error", event: "job.on_failure_error", jobId: "j1", error: { amount: "10" } });
  expect(b).toMatchObject({ level: "warn", event: "odd.fields" });
});

test("a throwing logger does not stop jobs from completing or failing", async () => {
  const queue = new MemoryJobQueue();
  const service = new JobService({ queue });
  const boom = () => {
    throw new Error("logger is broken");
  };
  const logger: Logger = { debug: boom, info: boom, warn: boom, error: boom };
  const handler: JobHandler<{ ok: boolean }> = {
    jobType: "t",
    handle: async (job) => (job.payload.ok ? { success: true } : { success: false, retryable: false, error: new Error("no") }),
    onFailure: async () => {
      throw new Error("hook broke too");
    },
  };
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on("unhandledRejection", onRejection);
  const worker = new WorkerManager({ queue, handlers: [handler], logger, backoff: { baseMs: 1 } });
  try {
    const good = await service.createJob("t", { ok: true });
    const bad = await service.createJob("t", { ok: false });
    await worker.start();
    for (;;) {
      const [g, b] = await Promise.all([service.getJob(good.id), service.getJob(bad.id)]);
      if (g?.status === JobStatus.COMPLETED && b?.status === JobStatus.FAILED) break;
      await sleep(2);
    }
    // The worker keeps serving after the logger threw.
    const later = await service.createJob("t", { ok: true });
    while ((await service.getJob(later.id))?.status !== JobStatus.COMPLETED) await sleep(2);
    await sleep(10);
  } finally {
    await worker.stop().catch(() => {});
    process.off("unhandledRejection", onRejection);
  }
  expect(rejections).toEqual([]);
});
