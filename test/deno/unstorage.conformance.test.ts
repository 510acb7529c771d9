/** The driver conformance suite under Deno: UnstorageJobQueue on unstorage's memory driver. */
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

const create = (retention?: { maxCount: number; maxAgeMs: number }) =>
  Promise.resolve(new UnstorageJobQueue({ storage: createStorage({ driver: memoryDriver() }), retention, lockSettleMs: 0 }));

runQueueConformance({
  name: "unstorage(memory) on deno",
  test: (name, fn) => Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true }),
  createQueue: () => create(),
  createQueueWithRetention: (retention) => create(retention),
  operations: true,
});
