/**
 * The Workbox side's service worker, as Workbox's docs set it up: a fetch handler that sends
 * each POST to /sink and, when the network fails, stores it in a workbox-background-sync Queue,
 * which replays it on the queue's sync event.
 */
/// <reference lib="webworker" />
import { Queue } from "workbox-background-sync";
import { WORKBOX_QUEUE } from "./shared.ts";

const scope = self as unknown as ServiceWorkerGlobalScope;
scope.addEventListener("install", () => void scope.skipWaiting());
scope.addEventListener("activate", (event) => event.waitUntil(scope.clients.claim()));

const queue = new Queue(WORKBOX_QUEUE);

scope.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "POST" || url.pathname !== "/sink") return;
  const copy = event.request.clone();
  event.respondWith(
    fetch(event.request).catch(async () => {
      await queue.pushRequest({ request: copy });
      return new Response(JSON.stringify({ queued: true }), { status: 202, headers: { "content-type": "application/json" } });
    }),
  );
});
