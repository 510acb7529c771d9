/**
 * The page side of portico-jobs/service-worker: ask the service worker to run due jobs. Safe to
 * import in a page (it touches only `navigator.serviceWorker`, and only when called).
 * @module
 */
import { DEFAULT_SYNC_TAG, RUN_JOBS_MESSAGE, syncManagerOf, type RunJobsMessage } from "./background-sync.ts";

/**
 * Asks the service worker to run the due jobs of the shared IndexedDB queue: a Background Sync
 * registration where the browser has it (so the run happens once the browser is online, even
 * after every tab is closed), otherwise a message to the active worker (which runs them now,
 * for about 25 seconds). Without a service worker it does nothing: the page's own
 * WorkerManager keeps running the jobs, as without this module.
 *
 * Never rejects: asking is best effort, the jobs are already safe in IndexedDB.
 *
 * @param registration the worker's registration (default: the one controlling this page's scope)
 * @param tag the sync tag given to `startServiceWorkerJobs` (default "portico-jobs")
 *
 * @example
 * ```ts
 * const queue = new IndexedDBJobQueue({ onEnqueue: () => requestJobSync() });
 * ```
 */
export async function requestJobSync(registration?: ServiceWorkerRegistration, tag: string = DEFAULT_SYNC_TAG): Promise<void> {
  try {
    const reg = registration ?? (await globalThis.navigator?.serviceWorker?.getRegistration());
    if (!reg) return;
    const sync = syncManagerOf(reg);
    if (sync) {
      try {
        await sync.register(tag);
        return;
      } catch {
        // Denied (a permission policy, an embedder): fall back to the message.
      }
    }
    const message: RunJobsMessage = { type: RUN_JOBS_MESSAGE, tag };
    reg.active?.postMessage(message);
  } catch {
    // No service worker support or an insecure context: the page runs its jobs itself.
  }
}

/** True when `registration` (default: this page's) can be woken by Background Sync with no tab open. */
export async function hasBackgroundSync(registration?: ServiceWorkerRegistration): Promise<boolean> {
  try {
    const reg = registration ?? (await globalThis.navigator?.serviceWorker?.getRegistration());
    return syncManagerOf(reg) !== null;
  } catch {
    return false;
  }
}
