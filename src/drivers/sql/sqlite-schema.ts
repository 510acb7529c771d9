import { WAITING_SQL } from "./row-codec.ts";

/**
 * The SQLite dialect's schema, the same for a Durable Object's storage and a SQLite file. Each index exists for one query:
 * claim, the alarm / nextWakeAt, idempotency and retention each walk an index, never the table.
 */

/**
 * DDL applied once per object start or file open (every statement is idempotent, so it also upgrades objects
 * created by earlier versions in place: indexes that were dropped or redefined are removed by name
 * and the new ones built from the existing rows). `wake_at` is the column every scheduling query
 * reads: the due time while a job waits (always equal to `run_at` then), the lease expiry while it
 * runs, NULL once finished; a row is claimable when `wake_at <= now` (due jobs and expired leases alike).
 *
 * Four indexes, because every index is written on every state change and dominated the cost of a job:
 * - `jobs_ready`: waiting rows in claim order (priority, then age), so a claim stops after `limit`
 *   entries and never walks past running jobs.
 * - `jobs_wakeups`: every row with a wake time, grouped by queue and then by leased or not. It
 *   serves expired-lease claims (the leased half), a queue's next wake time (two index minima) and
 *   the alarm (the same per queue, over the distinct queues); it replaces the former `jobs_leases`,
 *   `jobs_wake` and `jobs_alarm`, which held the same entries three times.
 * - `jobs_idem`: unique idempotency keys per queue. `jobs_finished_plain` / `jobs_finished_keyed`:
 *   retention, oldest first, finished rows without and with an idempotency key (disjoint; they
 *   replace `jobs_finished`, so count pruning never walks the keyed rows the idempotency window keeps).
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
  finished_at INTEGER,
  flow TEXT, ckey TEXT, climit INTEGER, rkey TEXT, rlimit INTEGER, rperiod INTEGER, dkey TEXT, parked TEXT,
  progress TEXT, ctoken TEXT
);
DROP INDEX IF EXISTS jobs_claim;
DROP INDEX IF EXISTS jobs_leases;
DROP INDEX IF EXISTS jobs_wake;
DROP INDEX IF EXISTS jobs_alarm;
DROP INDEX IF EXISTS jobs_ready;
CREATE INDEX IF NOT EXISTS jobs_ready_plain ON jobs (queue, priority DESC, run_at, seq) WHERE token IS NULL AND wake_at IS NOT NULL AND ckey IS NULL AND rkey IS NULL;
CREATE INDEX IF NOT EXISTS jobs_ready_gated ON jobs (queue, priority DESC, run_at, seq) WHERE token IS NULL AND wake_at IS NOT NULL AND (ckey IS NOT NULL OR rkey IS NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_key_running ON jobs (ckey, wake_at) WHERE token IS NOT NULL AND ckey IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_parked ON jobs (parked, priority DESC, run_at, seq) WHERE parked IS NOT NULL AND token IS NULL AND wake_at IS NULL AND status IN ('pending','scheduled','retrying');
CREATE INDEX IF NOT EXISTS jobs_debounce ON jobs (queue, dkey) WHERE dkey IS NOT NULL AND token IS NULL AND status IN ('pending','scheduled','retrying');
CREATE TABLE IF NOT EXISTS flow_starts (rkey TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS flow_starts_key ON flow_starts (rkey, at);
CREATE TABLE IF NOT EXISTS flow_gates (gate TEXT PRIMARY KEY, queue TEXT NOT NULL, wake_at INTEGER NOT NULL, lim INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS flow_gates_wake ON flow_gates (wake_at);
CREATE TRIGGER IF NOT EXISTS jobs_slot_freed AFTER UPDATE OF token ON jobs
  WHEN OLD.token IS NOT NULL AND NEW.token IS NULL AND OLD.ckey IS NOT NULL AND NEW.parked IS NULL
BEGIN
  UPDATE jobs SET wake_at = run_at, parked = NULL WHERE seq = (SELECT seq FROM jobs INDEXED BY jobs_parked
    WHERE parked = 'c' || OLD.ckey AND token IS NULL AND wake_at IS NULL AND status IN ('pending','scheduled','retrying')
    ORDER BY priority DESC, run_at, seq LIMIT 1);
END;
CREATE INDEX IF NOT EXISTS jobs_wakeups ON jobs (queue, token IS NOT NULL, wake_at) WHERE wake_at IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs (queue, idem) WHERE idem IS NOT NULL;
DROP INDEX IF EXISTS jobs_finished;
CREATE INDEX IF NOT EXISTS jobs_finished_plain ON jobs (finished_at, seq) WHERE finished_at IS NOT NULL AND idem IS NULL;
CREATE INDEX IF NOT EXISTS jobs_finished_keyed ON jobs (finished_at, seq) WHERE finished_at IS NOT NULL AND idem IS NOT NULL;
CREATE TABLE IF NOT EXISTS portico_migrations (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS paused_queues (name TEXT PRIMARY KEY, paused_at INTEGER NOT NULL);
`;

/**
 * The flow-control columns (see row-codec.ts): `flow` the options as JSON, `ckey`/`climit` the
 * concurrency key and limit, `rkey`/`rlimit`/`rperiod` the rate limit, `dkey` the debounce key,
 * `parked` the gate ('c' or 'r' + key) a waiting job is parked on while its key is full (then
 * `wake_at` is NULL, so it is out of every claim index until a slot frees or the window moves).
 * Flow control is store-enforced: the trigger `jobs_slot_freed` unparks the best parked job of a
 * key in the same statement that frees one of its slots (complete, fail, release).
 */
export const FLOW_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ["flow", "TEXT"], ["ckey", "TEXT"], ["climit", "INTEGER"], ["rkey", "TEXT"], ["rlimit", "INTEGER"], ["rperiod", "INTEGER"], ["dkey", "TEXT"], ["parked", "TEXT"],
];

/**
 * The operations columns: `progress` the handler's last report (JSON text), `ctoken` the lease
 * token a RUNNING job had when it was cancelled (its holder's renewal then answers "cancelled").
 * `paused_queues` (in SCHEMA_SQL) holds the paused queue names; every claim looks its queue up
 * there by primary key. Added in place to tables made before, like {@link FLOW_COLUMNS}.
 */
export const OPS_COLUMNS: readonly (readonly [name: string, type: string])[] = [["progress", "TEXT"], ["ctoken", "TEXT"]];

/**
 * The waiting-jobs counter (countWaiting, JobService's maxWaitingJobs), installed by the first
 * countWaiting on a database and recorded in `portico_migrations` as `name`, in one transaction
 * with the first count, so no write falls in between. `job_counts.waiting` is then kept by
 * triggers inside the statement that changes a job, exact under every writer (another process,
 * an older version of this code), and read by primary key. It holds the jobs whose status is
 * PENDING, SCHEDULED or RETRYING (the memory store's meaning: paused queues and parked jobs
 * included, RUNNING jobs not, expired lease or not); the UPDATE trigger fires only when a
 * statement moves a job across that line (claim, retry, release, cancel), not on completions or
 * renewals. Installed on first use because each such write then also writes the counter's page
 * (bench/quota.ts measures it): a database that never counts never pays. Every statement is
 * idempotent, in case two processes install it at once.
 */
export const WAITING_COUNTER: { readonly name: string; readonly sql: string } = {
  name: "waiting-counter",
  sql: `
CREATE TABLE IF NOT EXISTS job_counts (id INTEGER PRIMARY KEY CHECK (id = 1), waiting INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS jobs_waiting_insert AFTER INSERT ON jobs WHEN NEW.status IN ${WAITING_SQL}
BEGIN UPDATE job_counts SET waiting = waiting + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS jobs_waiting_delete AFTER DELETE ON jobs WHEN OLD.status IN ${WAITING_SQL}
BEGIN UPDATE job_counts SET waiting = waiting - 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS jobs_waiting_update AFTER UPDATE OF status ON jobs WHEN (OLD.status IN ${WAITING_SQL}) <> (NEW.status IN ${WAITING_SQL})
BEGIN UPDATE job_counts SET waiting = waiting + (NEW.status IN ${WAITING_SQL}) - (OLD.status IN ${WAITING_SQL}) WHERE id = 1; END;
INSERT INTO job_counts (id, waiting) SELECT 1, count(*) FROM jobs WHERE status IN ${WAITING_SQL} ON CONFLICT (id) DO NOTHING;
`,
};

/**
 * One-time data migrations, in order, each recorded in `portico_migrations` once applied (in the
 * same transaction). A new object records them all without touching any row.
 */
export const DATA_MIGRATIONS: readonly { name: string; sql: string }[] = [
  {
    // attempts stopped counting released claims (and retryJob resets them): rows written before
    // keep only the attempts their failures account for (core's accountedAttempts, in SQL), so
    // old releases never look like lost leases.
    name: "attempts-exclude-releases",
    sql: "UPDATE jobs SET attempts = retry_count + (status = 'running') WHERE attempts > retry_count + (status = 'running')",
  },
];
