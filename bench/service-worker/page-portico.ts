/** The portico side's page: enqueues items into the shared IndexedDB queue (asking for a sync), and can run a tab worker. */
import { JobService, WorkerManager, silentLogger, type JobHandler } from "../../src/core/index.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { requestJobSync } from "../../runtimes/service-worker/index.ts";
import { PORTICO_DB, type BenchItem } from "./shared.ts";

const send: JobHandler<BenchItem> = {
  jobType: "send",
  async handle(job, { signal }) {
    const res = await fetch("/sink", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(job.payload), signal });
    if (res.status >= 500) throw new Error(`sink answered ${res.status}`);
    return { success: true };
  },
};

const queue = new IndexedDBJobQueue({ dbName: PORTICO_DB, onEnqueue: () => requestJobSync() });
const jobs = new JobService({ queue, handlers: [send] });
const concurrency = new URLSearchParams(location.search).get("concurrency") ?? "4";
const debug = new URLSearchParams(location.search).has("debug") ? "&debug" : "";
await navigator.serviceWorker.register(`/portico/sw.js?concurrency=${concurrency}${debug}`, { scope: "/portico/" });
await navigator.serviceWorker.ready;

window.bench = {
  async enqueue(items: BenchItem[]) {
    for (let i = 0; i < items.length; i += 100) {
      await jobs.createJobs(items.slice(i, i + 100).map((payload) => ({ jobType: "send", payload, options: { priority: payload.urgent ? 10 : 0, maxRetries: 10 } })));
    }
  },
  async startTabWorker() {
    const worker = new WorkerManager({ queue, handlers: [send], concurrency: 4, leaseMs: 5_000, backoff: { baseMs: 200, maxMs: 1_000 }, logger: silentLogger });
    // Like the example: the tab's worker runs while online.
    if (navigator.onLine) await worker.start();
    else window.addEventListener("online", () => void worker.start(), { once: true });
  },
};

declare global {
  interface Window {
    bench: { enqueue(items: BenchItem[]): Promise<void>; startTabWorker(): Promise<void> };
  }
}
