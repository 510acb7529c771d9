/**
 * The SQLite schema of one job-queue Durable Object. Each index exists for one query:
 * claim, the alarm / nextWakeAt, idempotency and retention each walk an index, never the table.
 */

/**
 * DDL applied once per object start (every statement is idempotent). `wake_at` is the column
 * every scheduling query reads: the due time while a job waits, the lease expiry while it runs,
 * NULL once finished; a row is claimable when `wake_at <= now` (due jobs and expired leases alike).
 * Waiting rows (no token) and leased rows (a token) have separate indexes, so a claim never
 * walks past jobs that are running.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  queue TEXT NOT NULL,
  job_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  priority INTEGER NOT NULL,
  max_retries INTEGER NOT NULL,
  retry_count INTEGER NOT NULL,
  scheduled_at INTEGER,
  started_at INTEGER,
  completed_at INTEGER,
  failed_at INTEGER,
  status TEXT NOT NULL,
  error_message TEXT,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  idem TEXT,
  result TEXT,
  run_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  timeout_ms INTEGER,
  token TEXT,
  wake_at INTEGER,
  finished_at INTEGER
);
DROP INDEX IF EXISTS jobs_claim;
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (queue, priority DESC, run_at, seq) WHERE token IS NULL AND wake_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_leases ON jobs (queue, wake_at) WHERE token IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_wake ON jobs (queue, wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_alarm ON jobs (wake_at) WHERE wake_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs (queue, idem) WHERE idem IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_at, seq) WHERE finished_at IS NOT NULL;
`;

