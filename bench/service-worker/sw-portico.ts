/**
 * The portico side's service worker: startServiceWorkerJobs over the page's IndexedDB queue.
 * ?concurrency=n sets the worker's concurrency.
 */
/// <reference lib="webworker" />
import type { JobHandler } from "../../src/core/index.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { startServiceWorkerJobs } from "../../runtimes/service-worker/index.ts";
import { PORTICO_DB, type BenchItem } from "./shared.ts";

const scope = self as unknown as ServiceWorkerGlobalScope;
scope.addEventListener("install", () => void scope.skipWaiting());
scope.addEventListener("activate", (event) => event.waitUntil(scope.clients.claim()));

/** POSTs the item; a 5xx or a network error is a failure, retried with backoff. */
const send: JobHandler<BenchItem> = {
  jobType: "send",
  async handle(job, { signal }) {
    const res = await fetch("/sink", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(job.payload), signal });
    if (res.status >= 500) throw new Error(`sink answered ${res.status}`);
    return { success: true };
  },
};

const concurrency = Number(new URL(location.href).searchParams.get("concurrency")) || 4;
startServiceWorkerJobs({
  handlers: [send],
  queue: new IndexedDBJobQueue({ dbName: PORTICO_DB }),
  concurrency,
  leaseMs: 5_000,
  backoff: { baseMs: 200, maxMs: 1_000 },
  // The default logger (JSON lines on the console) with ?debug.
  ...(!new URL(location.href).searchParams.has("debug") && { logger: { debug() {}, info() {}, warn() {}, error() {} } }),
});
