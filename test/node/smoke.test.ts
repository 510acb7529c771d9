import { expect, test } from "vitest";
import { JobService, WorkerManager, silentLogger, JobStatus, type JobHandler } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

test("a job created through JobService is run by a WorkerManager and completes", async () => {
  const queue = new MemoryJobQueue();
  const handler: JobHandler<{ n: number }, number> = {
    jobType: "double",
    async handle(job) {
      return { success: true, resultData: job.payload.n * 2 };
    },
  };
  const service = new JobService({ queue, handlers: [handler] });
  const worker = new WorkerManager({ queue, handlers: [handler], logger: silentLogger });
  await worker.start();
  const job = await service.createJob("double", { n: 21 });
  await expect.poll(async () => (await service.getJob(job.id))?.status).toBe(JobStatus.COMPLETED);
  expect((await service.getJob(job.id))?.result).toBe(42);
  await worker.stop();
});
