/**
 * UnstorageJobQueue: the queue port over any unstorage `Storage` (fs, Redis, KV...).
 *
 * unstorage has neither indexes nor transactions, so the queue keeps its index in memory (the
 * same heaps as the memory driver, loaded once at open with one getKeys and batched getItems) and
 * writes every change through to the store before the call returns: one key per job holding its
 * JSON record (./stored-job.ts), plus a `meta` key and an owner `lock` key (./owner-lock.ts).
 *
 * Because the index lives in one process, exactly one process may own a store at a time. The
 * owner holds a lock key with an expiry that a heartbeat keeps renewing. Another process opening
 * the same store gets a `StoreLockedError` (or waits up to `lockWaitMs` for the lock to
 * expire). When the owner dies, its lock expires, a new process takes over, and the jobs the dead
 * process was running become claimable again once their (persisted) leases expire.
 * @module
 */
export { UnstorageJobQueue, type UnstorageJobQueueOptions } from "./queue.ts";
