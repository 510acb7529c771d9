/** Events a WorkerManager dispatches on itself (it is an EventTarget). */
import type { Job } from "./job.ts";

/** Names of the job lifecycle events. */
export const JobEventType = {
  STARTED: "job:started",
  COMPLETED: "job:completed",
  RETRYING: "job:retrying",
  FAILED: "job:failed",
  DEAD_LETTER: "job:dead_letter",
  /** The worker lost the job's lease; another worker may run it again. */
  LEASE_LOST: "job:lease_lost",
} as const;

export type JobEventType = (typeof JobEventType)[keyof typeof JobEventType];

/** A job lifecycle event; `job` is the job as the worker saw it when the event happened. */
export class JobEvent extends Event {
  readonly job: Job;
  readonly error: Error | null;
  readonly result: unknown;
  constructor(type: JobEventType, init: { job: Job; error?: Error | null; result?: unknown }) {
    super(type);
    this.job = init.job;
    this.error = init.error ?? null;
    this.result = init.result;
  }
}
