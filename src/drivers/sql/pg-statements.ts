/**
 * The PostgreSQL dialect's statements for one schema, built once per queue. Each is a single
 * statement (NOTIFY rides inside the write that makes jobs claimable, as a CTE), parameters are
 * `$n`, and each reads the jobs through an index of pg-schema.ts.
 *
 * Lease times: with `clock: "database"` (the default of PostgresJobQueue) a lease's expiry is
 * written and compared on the database's clock, `now()` in epoch ms, so machines whose clocks
 * disagree can never both hold one job; with `clock: "caller"` the caller's `now` is used instead
 * (an injectable test clock drives expiry). Due times stay the caller's either way.
 */
import { INSERT_COLUMNS, ROW_COLUMNS } from "./row-codec.ts";
import { WAITING_WAKE } from "./pg-schema.ts";
import { CANCELLABLE, CANCELLABLE_RUNNING, POSTGRES, PURGEABLE, RETRYABLE, SET, heldWhere } from "./transitions.ts";

export type PgLeaseClock = "database" | "caller";

/** The database's clock in epoch ms. */
const DB_NOW = "floor(extract(epoch from now()) * 1000)::bigint";
/**
 * A condition (always true) that makes the statement's own transaction commit without waiting for
 * the WAL flush, for claims and lease renewals: losing one in a server crash only returns the job
 * to waiting (at-least-once allows a rerun) or shortens a lease. Evaluated once, before the first
 * row is written, and the setting is read at the commit. Enqueues, completions and failures stay
 * synchronous.
 */
const ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL";

const row = (alias?: string) => `json_build_array(${alias ? ROW_COLUMNS.split(", ").map((c) => `${alias}.${c}`).join(", ") : ROW_COLUMNS}) AS j`;

/** Notifies `channel` (the parameter `$n`) once when the CTE `u` produced a row. */
const notifyOnce = (n: number) => `n AS (SELECT pg_notify($${n}, '') FROM (SELECT 1 FROM u LIMIT 1) AS one)`;

/** The payload of a finish notification (a waitForJob in any process wakes); `d:*` stands for any job. */
export const DONE_PREFIX = "d:";

/** The bulk filter: $2 status, $3 queue, $4 job type, $5 created before (each NULL for any). */
const BULK_WHERE = "($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR queue = $3) AND ($4::text IS NULL OR job_type = $4) AND ($5::bigint IS NULL OR created_at < $5)";

/** A string as an SQL literal. */
const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** Every statement of one queue, for the quoted schema `s`. */
export function pgStatements(s: string, clock: PgLeaseClock) {
  const jobs = `${s}.jobs`;
  const paused = `${s}.paused_queues`;
  const cols = INSERT_COLUMNS.join(", ");
  /** The lease clock: the database's, or the caller's `now` bound as `$n`. */
  const leaseNow = (n: number) => (clock === "database" ? DB_NOW : `$${n}::bigint`);
  return {
    /**
     * A batch: $1 a JSON array of row objects keyed by column, $2 the channel. One INSERT (all
     * or nothing), keys already taken skipped by jobs_idem; returns the ids it created.
     */
    enqueue: `WITH u AS (INSERT INTO ${jobs} (${cols})
        SELECT ${cols} FROM json_populate_recordset(NULL::${jobs}, $1::text::json) WITH ORDINALITY AS r ORDER BY r.ordinality
        ON CONFLICT (queue, idem) WHERE idem IS NOT NULL DO NOTHING RETURNING id), ${notifyOnce(2)}
      SELECT (SELECT COALESCE(json_agg(id), '[]'::json) FROM u) AS ids, (SELECT count(*) FROM n)::int AS notified`,
    /** Stored jobs for $1, a JSON array of {q, i} (queue, idempotency key): one jobs_idem lookup each. */
    byKeys: `SELECT ${row("d")} FROM json_to_recordset($1::text::json) AS k(q text, i text) JOIN ${jobs} AS d ON d.queue = k.q AND d.idem = k.i`,
    /**
     * Claim in one queue: $1 now, $2 token prefix, $3 leaseMs, $4 queue, $5 limit. Waiting jobs from a walk of jobs_ready in claim order, expired
     * leases from jobs_leases, both SKIP LOCKED (a row another claim holds is passed over, never
     * waited for); the two are merged (at most 2 x limit rows) and the first `limit` taken.
     */
    /**
     * Run first in the gated claim's transaction, whose candidates walk two indexes at once: sorts
     * priced out and JIT off, so the ordered index walks stay the plan whatever the statistics. (The
     * plain claim needs neither since schema version 5; see pg-schema.ts.)
     */
    planSettings: `SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true)`,
    claim: `WITH ready AS (
        SELECT seq, priority, run_at, false AS leased FROM ${jobs} WHERE queue = $4 AND NOT EXISTS (SELECT 1 FROM ${paused} WHERE name = $4) AND token IS NULL AND wake_at IS NOT NULL AND ckey IS NULL AND rkey IS NULL
        AND run_at <= $1 ORDER BY priority DESC, run_at, seq LIMIT $5 FOR UPDATE SKIP LOCKED),
      expired AS (
        SELECT seq, priority, run_at, true AS leased FROM ${jobs} WHERE queue = $4 AND NOT EXISTS (SELECT 1 FROM ${paused} WHERE name = $4) AND token IS NOT NULL
        AND wake_at <= ${leaseNow(1)} AND ckey IS NULL AND rkey IS NULL
        ORDER BY wake_at LIMIT $5 FOR UPDATE SKIP LOCKED),
      picked AS (SELECT seq, leased FROM (SELECT * FROM ready UNION ALL SELECT * FROM expired) AS c ORDER BY priority DESC, run_at, seq LIMIT $5)
      UPDATE ${jobs} AS t SET status = 'running', started_at = $1, attempts = t.attempts + 1, token = $2 || '.' || t.seq, wake_at = ${leaseNow(1)} + $3
      FROM picked WHERE t.seq = picked.seq AND ${ASYNC_COMMIT}
        AND NOT EXISTS (SELECT 1 FROM ${jobs} WHERE queue = $4 AND token IS NULL AND wake_at IS NOT NULL AND (ckey IS NOT NULL OR rkey IS NOT NULL) AND run_at <= $1)
        AND NOT EXISTS (SELECT 1 FROM ${jobs} WHERE queue = $4 AND token IS NOT NULL AND wake_at <= ${leaseNow(1)} AND (ckey IS NOT NULL OR rkey IS NOT NULL))
        AND NOT EXISTS (SELECT 1 FROM ${s}.flow_gates WHERE wake_at <= $1)
      RETURNING ${row("t")}, picked.leased`,
    /** $1 leaseMs, $2.. the lease (and $5 now with the caller's clock). */
    extend: `UPDATE ${jobs} SET wake_at = ${leaseNow(5)} + $1 WHERE ${heldWhere(2)} AND ${ASYNC_COMMIT}`,
    /** $1 now, $2 result, $3.. the lease, $6 the channel (the finish is notified for waitForJob). */
    complete: `WITH u AS (UPDATE ${jobs} SET ${SET.complete} WHERE ${heldWhere(3)} RETURNING id) SELECT pg_notify($6, '${DONE_PREFIX}' || id) FROM u`,
    /**
     * Many completions in one statement: $1 a JSON array of {s, t, i, n, r} (seq, token, id, now,
     * result). Each row is checked exactly as by `complete`; it returns the (seq, token) pairs
     * that held a live lease. The rows are found by `seq = ANY(ARRAY(...))`, which the planner
     * sizes at a few rows whatever the batch: joined to the JSON rows directly (sized at 100), a
     * table under about 30,000 rows was read whole by a hash join for every batch.
     */
    completeMany: `WITH v AS (SELECT * FROM json_to_recordset($1::text::json) AS v(s bigint, t text, i text, n bigint, r text)),
      u AS (UPDATE ${jobs} AS t SET ${SET.complete.replace(/\$1/g, "v.n").replace(/\$2/g, "v.r")}
      FROM v WHERE t.seq = ANY(ARRAY(SELECT s FROM v)) AND t.seq = v.s AND t.token = v.t AND t.id = v.i AND t.status = 'running'
      RETURNING v.s::float8 AS s, v.t, t.id)
      SELECT s, t, pg_notify($2, '${DONE_PREFIX}' || id) AS n FROM u`,
    retrying: `UPDATE ${jobs} SET ${SET.retrying} WHERE ${heldWhere(4)}`,
    /** $1 status, $2 error, $3 now, $4.. the lease, $7 the channel. */
    failed: `WITH u AS (UPDATE ${jobs} SET ${SET.failed} WHERE ${heldWhere(4)} RETURNING id) SELECT pg_notify($7, '${DONE_PREFIX}' || id) FROM u`,
    /** $1.. the lease, $4 the channel: the job is claimable again. */
    release: `WITH u AS (UPDATE ${jobs} SET ${SET.release(POSTGRES)} WHERE ${heldWhere(1)} RETURNING 1), ${notifyOnce(4)}
      SELECT (SELECT count(*) FROM u)::int AS changed, (SELECT count(*) FROM n)::int AS notified`,
    get: `SELECT ${row()} FROM ${jobs} WHERE id = $1`,
    /** $1 now, $2 id, $3 the channel. */
    cancel: `WITH u AS (UPDATE ${jobs} SET ${SET.cancel} WHERE id = $2 AND ${CANCELLABLE} RETURNING id) SELECT pg_notify($3, '${DONE_PREFIX}' || id) FROM u`,
    /** As cancel; `waited` is false when the job was RUNNING (its lease token went to ctoken). */
    cancelRunning: `WITH u AS (UPDATE ${jobs} SET ${SET.cancel} WHERE id = $2 AND ${CANCELLABLE_RUNNING} RETURNING id, ctoken IS NULL AS waited)
      SELECT pg_notify($3, '${DONE_PREFIX}' || id), waited FROM u`,
    /** $1.. the lease: it is the one a cancel took from its RUNNING job. */
    cancelledUnder: `SELECT 1 AS x FROM ${jobs} WHERE seq = $1 AND ctoken = $2 AND id = $3 AND status = 'cancelled'`,
    /** $1 the progress (JSON text), $2.. the lease. */
    progress: `UPDATE ${jobs} SET ${SET.progress} WHERE ${heldWhere(2)}`,
    /** $1 queue, $2 now. */
    pause: `INSERT INTO ${paused} (name, paused_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    /** $1 queue, $2 the channel: its jobs are claimable again. */
    resume: `WITH u AS (DELETE FROM ${paused} WHERE name = $1 RETURNING 1), ${notifyOnce(2)}
      SELECT (SELECT count(*) FROM u)::int AS c, (SELECT count(*) FROM n)::int AS notified`,
    paused: `SELECT name FROM ${paused} ORDER BY name`,
    /** $1 now, $2..$5 the filter, $6 the channel (retried jobs wake workers). */
    bulkRetry: `WITH u AS (UPDATE ${jobs} SET ${SET.retry} WHERE ${RETRYABLE} AND ${BULK_WHERE} RETURNING 1), ${notifyOnce(6)}
      SELECT (SELECT count(*) FROM u)::int AS c, (SELECT count(*) FROM n)::int AS notified`,
    /** As bulkRetry; one finish notification for any job (waiters re-read theirs). */
    bulkCancel: `WITH u AS (UPDATE ${jobs} SET ${SET.cancel} WHERE ${CANCELLABLE_RUNNING} AND ${BULK_WHERE} RETURNING ctoken IS NULL AS waited),
      n AS (SELECT pg_notify($6, '${DONE_PREFIX}*') FROM (SELECT 1 FROM u LIMIT 1) AS one)
      SELECT (SELECT count(*) FROM u)::int AS c, (SELECT count(*) FROM u WHERE waited)::int AS w, (SELECT count(*) FROM n)::int AS notified`,
    bulkPurge: `WITH u AS (DELETE FROM ${jobs} WHERE ${PURGEABLE} AND $1::bigint IS NOT NULL AND ${BULK_WHERE} RETURNING 1) SELECT count(*)::int AS c FROM u`,
    /** A page newest first below cursor $1 (a seq): $2 status, $3 queue, $4 job type, $5 limit. A walk of the primary key, never an offset. */
    page: `SELECT ${row()} FROM ${jobs} WHERE seq < $1::bigint AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR queue = $3)
      AND ($4::text IS NULL OR job_type = $4) ORDER BY seq DESC LIMIT $5`,
    /** The jobs with idempotency key $1 ($2 queue or any, $3 status, $4 type), through jobs_idem. */
    pageByKey: `SELECT ${row()} FROM ${jobs} WHERE idem = $1 AND ($2::text IS NULL OR queue = $2) AND ($3::text IS NULL OR status = $3)
      AND ($4::text IS NULL OR job_type = $4) ORDER BY seq DESC LIMIT $5`,
    /** $1 now, $2 id, $3 the channel. */
    retry: `WITH u AS (UPDATE ${jobs} SET ${SET.retry} WHERE id = $2 AND ${RETRYABLE} RETURNING ${row()}), ${notifyOnce(3)}
      SELECT j, (SELECT count(*) FROM n)::int AS notified FROM u`,
    list: `SELECT ${row()} FROM ${jobs} WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR queue = $2) AND ($3::text IS NULL OR job_type = $3)
      ORDER BY seq LIMIT $4`,
    stats: `SELECT queue, status, count(*)::int AS n FROM ${jobs} GROUP BY queue, status`,
    /**
     * Waiting jobs (PENDING, SCHEDULED, RETRYING): unleased rows with a wake time plus parked
     * ones, each predicate that of a partial index (jobs_waiting, whose predicate is
     * WAITING_WAKE, and jobs_parked), so the count can come from the index; when nearly every
     * row waits the planner reads the table instead, as cheap then. Cached by the queue (see
     * waitingCountMaxAgeMs), so no creation runs it.
     */
    countWaiting: `SELECT ((SELECT count(*) FROM ${jobs} WHERE token IS NULL AND ${WAITING_WAKE})
      + (SELECT count(*) FROM ${jobs} WHERE parked IS NOT NULL AND token IS NULL AND wake_at IS NULL AND status IN ('pending','scheduled','retrying')))::float8 AS n`,
    /**
     * $1 the queues (JSON array), $2 the caller's now. Two index minima per queue; a lease
     * expiry on the database's clock is moved into the caller's (expiry - db now + caller now).
     */
    nextWake: `SELECT min(w)::float8 AS w FROM (
        SELECT (SELECT min(wake_at) FROM ${jobs} WHERE queue = q.name AND token IS NULL AND ${WAITING_WAKE}) AS w FROM json_array_elements_text($1::text::json) AS q(name)
          WHERE NOT EXISTS (SELECT 1 FROM ${paused} WHERE name = q.name)
        UNION ALL
        SELECT (SELECT min(wake_at) FROM ${jobs} WHERE queue = q.name AND token IS NOT NULL) - ${clock === "database" ? DB_NOW : "$2::bigint"} + $2::bigint
        FROM json_array_elements_text($1::text::json) AS q(name) WHERE NOT EXISTS (SELECT 1 FROM ${paused} WHERE name = q.name)) AS x`,
    // ---------------------------------------------------------------- flow control (gated claims run in a transaction under flowLock)
    /** Serializes gated claims and flow enqueues of this schema, so no two take a key's last slot. */
    flowLock: `SELECT pg_advisory_xact_lock(hashtext(${lit(s)} || ':flow'))`,
    flowUsedCheck: `SELECT 1 AS x FROM ${s}.flow_used LIMIT 1`,
    flowUsed: `INSERT INTO ${s}.flow_used (used) VALUES (true) ON CONFLICT DO NOTHING`,
    /** $1 now (caller), $2 queue, $3 limit (and $4 the caller's now with the caller's lease clock). */
    flowCandidates: `SELECT j.seq::float8 AS seq, j.token IS NOT NULL AS leased, j.ckey, j.climit::float8 AS climit, j.rkey, j.rlimit::float8 AS rlimit, j.rperiod::float8 AS rperiod FROM ${jobs} AS j
      WHERE NOT EXISTS (SELECT 1 FROM ${paused} WHERE name = $2) AND j.seq IN (
        (SELECT seq FROM ${jobs} WHERE queue = $2 AND token IS NULL AND wake_at IS NOT NULL AND ckey IS NULL AND rkey IS NULL AND run_at <= $1
          ORDER BY priority DESC, run_at, seq LIMIT $3)
        UNION ALL (SELECT seq FROM ${jobs} WHERE queue = $2 AND token IS NULL AND wake_at IS NOT NULL AND (ckey IS NOT NULL OR rkey IS NOT NULL) AND run_at <= $1
          ORDER BY priority DESC, run_at, seq LIMIT $3)
        UNION ALL (SELECT seq FROM ${jobs} WHERE queue = $2 AND token IS NOT NULL AND wake_at <= ${leaseNow(1)} ORDER BY wake_at LIMIT $3))
      ORDER BY j.priority DESC, j.run_at, j.seq LIMIT $3 FOR UPDATE OF j SKIP LOCKED`,
    /** $1 key, $2 now. */
    keyRunning: `SELECT count(*)::int AS n FROM ${jobs} WHERE ckey = $1 AND token IS NOT NULL AND wake_at > ${leaseNow(2)}`,
    rateStarts: `SELECT at::float8 AS at FROM ${s}.flow_starts WHERE rkey = $1 AND at > $2 ORDER BY at`,
    trimStarts: `DELETE FROM ${s}.flow_starts WHERE rkey = $1 AND at <= $2`,
    addStarts: `INSERT INTO ${s}.flow_starts (rkey, at) SELECT value, $2 FROM json_array_elements_text($1::text::json) AS value`,
    park: `UPDATE ${jobs} AS t SET status = CASE WHEN t.token IS NULL THEN t.status ELSE 'pending' END, token = NULL, wake_at = NULL, parked = p.g
      FROM json_to_recordset($1::text::json) AS p(s bigint, g text) WHERE t.seq = p.s`,
    unpark: `UPDATE ${jobs} SET wake_at = run_at, parked = NULL WHERE seq IN (SELECT seq FROM ${jobs}
      WHERE parked = $1 AND token IS NULL AND wake_at IS NULL AND status IN ('pending','scheduled','retrying') ORDER BY priority DESC, run_at, seq LIMIT $2)`,
    gateWake: `INSERT INTO ${s}.flow_gates (gate, queue, wake_at, lim) VALUES ($1, $2, $3, $4)
      ON CONFLICT (gate) DO UPDATE SET wake_at = LEAST(${s}.flow_gates.wake_at, excluded.wake_at), lim = excluded.lim`,
    dueGates: `DELETE FROM ${s}.flow_gates WHERE wake_at <= $1 RETURNING gate, lim::int AS lim`,
    gateMin: `SELECT min(wake_at)::float8 AS w FROM ${s}.flow_gates`,
    /** $1 now, $2 token prefix, $3 leaseMs, $4 JSON array of seqs. */
    claimSeqs: `UPDATE ${jobs} AS t SET status = 'running', started_at = $1, attempts = t.attempts + 1, token = $2 || '.' || t.seq, wake_at = ${leaseNow(1)} + $3
      FROM json_array_elements_text($4::text::json) AS p(s) WHERE t.seq = p.s::bigint RETURNING ${row("t")}`,
    debounceFind: `SELECT ${row()}, seq::float8 AS seq FROM ${jobs} WHERE queue = $1 AND dkey = $2 AND token IS NULL AND status IN ('pending','scheduled','retrying')
      ORDER BY seq LIMIT 1 FOR UPDATE`,
    debounceSet: `UPDATE ${jobs} SET job_type = $1, payload = $2, priority = $3, max_retries = $4, metadata = $5, created_by = $6, timeout_ms = $7, flow = $8,
      ckey = $9, climit = $10, rkey = $11, rlimit = $12, rperiod = $13, dkey = $14, run_at = $15, scheduled_at = $16, status = $17, wake_at = $18, parked = NULL
      WHERE seq = $19`,
    /** Retention's figures (see retention.ts): unkeyed finished rows counted, each kind's oldest, each from its own partial index. */
    finished: `SELECT (SELECT count(*)::int FROM ${jobs} WHERE finished_at IS NOT NULL AND idem IS NULL) AS c,
      (SELECT min(finished_at)::float8 FROM ${jobs} WHERE finished_at IS NOT NULL AND idem IS NULL) AS m,
      (SELECT min(finished_at)::float8 FROM ${jobs} WHERE finished_at IS NOT NULL AND idem IS NOT NULL) AS k`,
    /** $1 how many of the oldest unkeyed finished rows to remove, $2 their age cutoff, $3 the keyed rows' age cutoff (-1: none). */
    prune: `DELETE FROM ${jobs} WHERE seq IN ((SELECT seq FROM ${jobs} WHERE finished_at IS NOT NULL AND idem IS NULL ORDER BY finished_at, seq LIMIT $1)
      UNION ALL (SELECT seq FROM ${jobs} WHERE finished_at IS NOT NULL AND idem IS NULL AND finished_at < $2)
      UNION ALL (SELECT seq FROM ${jobs} WHERE finished_at IS NOT NULL AND idem IS NOT NULL AND finished_at < $3))`,
  };
}

export type PgStatements = ReturnType<typeof pgStatements>;
