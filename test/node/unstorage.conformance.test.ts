/** The driver conformance suite against UnstorageJobQueue on unstorage's memory and fs drivers. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "vitest";
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import memoryDriver from "unstorage/drivers/memory";
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

// One store has one owner, so the suite's "two handles on one store" checks do not apply:
// a second handle is refused with StoreLockedError (see unstorage.test.ts).
const memoryQueue = async (retention?: RetentionOptions): Promise<JobQueue> =>
  new UnstorageJobQueue({ storage: createStorage({ driver: memoryDriver() }), retention, lockSettleMs: 0 });

runQueueConformance({
  name: "unstorage(memory)",
  test,
  createQueue: () => memoryQueue(),
  createQueueWithRetention: (retention) => memoryQueue(retention),
  operations: true,
});

const dirs = new Map<JobQueue, string>();
const fsQueue = async (retention?: RetentionOptions): Promise<JobQueue> => {
  const dir = await mkdtemp(join(tmpdir(), "portico-conformance-"));
  const queue = new UnstorageJobQueue({ storage: createStorage({ driver: fsDriver({ base: dir }) }), retention, lockSettleMs: 0 });
  dirs.set(queue, dir);
  return queue;
};

runQueueConformance({
  name: "unstorage(fs)",
  test,
  createQueue: () => fsQueue(),
  createQueueWithRetention: (retention) => fsQueue(retention),
  operations: true,
  disposeQueue: async (queue) => {
    await queue.close();
    const dir = dirs.get(queue);
    dirs.delete(queue);
    if (dir) await rm(dir, { recursive: true, force: true });
  },
});
