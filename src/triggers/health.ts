/** Health counters shared by the triggers (the seed's health example, snake_case on the wire). */

/** A trigger's health, as served by GET {prefix}/health. */
export interface TriggerHealth {
  is_running: boolean;
  /** Jobs this trigger created (duplicates of an existing job are not counted). */
  jobs_created: number;
  /** Requests or ticks that ended without a job: rejected input, failed creation. */
  errors: number;
  /** ISO time of the last created job, or null. */
  last_job_created: string | null;
}

/** Mutable counters behind {@link TriggerHealth}. */
export class HealthCounters {
  jobsCreated = 0;
  errors = 0;
  lastJobCreated: number | null = null;

  created(now: number): void {
    this.jobsCreated++;
    this.lastJobCreated = now;
  }

  failed(): void {
    this.errors++;
  }

  snapshot(isRunning: boolean): TriggerHealth {
    return {
      is_running: isRunning,
      jobs_created: this.jobsCreated,
      errors: this.errors,
      last_job_created: this.lastJobCreated === null ? null : new Date(this.lastJobCreated).toISOString(),
    };
  }
}
