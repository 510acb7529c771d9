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
 *   From version 5 jobs_waiting's predicate bounds wake_at from below ({@link WAITING_WAKE}), which
 *   the claim's WHERE does not imply, so the planner cannot pick it for the claim (see version 5).
 * - `jobs_idem`: unique idempotency keys per queue. `jobs_finished` (from version 4 `jobs_finished_plain`
 *   and `jobs_finished_keyed`, finished rows without and with an idempotency key): retention, oldest first.
 */

/**
 * jobs_waiting's predicate on the wake time, in the index and in every query that reads the index:
 * true for each time a Job can hold (safe-integer epoch ms, before 1970 too), yet not implied by the
 * claim's `wake_at IS NOT NULL`. Changing it needs a new migration.
 */
export const WAITING_WAKE = "wake_at >= -9007199254740991";

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
  {
    // Flow control (see the SQLite dialect's sqlite-schema.ts for the columns and the parking
    // scheme): plain rows and gated rows are claimed from separate indexes, and freeing a key's
    // slot unparks its best waiting job in the same statement (the trigger).
    version: 2,
    sql: (s) => `
ALTER TABLE ${s}.jobs ADD COLUMN flow text, ADD COLUMN ckey text, ADD COLUMN climit bigint, ADD COLUMN rkey text, ADD COLUMN rlimit bigint,
  ADD COLUMN rperiod bigint, ADD COLUMN dkey text, ADD COLUMN parked text;
DROP INDEX ${s}.jobs_ready;
CREATE INDEX jobs_ready ON ${s}.jobs (queue, priority DESC, run_at, seq) WHERE token IS NULL AND wake_at IS NOT NULL AND ckey IS NULL AND rkey IS NULL;
CREATE INDEX jobs_ready_gated ON ${s}.jobs (queue, priority DESC, run_at, seq) WHERE token IS NULL AND wake_at IS NOT NULL AND (ckey IS NOT NULL OR rkey IS NOT NULL);
CREATE INDEX jobs_key_running ON ${s}.jobs (ckey, wake_at) WHERE token IS NOT NULL AND ckey IS NOT NULL;
CREATE INDEX jobs_parked ON ${s}.jobs (parked, priority DESC, run_at, seq) WHERE parked IS NOT NULL AND token IS NULL AND wake_at IS NULL AND status IN ('pending','scheduled','retrying');
CREATE INDEX jobs_debounce ON ${s}.jobs (queue, dkey) WHERE dkey IS NOT NULL AND token IS NULL AND status IN ('pending','scheduled','retrying');
CREATE TABLE ${s}.flow_starts (rkey text NOT NULL, at bigint NOT NULL);
CREATE INDEX flow_starts_key ON ${s}.flow_starts (rkey, at);
CREATE TABLE ${s}.flow_gates (gate text PRIMARY KEY, queue text NOT NULL, wake_at bigint NOT NULL, lim bigint NOT NULL);
CREATE INDEX flow_gates_wake ON ${s}.flow_gates (wake_at);
CREATE TABLE ${s}.flow_used (used boolean PRIMARY KEY);
CREATE FUNCTION ${s}.jobs_slot_freed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  UPDATE ${s}.jobs SET wake_at = run_at, parked = NULL WHERE seq = (SELECT seq FROM ${s}.jobs
    WHERE parked = 'c' || OLD.ckey AND token IS NULL AND wake_at IS NULL AND status IN ('pending','scheduled','retrying')
    ORDER BY priority DESC, run_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED);
  RETURN NULL;
END $fn$;
CREATE TRIGGER jobs_slot_freed AFTER UPDATE OF token ON ${s}.jobs FOR EACH ROW
  WHEN (OLD.token IS NOT NULL AND NEW.token IS NULL AND OLD.ckey IS NOT NULL AND NEW.parked IS NULL) EXECUTE FUNCTION ${s}.jobs_slot_freed();
`,
  },
  {
    // Operations (see sqlite-schema.ts's OPS_COLUMNS): the handler's progress, the lease token a
    // cancel took from a RUNNING job (its holder's renewal answers "cancelled"), and the paused
    // queues, which every claim looks up by primary key.
    version: 3,
    sql: (s) => `
ALTER TABLE ${s}.jobs ADD COLUMN progress text, ADD COLUMN ctoken text;
CREATE TABLE ${s}.paused_queues (name text PRIMARY KEY, paused_at bigint NOT NULL);
`,
  },
  {
    // The idempotency window (see retention.ts): finished rows with and without a key get
    // disjoint partial indexes, so count pruning counts and walks only the unkeyed ones.
    version: 4,
    sql: (s) => `
DROP INDEX ${s}.jobs_finished;
CREATE INDEX jobs_finished_plain ON ${s}.jobs (finished_at, seq) WHERE finished_at IS NOT NULL AND idem IS NULL;
CREATE INDEX jobs_finished_keyed ON ${s}.jobs (finished_at, seq) WHERE finished_at IS NOT NULL AND idem IS NOT NULL;
`,
  },
  {
    // A plan for the claim that needs no statistics and no plan settings. Without statistics
    // (right after a bulk load) the planner guessed one waiting row and chose the narrower
    // jobs_waiting plus a sort of every waiting row over walking jobs_ready in claim order. Times
    // are epoch ms, never negative, so `wake_at >= 0` keeps every row jobs_waiting held, but the
    // claim's `wake_at IS NOT NULL` does not imply it: the index is nextWakeAt's alone.
    version: 5,
    sql: (s) => `
DROP INDEX ${s}.jobs_waiting;
CREATE INDEX jobs_waiting ON ${s}.jobs (queue, wake_at) WHERE token IS NULL AND wake_at >= 0;
`,
  },
  {
    // Version 5's `wake_at >= 0` left out jobs due before 1970 (a Job's runAt may be any date):
    // the claim took them, but nextWakeAt and countWaiting did not see them.
    version: 6,
    sql: (s) => `
DROP INDEX ${s}.jobs_waiting;
CREATE INDEX jobs_waiting ON ${s}.jobs (queue, wake_at) WHERE token IS NULL AND ${WAITING_WAKE};
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
