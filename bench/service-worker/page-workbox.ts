/**
 * The Workbox side's page: POSTs items (its service worker queues them while offline), and can
 * replay the same queue from the tab, as Workbox's fallback for browsers without Background Sync.
 */
import { Queue } from "workbox-background-sync";
import { WORKBOX_QUEUE, type BenchItem } from "./shared.ts";

await navigator.serviceWorker.register("/workbox/sw.js", { scope: "/workbox/" });
await navigator.serviceWorker.ready;
// The fetch handler only sees requests of a page it controls.
if (!navigator.serviceWorker.controller) await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));

window.bench = {
  async enqueue(items: BenchItem[]) {
    // One by one, in order: each POST fails offline and the worker's fetch handler queues it.
    for (const item of items) await fetch("/sink", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(item) });
  },
  async startTabWorker() {
    // Queue reads self.registration at construction; a page has none, so it gets an empty one
    // (no sync API: Queue's fallback mode, replayRequests called by hand).
    if (!("registration" in self)) Object.defineProperty(self, "registration", { value: {}, configurable: true });
    const queue = new Queue(WORKBOX_QUEUE);
    const replay = () => void queue.replayRequests().catch(() => undefined);
    if (navigator.onLine) replay();
    else window.addEventListener("online", replay, { once: true });
  },
};

declare global {
  interface Window {
    bench: { enqueue(items: BenchItem[]): Promise<void>; startTabWorker(): Promise<void> };
  }
}
