/** The driver conformance suite against DurableObjectJobQueue, inside workerd. */
import { env } from "cloudflare:test";
import { test } from "vitest";
import { DurableObjectJobQueue } from "../../src/drivers/durable-object/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

// Each queue gets a fresh name prefix, hence its own objects: an empty, isolated store.
const fresh = (extra: Partial<ConstructorParameters<typeof DurableObjectJobQueue>[0]> = {}) =>
  new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: `conf-${crypto.randomUUID()}`, ...extra });

// One object per queue (the default sharding), plus the directory object.
runQueueConformance({
  name: "durable-object (object per queue)",
  test,
  createQueue: async () => fresh(),
  operations: true,
  openSecondHandle: async (q) => new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: (q as DurableObjectJobQueue).name }),
  createQueueWithRetention: async (retention) => fresh({ retention }),
});

// Every queue in one object (a fixed shard key).
runQueueConformance({
  name: "durable-object (single shard)",
  test,
  createQueue: async () => fresh({ shardKey: "all" }),
  operations: true,
  createQueueWithRetention: async (retention) => fresh({ shardKey: "all", retention }),
});
