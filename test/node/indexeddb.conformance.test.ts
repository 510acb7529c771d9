// The driver conformance suite on fake-indexeddb (an in-memory IndexedDB for Node); the same
// suite runs in real Chromium from test/browser/.
import "fake-indexeddb/auto";
import { test } from "vitest";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

const fresh = (retention?: RetentionOptions) => new IndexedDBJobQueue({ dbName: `conformance-${crypto.randomUUID()}`, retention });

runQueueConformance({
  name: "indexeddb (fake-indexeddb)",
  test,
  operations: true,
  createQueue: async () => fresh(),
  createQueueWithRetention: async (retention) => fresh(retention),
  openSecondHandle: async (q) => new IndexedDBJobQueue({ dbName: (q as IndexedDBJobQueue).dbName }),
  disposeQueue: async (q: JobQueue) => q.close(),
});
