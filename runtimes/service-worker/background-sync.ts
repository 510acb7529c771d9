/**
 * The Background Sync and Periodic Background Sync members this runtime uses. They are not in
 * TypeScript's WebWorker or DOM libs (the specs are WICG drafts), and browsers without them
 * (Firefox, Safari) simply lack the `sync` / `periodicSync` properties, so every use is guarded.
 * @module
 */

/** Tag of the sync registration (and of the page's fallback message) by default. */
export const DEFAULT_SYNC_TAG = "portico-jobs";

/** `type` of the message a page posts to the worker to ask for a run when it has no Background Sync. */
export const RUN_JOBS_MESSAGE = "portico-jobs:run";

/** The message {@link RUN_JOBS_MESSAGE} carries. */
export interface RunJobsMessage {
  type: typeof RUN_JOBS_MESSAGE;
  tag: string;
}

/** `registration.sync` (Background Sync). */
export interface SyncManagerLike {
  register(tag: string): Promise<void>;
  getTags?(): Promise<string[]>;
}

/** `registration.periodicSync` (Periodic Background Sync; Chromium, for installed apps). */
export interface PeriodicSyncManagerLike {
  register(tag: string, options?: { minInterval?: number }): Promise<void>;
}

/** A registration as far as the sync APIs go. */
export interface SyncCapableRegistration {
  readonly sync?: SyncManagerLike;
  readonly periodicSync?: PeriodicSyncManagerLike;
}

/** The `sync` and `periodicsync` events: an ExtendableEvent with the registration's tag. */
export interface SyncEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
  readonly tag: string;
  /** True on the browser's last retry of a failed sync (Background Sync only). */
  readonly lastChance?: boolean;
}

/** The Background Sync manager of a registration, or null where the browser has none. */
export function syncManagerOf(registration: unknown): SyncManagerLike | null {
  const sync = (registration as SyncCapableRegistration | null | undefined)?.sync;
  return sync && typeof sync.register === "function" ? sync : null;
}

/** The Periodic Background Sync manager of a registration, or null where the browser has none. */
export function periodicSyncManagerOf(registration: unknown): PeriodicSyncManagerLike | null {
  const periodic = (registration as SyncCapableRegistration | null | undefined)?.periodicSync;
  return periodic && typeof periodic.register === "function" ? periodic : null;
}

/** True for a {@link RunJobsMessage} with this tag. */
export function isRunJobsMessage(data: unknown, tag: string): data is RunJobsMessage {
  return typeof data === "object" && data !== null && (data as RunJobsMessage).type === RUN_JOBS_MESSAGE && (data as RunJobsMessage).tag === tag;
}
