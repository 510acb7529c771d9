/** The shared runner rules (test/shared/runner-rules.ts) against WorkerManager on a memory queue. */
import { JobEventType, WorkerManager, type JobEvent } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { runnerRules } from "../shared/runner-rules.ts";

runnerRules("WorkerManager", {
  async start({ handlers, logger, events, backoff }) {
    const queue = new MemoryJobQueue();
    const worker = new WorkerManager({ queue, handlers, logger, backoff, concurrency: 4, pollIntervalMs: 5 });
    for (const type of Object.values(JobEventType)) worker.addEventListener(type, (e) => events(e as JobEvent));
    await worker.start();
    return {
      enqueue: async (job) => void (await queue.enqueue([job])),
      async settle(id, status) {
        // Bounded only so a broken build fails instead of hanging; no assertion depends on time.
        for (let i = 0; i < 1_000; i++) {
          const job = await queue.get(id);
          if (job?.status === status) return job;
          await new Promise((r) => setTimeout(r, 5));
        }
        throw new Error(`job ${id} never reached ${status}: ${JSON.stringify(await queue.get(id))}`);
      },
      stop: () => worker.stop(),
    };
  },
});
