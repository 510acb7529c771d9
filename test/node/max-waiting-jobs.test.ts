/**
 * JobService's maxWaitingJobs: creations past it fail with StorageFullError and write nothing,
 * on the memory and unstorage stores; the webhook answers 507 storage_full; a store that cannot
 * count its waiting jobs is refused at construction.
 */
import { expect, test } from "vitest";
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { JobService, PorticoError, StorageFullError, type JobQueue } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { startServer, TOKEN } from "./webhook-helpers.ts";

const stores: [string, () => JobQueue][] = [
  ["memory", () => new MemoryJobQueue()],
  ["unstorage", () => new UnstorageJobQueue({ storage: createStorage({ driver: memoryDriver() }), lockSettleMs: 5 })],
];

for (const [name, make] of stores) {
  test(`${name}: creations past maxWaitingJobs fail with StorageFullError and write nothing`, async () => {
    const queue = make();
    const service = new JobService({ queue, maxWaitingJobs: 3 });
    await service.createJob("t", { n: 1 });
    expect((await service.createJob("t", { n: 2 }, { delayMs: 60_000 })).status).toBe("scheduled");
    const error = await service.createJobs([{ jobType: "t", payload: { n: 3 } }, { jobType: "t", payload: { n: 4 } }]).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect(error).toBeInstanceOf(PorticoError);
    expect(error).toMatchObject({ code: "storage_full", limit: 3, waiting: 2 });
    expect((await queue.stats()).total).toBe(2);
    await service.createJob("t", { n: 3 });
    await expect(service.createJob("t", { n: 4 })).rejects.toBeInstanceOf(StorageFullError);
    expect((await queue.stats()).total).toBe(3);
    // A claimed job no longer waits, so there is room again.
    const [claimed] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: Date.now() });
    expect(claimed).toBeDefined();
    expect((await service.createJob("t", { n: 5 })).payload).toEqual({ n: 5 });
    await queue.close();
  });
}

test("maxWaitingJobs is refused on a store without countWaiting, and must be a positive integer", () => {
  const queue = new MemoryJobQueue();
  const blind = Object.create(queue, { countWaiting: { value: undefined } }) as JobQueue;
  expect(() => new JobService({ queue: blind, maxWaitingJobs: 5 })).toThrow(/maxWaitingJobs needs a store that counts/);
  expect(() => new JobService({ queue, maxWaitingJobs: 0 })).toThrow(/maxWaitingJobs must be a positive integer/);
  expect(() => new JobService({ queue: blind })).not.toThrow();
});

test("the webhook answers 507 storage_full when maxWaitingJobs is reached, and stores nothing", async () => {
  const server = await startServer({ auth: { bearerToken: TOKEN } }, { maxWaitingJobs: 1 });
  try {
    const post = (n: number) =>
      fetch(server.jobs, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ job_type: "t", payload: { n } }),
      });
    expect((await post(1)).status).toBe(202);
    const full = await post(2);
    expect(full.status).toBe(507);
    expect(await full.json()).toMatchObject({ error: { code: "storage_full" } });
    expect(await server.count()).toBe(1);
  } finally {
    await server.close();
  }
});
