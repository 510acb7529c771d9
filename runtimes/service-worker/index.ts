/**
 * portico-jobs/service-worker: browser jobs that outlive the tab. In the service worker's
 * script, {@link startServiceWorkerJobs} runs the shared IndexedDB queue's due jobs on `sync`,
 * `periodicsync`, `message` and `activate`; in a page, {@link requestJobSync} asks for such a run.
 * Tabs and the worker share the queue under IndexedDB leases, so a job never runs in both at once.
 * @module
 */
export {
  startServiceWorkerJobs,
  DEFAULT_RUN_BUDGETS,
  type RunBudget,
  type RunSummary,
  type RunTrigger,
  type ServiceWorkerJobs,
  type ServiceWorkerJobsOptions,
} from "./start.ts";
export { requestJobSync, hasBackgroundSync } from "./request-sync.ts";
export { DEFAULT_SYNC_TAG, RUN_JOBS_MESSAGE, type RunJobsMessage } from "./background-sync.ts";
