/**
 * A Job as plain JSON (dates as epoch ms), for drivers whose store only keeps JSON
 * (unstorage, SQL rows). Structured-clone stores (IndexedDB, memory) can keep Job as is.
 */
import type { Job, JobProgress, JobStatus } from "./job.ts";

/** The JSON form of a {@link Job}. */
export interface JobRecord {
  id: string;
  queueName: string;
  jobType: string;
  payload: unknown;
  priority: number;
  maxRetries: number;
  retryCount: number;
  scheduledAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  status: JobStatus;
  errorMessage: string | null;
  createdBy: string | null;
  createdAt: number;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  result: unknown;
  runAt: number;
  attempts: number;
  timeoutMs: number | null;
  /** Absent in records written before progress existed. */
  progress?: JobProgress | null;
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const date = (n: number | null): Date | null => (n === null || n === undefined ? null : new Date(n));

/** Job -> JSON record. */
export function toJobRecord(job: Job): JobRecord {
  return {
    ...job,
    scheduledAt: ms(job.scheduledAt),
    startedAt: ms(job.startedAt),
    completedAt: ms(job.completedAt),
    failedAt: ms(job.failedAt),
    createdAt: job.createdAt.getTime(),
    runAt: job.runAt.getTime(),
  };
}

/** JSON record -> Job. */
export function fromJobRecord(record: JobRecord): Job {
  return {
    ...record,
    scheduledAt: date(record.scheduledAt),
    startedAt: date(record.startedAt),
    completedAt: date(record.completedAt),
    failedAt: date(record.failedAt),
    createdAt: new Date(record.createdAt),
    runAt: new Date(record.runAt),
    progress: record.progress ?? null,
  };
}
