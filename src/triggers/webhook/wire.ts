/** The job as returned by GET {prefix}/jobs/:id: snake_case like the request body. */
import type { Job } from "../../core/index.ts";

/** A job in the wire format (dates as ISO strings). */
export interface WireJob {
  id: string;
  queue_name: string;
  job_type: string;
  payload: unknown;
  priority: number;
  max_retries: number;
  retry_count: number;
  scheduled_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  failed_at: string | null;
  status: string;
  error_message: string | null;
  created_by: string | null;
  created_at: string;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
  result: unknown;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Converts a stored job to {@link WireJob}. */
export function toWireJob(job: Job): WireJob {
  return {
    id: job.id,
    queue_name: job.queueName,
    job_type: job.jobType,
    payload: job.payload,
    priority: job.priority,
    max_retries: job.maxRetries,
    retry_count: job.retryCount,
    scheduled_at: iso(job.scheduledAt),
    started_at: iso(job.startedAt),
    completed_at: iso(job.completedAt),
    failed_at: iso(job.failedAt),
    status: job.status,
    error_message: job.errorMessage,
    created_by: job.createdBy,
    created_at: job.createdAt.toISOString(),
    metadata: job.metadata,
    idempotency_key: job.idempotencyKey,
    result: job.result ?? null,
  };
}
