import { test } from "vitest";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

runQueueConformance({
  name: "memory",
  test,
  createQueue: async () => new MemoryJobQueue(),
  createQueueWithRetention: async (retention) => new MemoryJobQueue({ retention }),
  operations: true,
});
