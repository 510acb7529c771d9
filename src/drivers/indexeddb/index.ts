/**
 * IndexedDBJobQueue: the queue port on the browser's IndexedDB (through idb), so jobs survive
 * reloads, offline periods and closed tabs, and every tab of an origin shares one queue.
 *
 * Every mutating call is ONE readwrite transaction that awaits nothing but IndexedDB requests.
 * IndexedDB runs readwrite transactions over the same store one after another, across tabs,
 * so a claim's read-then-write can never interleave with another tab's claim: two tabs never
 * hold the same job. Claim, enqueue's idempotency check and nextWakeAt are indexed range reads
 * (see ./schema.ts); nothing scans or sorts the whole queue.
 * @module
 */
export { IndexedDBJobQueue, type IndexedDBJobQueueOptions } from "./queue.ts";
export { SCHEMA_VERSION } from "./schema.ts";
