/**
 * Job fixtures for driver tests. Every time is derived from {@link BASE_TIME}, far in the future,
 * so that a driver that wrongly consults the wall clock (instead of the `now` it is given) never
 * sees a fixture lease expire or a fixture schedule fall due on its own.
 */
import type { Job } from "../../core/index.ts";

/** The suite's epoch: 2100-01-01T00:00:00Z. Tests pass `BASE_TIME + offset` as `now`. */
export const BASE_TIME: number = Date.UTC(2100, 0, 1);

/** A valid PENDING job in queue "default", created and due at {@link BASE_TIME}, with a unique id. */
export function makeJob(overrides: Partial<Job> = {}): Job {
  const createdAt = overrides.createdAt ?? new Date(BASE_TIME);
  return {
    id: crypto.randomUUID(),
    queueName: "default",
    jobType: "test.job",
    payload: { n: 1 },
    priority: 0,
    maxRetries: 3,
    retryCount: 0,
    scheduledAt: null,
    startedAt: null,
    completedAt: null,
    failedAt: null,
    status: "pending",
    errorMessage: null,
    createdBy: null,
    createdAt,
    metadata: {},
    idempotencyKey: null,
    result: null,
    runAt: overrides.runAt ?? overrides.scheduledAt ?? createdAt,
    attempts: 0,
    timeoutMs: null,
    progress: null,
    ...overrides,
  };
}

/** A SCHEDULED job due at `BASE_TIME + dueInMs`. */
export function makeScheduledJob(dueInMs: number, overrides: Partial<Job> = {}): Job {
  const at = new Date(BASE_TIME + dueInMs);
  return makeJob({ status: "scheduled", scheduledAt: at, runAt: at, ...overrides });
}
