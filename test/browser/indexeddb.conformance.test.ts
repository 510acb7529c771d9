// The driver conformance suite on real IndexedDB in Chromium. The second handle is a second
// IndexedDBJobQueue (its own connection) on the same database, as a second tab would open.
import { test } from "vitest";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { runQueueConformance } from "../../src/testing/index.ts";
import { deleteDatabase } from "./helpers.ts";

const fresh = (retention?: RetentionOptions) => new IndexedDBJobQueue({ dbName: `conformance-${crypto.randomUUID()}`, retention });

runQueueConformance({
  name: "indexeddb (chromium)",
  test,
  operations: true,
  createQueue: async () => fresh(),
  createQueueWithRetention: async (retention) => fresh(retention),
  openSecondHandle: async (q) => new IndexedDBJobQueue({ dbName: (q as IndexedDBJobQueue).dbName }),
  disposeQueue: async (q: JobQueue) => {
    await q.close();
    await deleteDatabase((q as IndexedDBJobQueue).dbName);
  },
});
