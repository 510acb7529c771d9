/** The driver conformance suite under Bun: UnstorageJobQueue on unstorage's memory driver. */
import { test } from "bun:test";
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

const create = (retention?: { maxCount: number; maxAgeMs: number }) =>
  Promise.resolve(new UnstorageJobQueue({ storage: createStorage({ driver: memoryDriver() }), retention, lockSettleMs: 0 }));

runQueueConformance({
  name: "unstorage(memory) on bun",
  test,
  createQueue: () => create(),
  createQueueWithRetention: (retention) => create(retention),
  operations: true,
});
