/**
 * Service worker of the offline-first example.
 *
 * Always: keeps a copy of the page and its script so the page loads (and reloads) while
 * offline. Network first, so a deploy is picked up at once when online; the cached copy answers
 * when the network does not. Job POSTs are not touched by the fetch handler.
 *
 * In service-worker mode (registered as /sw.js?mode=sw&...): also runs the queue's jobs with
 * portico-jobs/service-worker, on Background Sync (so items created offline are sent once the
 * browser is back online, even with every tab closed), on a page's message and on activation.
 * The page's tabs keep running jobs too; IndexedDB leases keep any job from running twice.
 */
/// <reference lib="webworker" />
import { startServiceWorkerJobs } from "portico-jobs/service-worker";
import { IndexedDBJobQueue } from "portico-jobs/indexeddb";
import { DB_NAME, readSettings, sendItemHandler } from "./send-item.ts";

const scope = self as unknown as ServiceWorkerGlobalScope;
const CACHE = "portico-offline-example-v1";
const SHELL = ["/", "/app.js"];
const params = new URL(location.href).searchParams;

scope.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => scope.skipWaiting()));
});

scope.addEventListener("activate", (event) => {
  event.waitUntil(scope.clients.claim());
});

scope.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then(async (response) => {
        if (response.ok) await (await caches.open(CACHE)).put(url.pathname, response.clone());
        return response;
      })
      .catch(async () => (await caches.match(url.pathname)) ?? Response.error()),
  );
});

if (params.get("mode") === "sw") {
  const settings = readSettings(params);
  // Names each wake-up (this worker instance and its count of events), so the server's log shows
  // which event delivered what: a restart of the worker starts a new instance.
  const instance = crypto.randomUUID().slice(0, 8);
  let wakeups = 0;
  for (const type of ["sync", "periodicsync", "message", "activate"]) scope.addEventListener(type, () => void wakeups++);
  const claimMs = Number(params.get("syncBudget"));
  startServiceWorkerJobs({
    handlers: [sendItemHandler("service-worker", { runLabel: () => `${instance}#${wakeups}` })],
    queue: new IndexedDBJobQueue({ dbName: DB_NAME }),
    concurrency: 2,
    leaseMs: settings.leaseMs,
    backoff: { baseMs: settings.backoffMs, maxMs: 15_000 },
    // ?syncBudget=ms shortens a sync run (the tests use it to spread retries over several events).
    ...(claimMs > 0 && { budgets: { sync: { claimMs, graceMs: 5_000 } } }),
  });
}
