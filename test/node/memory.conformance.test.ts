import { test } from "vitest";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { defineQueueConformance } from "../conformance/suite.ts";

defineQueueConformance({
  name: "memory",
  test,
  createQueue: async () => new MemoryJobQueue(),
  createQueueWithRetention: async (retention) => new MemoryJobQueue({ retention }),
});
