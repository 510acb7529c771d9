/**
 * The PostgreSQL dialect's schema: versioned migrations, applied in order on open under one
 * advisory lock (see src/drivers/postgres/). The layout mirrors the SQLite dialect's
 * (sqlite-schema.ts): times are epoch ms, payload, metadata and result JSON text (text keeps a
 * payload exactly as written, `\u0000` included, which jsonb refuses), and `wake_at` is the due
 * time while a job waits, the lease expiry while it runs, NULL once finished. Each index is for
 * one query, and every index is written on each state change, so there are no others:
 * - `jobs_ready`: waiting rows in claim order; a claim stops after `limit` entries.
 * - `jobs_waiting` / `jobs_leases`: waiting rows and leased rows by wake time (disjoint, so each
 *   row is in at most one): nextWakeAt's two minima per queue, and expired leases for claims.
 * - `jobs_idem`: unique idempotency keys per queue. `jobs_finished`: retention, oldest first.
 */

/** A migration: `sql(schema)` gets the quoted schema name. */
export interface PgMigration {
  version: number;
  sql: (schema: string) => string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    sql: (s) => `
CREATE TABLE ${s}.jobs (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL UNIQUE,
  queue text NOT NULL,
  job_type text NOT NULL,
  payload text NOT NULL,
  priority bigint NOT NULL,
  max_retries bigint NOT NULL,
  retry_count bigint NOT NULL,
  scheduled_at bigint,
  started_at bigint,
  completed_at bigint,
  failed_at bigint,
  status text NOT NULL,
  error_message text,
  created_by text,
  created_at bigint NOT NULL,
  metadata text NOT NULL,
  idem text,
  result text,
  run_at bigint NOT NULL,
  attempts bigint NOT NULL,
  timeout_ms bigint,
  token text,
  wake_at bigint,
  finished_at bigint
);
CREATE INDEX jobs_ready ON ${s}.jobs (queue, priority DESC, run_at, seq) WHERE token IS NULL AND wake_at IS NOT NULL;
CREATE INDEX jobs_waiting ON ${s}.jobs (queue, wake_at) WHERE token IS NULL AND wake_at IS NOT NULL;
CREATE INDEX jobs_leases ON ${s}.jobs (queue, wake_at) WHERE token IS NOT NULL;
CREATE UNIQUE INDEX jobs_idem ON ${s}.jobs (queue, idem) WHERE idem IS NOT NULL;
CREATE INDEX jobs_finished ON ${s}.jobs (finished_at, seq) WHERE finished_at IS NOT NULL;
`,
  },
];

/** The newest schema version this code knows. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

/** The version table, created before anything else. */
export const pgVersionTable = (s: string) =>
  `CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`;

/** A schema name as a quoted identifier. */
export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
