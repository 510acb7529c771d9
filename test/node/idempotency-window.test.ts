/**
 * The idempotency window (RetentionOptions.idempotencyWindowMs): a finished job with a key is
 * remembered after retention would otherwise remove it, on the stores built on JobIndex (memory,
 * unstorage). Time is passed in, never slept.
 */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { describe, expect, test } from "vitest";
import { JobService, type JobQueue, type RetentionOptions } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";

const T = Date.UTC(2100, 0, 1);
const HOUR = 3_600_000;
const stores: [string, (retention: RetentionOptions) => JobQueue][] = [
  ["memory", (retention) => new MemoryJobQueue({ retention })],
  ["unstorage", (retention) => new UnstorageJobQueue({ storage: createStorage({ driver: memoryDriver() }), retention })],
];

async function finish(queue: JobQueue, count: number, at: number, key?: (i: number) => string): Promise<string[]> {
  const service = new JobService({ queue, clock: () => at });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({
      jobType: "x",
      payload: { n: i + j },
      options: key ? { idempotencyKey: key(i + j) } : {},
    }));
    ids.push(...(await service.createJobs(batch)).map((j) => j.id));
    for (;;) {
      const claimed = await queue.claim({ queues: ["default"], limit: 500, leaseMs: 60_000, workerId: "w", now: at });
      if (claimed.length === 0) break;
      for (const c of claimed) await queue.complete(c, null, at);
    }
  }
  return ids;
}

describe.each(stores)("%s", (_name, open) => {
  test("a keyed job is still a duplicate after 2,000 later completions (maxCount 100); unkeyed ones are pruned", async () => {
    const queue = open({ maxCount: 100 });
    try {
      const service = new JobService({ queue, clock: () => T });
      const first = await service.createJob("x", { n: -1 }, { idempotencyKey: "sig-id:msg_1" });
      const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: T });
      await queue.complete(c!, "done", T);
      const later = await finish(queue, 2_000, T + 60_000);
      const replay = await new JobService({ queue, clock: () => T + 120_000 }).createJob("x", { n: -1 }, { idempotencyKey: "sig-id:msg_1" });
      expect(replay.id).toBe(first.id);
      expect((await queue.get(first.id))?.status).toBe("completed");
      // The count bound still holds for the jobs without a key.
      expect(await queue.get(later[0]!)).toBeNull();
      expect((await queue.stats()).byStatus.completed).toBeLessThanOrEqual(101 + 10);
    } finally {
      await queue.close();
    }
  });

  test("after the window the key is forgotten like any finished job; the window is configurable", async () => {
    const queue = open({ maxCount: 10, idempotencyWindowMs: HOUR });
    try {
      const keyed = await finish(queue, 50, T, (i) => `bearer:k${i}`);
      // Within the hour: all 50 keyed jobs kept although maxCount is 10.
      await finish(queue, 20, T + HOUR / 2);
      expect((await Promise.all(keyed.map((id) => queue.get(id)))).every((j) => j?.status === "completed")).toBe(true);
      // Past it, the next prune removes them; their keys create new jobs.
      await finish(queue, 1, T + HOUR + 1);
      expect(await queue.get(keyed[0]!)).toBeNull();
      const again = await new JobService({ queue, clock: () => T + HOUR + 2 }).createJob("x", {}, { idempotencyKey: "bearer:k0" });
      expect(again.id).not.toBe(keyed[0]);
      expect((await queue.stats()).byStatus.completed).toBeLessThanOrEqual(11);
    } finally {
      await queue.close();
    }
  });

  test("maxAgeMs shorter than the window keeps keyed jobs for the window, drops the others at maxAgeMs", async () => {
    const queue = open({ maxAgeMs: 60_000, idempotencyWindowMs: HOUR });
    try {
      const [keyed] = await finish(queue, 1, T, () => "k");
      const [plain] = await finish(queue, 1, T);
      await finish(queue, 1, T + 120_000);
      expect(await queue.get(plain!)).toBeNull();
      expect((await queue.get(keyed!))?.status).toBe("completed");
      await finish(queue, 1, T + HOUR + 1);
      expect(await queue.get(keyed!)).toBeNull();
    } finally {
      await queue.close();
    }
  });
});
