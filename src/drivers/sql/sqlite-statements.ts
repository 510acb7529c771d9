/**
 * The SQLite dialect's statements, each built once per shape and cached. Written with numbered
 * `?n` parameters (the Durable Object binds them as they are; the SQLite handle rewrites them to
 * positional `?`, see src/drivers/sqlite/). Every statement walks an index of sqlite-schema.ts.
 */
import { INSERT_COLUMNS, JSON_COLUMNS, ROW_COLUMNS, maskedColumns } from "./row-codec.ts";
import { CANCELLABLE, CANCELLABLE_RUNNING, PURGEABLE, RETRYABLE, SET, SQLITE, heldWhere, render } from "./transitions.ts";

/** A whole row as one JSON text column `j` (see ROW_COLUMNS). */
export const ROW_JSON = `json_array(${ROW_COLUMNS}) AS j`;

/**
 * The distinct queues that have wake times, one index seek each (SQLite has no skip-scan without
 * statistics, and GROUP BY queue would walk every waiting row); ends with one NULL row.
 */
export const QUEUES_CTE = `WITH RECURSIVE qs(name) AS (
  SELECT (SELECT MIN(queue) FROM jobs INDEXED BY jobs_wakeups WHERE wake_at IS NOT NULL)
  UNION ALL
  SELECT (SELECT MIN(queue) FROM jobs INDEXED BY jobs_wakeups WHERE wake_at IS NOT NULL AND queue > qs.name) FROM qs WHERE qs.name IS NOT NULL)`;

/** A queue's earliest wake time among waiting (`leased` 0) or running (1) jobs: one index minimum. */
export const minWake = (queue: string, leased: 0 | 1) =>
  `(SELECT MIN(wake_at) FROM jobs INDEXED BY jobs_wakeups WHERE queue = ${queue} AND (token IS NOT NULL) = ${leased} AND wake_at IS NOT NULL)`;

const cache = new Map<string, string>();
const cached = (key: string, build: () => string): string => {
  let sql = cache.get(key);
  if (sql === undefined) cache.set(key, (sql = build()));
  return sql;
};

/**
 * A batch is one INSERT over json_each of one JSON array of rows (one bound value however many
 * rows, and no bound-parameter limit), each row a positional array of the columns in `mask` (the
 * optional columns some row fills). Payload, metadata and result travel nested when `nested`,
 * not as strings inside the JSON, so they are neither stringified nor escaped twice.
 */
export function insertBatchSql(mask: number, nested: boolean): string {
  return cached(`batch${mask}${nested ? "" : "s"}`, () => {
    const cols = maskedColumns(mask);
    return `INSERT INTO jobs (${cols.join(", ")})
      SELECT ${cols.map((c, i) => `j${nested && JSON_COLUMNS.has(c) ? "->" : "->>"}${i}`).join(", ")}
      FROM (SELECT value AS j FROM json_each(?1) ORDER BY key) WHERE true
      ON CONFLICT (queue, idem) WHERE idem IS NOT NULL DO NOTHING`;
  });
}

/** Values a new job usually has, written into the single-job INSERT as SQL literals instead of bound. */
export const LITERALS: readonly unknown[] = INSERT_COLUMNS.map((c) =>
  c === "priority" || c === "retry_count" || c === "attempts" ? 0 : c === "max_retries" ? 3 : c === "status" ? "pending" : c === "metadata" ? "{}" : undefined,
);

/**
 * The single-job INSERT for a shape: per column `n` left out (NULL), `l` its literal, `r` the
 * run_at value (?1) again, `b` bound; the bound values follow ?1 in column order.
 */
export function insertOneSql(shape: string): string {
  return cached(shape, () => {
    const cols: string[] = [];
    const vals: string[] = [];
    let n = 1;
    for (let i = 0; i < INSERT_COLUMNS.length; i++) {
      const kind = shape[i];
      if (kind === "n") continue;
      const literal = LITERALS[i];
      cols.push(INSERT_COLUMNS[i]!);
      vals.push(kind === "r" ? "?1" : kind === "l" ? (typeof literal === "string" ? `'${literal}'` : String(literal)) : `?${++n}`);
    }
    return `INSERT INTO jobs (${cols.join(", ")}) VALUES (${vals.join(", ")}) ON CONFLICT (queue, idem) WHERE idem IS NOT NULL DO NOTHING`;
  });
}

/** Stored jobs for [queue, key] pairs (?1, JSON): json_each first (CROSS JOIN fixes the order), one jobs_idem lookup per key. */
export const BY_KEYS = `SELECT ${ROW_JSON} FROM jobs WHERE seq IN (SELECT d.seq FROM json_each(?1) AS k CROSS JOIN jobs AS d INDEXED BY jobs_idem
  WHERE d.queue = k.value->>0 AND d.idem = k.value->>1 AND d.idem IS NOT NULL)`;
export const BY_KEY = `SELECT ${ROW_JSON} FROM jobs WHERE queue = ?1 AND idem = ?2`;
export const BY_ID = `SELECT ${ROW_JSON} FROM jobs WHERE id = ?1`;

/**
 * The claim UPDATE for one queue. Waiting jobs come from one walk of jobs_ready in claim order,
 * stopping after `limit` rows (`run_at` equals `wake_at` for waiting rows and is in the index, so
 * the due test needs no row lookup). Expired leases are the leased half of jobs_wakeups; only when
 * one may have expired does the claim also walk it and merge the two (at most 2 x limit rows).
 * INDEXED BY keeps SQLite from sorting every due job instead. `seq = (...)` for one job and UPDATE
 * ... FROM for several: both measured faster than `seq IN (...)`. Bindings: ?1 now, ?2 token, ?3
 * lease expiry, ?4 queue, then ?5 limit unless it is a literal 1 (one claim without a type filter,
 * the common case: a bound value costs) and ?6 job types when filtered.
 */
export function claimSql(single: boolean, leases: boolean, typed: boolean): string {
  return cached(`claim${single}${leases}${typed}`, () => {
    const typeFilter = typed ? " AND job_type IN (SELECT value FROM json_each(?6))" : "";
    const limit = single && !typed ? "1" : "?5";
    const ready = `SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_ready_plain
    WHERE queue = ?4 AND token IS NULL AND wake_at IS NOT NULL AND ckey IS NULL AND rkey IS NULL AND run_at <= ?1${typeFilter}
    ORDER BY priority DESC, run_at, seq LIMIT ${limit}`;
    const pick = leases
      ? `SELECT seq FROM (SELECT * FROM (${ready}) UNION ALL SELECT * FROM (SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_wakeups
         WHERE queue = ?4 AND (token IS NOT NULL) = 1 AND wake_at IS NOT NULL AND wake_at <= ?1 AND ckey IS NULL AND rkey IS NULL${typeFilter} ORDER BY wake_at LIMIT ${limit}))
       ORDER BY priority DESC, run_at, seq LIMIT ${limit}`
      : ready.replace("SELECT seq, priority, run_at", "SELECT seq");
    // Flow control: while a gated job (a concurrency key or a rate limit) is due in the queue, or a
    // rate window moved on, this plain claim takes nothing and the store runs the gated claim.
    // A paused queue: one primary-key lookup in paused_queues, in the same statement.
    const guard = `NOT EXISTS (SELECT 1 FROM paused_queues WHERE name = ?4) AND NOT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_ready_gated WHERE queue = ?4 AND token IS NULL AND wake_at IS NOT NULL
      AND (ckey IS NOT NULL OR rkey IS NOT NULL) AND run_at <= ?1) AND NOT EXISTS (SELECT 1 FROM flow_gates WHERE wake_at <= ?1)${
      leases
        ? ` AND NOT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_wakeups WHERE queue = ?4 AND (token IS NOT NULL) = 1 AND wake_at IS NOT NULL
      AND wake_at <= ?1 AND (ckey IS NOT NULL OR rkey IS NOT NULL))`
        : ""
    }`;
    return `UPDATE jobs SET status = 'running', started_at = ?1, attempts = attempts + 1, token = ?2 || '.' || jobs.seq, wake_at = ?3
    ${single ? `WHERE seq = (${pick})` : `FROM (${pick}) AS picked WHERE jobs.seq = picked.seq`} AND ${guard} RETURNING ${ROW_JSON}`;
  });
}

/** A lease-bound UPDATE: `set` (using ?1..?n for its n values), restricted to the held row; seq, token and id bind after. */
export function heldSql(set: string, n: number): string {
  return cached(`held${n}${set}`, () => render(SQLITE, `UPDATE jobs SET ${set} WHERE ${heldWhere(n + 1)}`));
}

export const EXTEND = `${heldSql("wake_at = $1", 1)} RETURNING queue`;
export const COMPLETE = heldSql(SET.complete, 2);
export const RETRYING = heldSql(SET.retrying, 3);
export const FAILED = heldSql(SET.failed, 3);
export const RELEASE = heldSql(SET.release(SQLITE), 0);
export const CANCEL = render(SQLITE, `UPDATE jobs SET ${SET.cancel} WHERE id = $2 AND ${CANCELLABLE}`);
export const CANCEL_RUNNING = render(SQLITE, `UPDATE jobs SET ${SET.cancel} WHERE id = $2 AND ${CANCELLABLE_RUNNING}`);
/** The lease (seq, token, id) was the one a cancel took from its RUNNING job. */
export const CANCELLED_UNDER = "SELECT 1 AS x FROM jobs WHERE seq = ?1 AND ctoken = ?2 AND id = ?3 AND status = 'cancelled'";
export const PROGRESS = heldSql(SET.progress, 1);

// ---------------------------------------------------------------- operations

export const PAUSE = "INSERT INTO paused_queues (name, paused_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
export const RESUME = "DELETE FROM paused_queues WHERE name = ?1";
export const PAUSED = "SELECT name FROM paused_queues ORDER BY name";
/** The bulk filter: ?2 status, ?3 queue, ?4 job type, ?5 created before (each NULL for any); ?1 is now. */
const BULK_WHERE = "(?2 IS NULL OR status = ?2) AND (?3 IS NULL OR queue = ?3) AND (?4 IS NULL OR job_type = ?4) AND (?5 IS NULL OR created_at < ?5)";
// RETURNING counts rows exactly: a Durable Object's rowsWritten also counts index writes.
export const BULK_RETRY = render(SQLITE, `UPDATE jobs SET ${SET.retry} WHERE ${RETRYABLE} AND ${BULK_WHERE} RETURNING 1 AS x`);
export const BULK_CANCEL = render(SQLITE, `UPDATE jobs SET ${SET.cancel} WHERE ${CANCELLABLE_RUNNING} AND ${BULK_WHERE} RETURNING 1 AS x`);
export const BULK_PURGE = `DELETE FROM jobs WHERE ${PURGEABLE} AND ?1 IS NOT NULL AND ${BULK_WHERE} RETURNING 1 AS x`;
/**
 * A page newest first: ?1 the cursor (a seq; the page continues below it), ?2 status, ?3 queue,
 * ?4 job type, ?5 limit. A walk of the primary key down from the cursor, never an offset.
 */
export const PAGE = `SELECT ${ROW_JSON} FROM jobs WHERE seq < ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR queue = ?3)
  AND (?4 IS NULL OR job_type = ?4) ORDER BY seq DESC LIMIT ?5`;
/** The job(s) with idempotency key ?1 (in queue ?2, or any queue), through jobs_idem. */
export const PAGE_BY_KEY = `SELECT ${ROW_JSON} FROM jobs INDEXED BY jobs_idem WHERE idem = ?1 AND idem IS NOT NULL AND (?2 IS NULL OR queue = ?2)
  AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR job_type = ?4) ORDER BY seq DESC LIMIT ?5`;
export const RETRY = render(SQLITE, `UPDATE jobs SET ${SET.retry} WHERE id = $2 AND ${RETRYABLE} RETURNING ${ROW_JSON}`);

export const LIST = `SELECT ${ROW_JSON} FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR queue = ?2) AND (?3 IS NULL OR job_type = ?3)
  ORDER BY seq LIMIT ?4`;
export const STATS = "SELECT queue, status, COUNT(*) AS n FROM jobs GROUP BY queue, status";
/** The waiting-jobs counter its triggers keep (WAITING_COUNTER in sqlite-schema.ts): one primary-key lookup. */
export const COUNT_WAITING = "SELECT waiting FROM job_counts WHERE id = 1";
export const MIGRATION_APPLIED = "SELECT 1 AS x FROM portico_migrations WHERE name = ?1";
export const RECORD_MIGRATION = "INSERT INTO portico_migrations (name) VALUES (?1) ON CONFLICT DO NOTHING";

/** The earliest wake time and its queue over the queues of `qs` (one row per queue and half: a two-argument min() is NULL when a half is empty). */
const half = (leased: 0 | 1) => `SELECT name AS queue, ${minWake("qs.name", leased)} AS w FROM qs WHERE NOT EXISTS (SELECT 1 FROM paused_queues WHERE paused_queues.name = qs.name)`;
const pickWake = `SELECT queue, w FROM (${half(0)} UNION ALL ${half(1)}) WHERE w IS NOT NULL ORDER BY w LIMIT 1`;
/** ?1: the queues as a JSON array. */
export const WAKE_OF = `WITH qs(name) AS MATERIALIZED (SELECT value FROM json_each(?1)) ${pickWake}`;
export const WAKE_ALL = `${QUEUES_CTE} ${pickWake}`;
/** Every queue's earliest lease expiry. */
export const LEASE_MINS = `${QUEUES_CTE} SELECT name, ${minWake("qs.name", 1)} AS m FROM qs WHERE name IS NOT NULL`;
export const LEASE_MIN = `SELECT ${minWake("?1", 1)} AS m`;

/** Retention's figures (see retention.ts): unkeyed finished rows counted, each kind's oldest; each an index walk of its own kind only. */
export const FINISHED = `SELECT (SELECT COUNT(*) FROM jobs INDEXED BY jobs_finished_plain WHERE finished_at IS NOT NULL AND idem IS NULL) AS c,
  (SELECT MIN(finished_at) FROM jobs INDEXED BY jobs_finished_plain WHERE finished_at IS NOT NULL AND idem IS NULL) AS m,
  (SELECT MIN(finished_at) FROM jobs INDEXED BY jobs_finished_keyed WHERE finished_at IS NOT NULL AND idem IS NOT NULL) AS k`;
/** ?1 how many of the oldest unkeyed finished rows to remove, ?2 their age cutoff, ?3 the keyed rows' age cutoff (-1: none). */
export const PRUNE = `DELETE FROM jobs WHERE seq IN (
  SELECT seq FROM (SELECT seq FROM jobs INDEXED BY jobs_finished_plain WHERE finished_at IS NOT NULL AND idem IS NULL ORDER BY finished_at, seq LIMIT ?1)
  UNION ALL SELECT seq FROM jobs INDEXED BY jobs_finished_plain WHERE finished_at IS NOT NULL AND idem IS NULL AND finished_at < ?2
  UNION ALL SELECT seq FROM jobs INDEXED BY jobs_finished_keyed WHERE finished_at IS NOT NULL AND idem IS NOT NULL AND finished_at < ?3)`;


// ---------------------------------------------------------------- flow control (see sqlite-schema.ts)

const WAITING = "status IN ('pending','scheduled','retrying')";
const typed = (n: number) => `AND (?${n} IS NULL OR job_type IN (SELECT value FROM json_each(?${n})))`;

/**
 * The gated claim's candidates in claim order, at most ?3: due plain rows, due gated rows and
 * expired leases, each from its own index (three walks of at most ?3 entries), each with its
 * key's live slots (`running`), its rate key's starts in the window (`starts`) and whether a rate gate is due to open. ?1 now, ?2 queue, ?4 job types or NULL.
 */
export const FLOW_CANDIDATES = `SELECT j.seq, j.ckey, j.climit, j.rkey, j.rlimit, j.rperiod,
  CASE WHEN j.ckey IS NULL THEN 0 ELSE (SELECT count(*) FROM jobs AS r INDEXED BY jobs_key_running
    WHERE r.ckey = j.ckey AND r.token IS NOT NULL AND r.wake_at > ?1) END AS running,
  CASE WHEN j.rkey IS NULL THEN 0 ELSE (SELECT count(*) FROM flow_starts WHERE rkey = j.rkey AND at > ?1 - j.rperiod) END AS starts,
  EXISTS (SELECT 1 FROM flow_gates WHERE wake_at <= ?1) AS gates_due FROM (
  SELECT * FROM (SELECT seq FROM jobs INDEXED BY jobs_ready_plain WHERE queue = ?2 AND token IS NULL AND wake_at IS NOT NULL AND ckey IS NULL AND rkey IS NULL
    AND run_at <= ?1 ${typed(4)} ORDER BY priority DESC, run_at, seq LIMIT ?3)
  UNION ALL SELECT * FROM (SELECT seq FROM jobs INDEXED BY jobs_ready_gated WHERE queue = ?2 AND token IS NULL AND wake_at IS NOT NULL
    AND (ckey IS NOT NULL OR rkey IS NOT NULL) AND run_at <= ?1 ${typed(4)} ORDER BY priority DESC, run_at, seq LIMIT ?3)
  UNION ALL SELECT * FROM (SELECT seq FROM jobs INDEXED BY jobs_wakeups WHERE queue = ?2 AND (token IS NOT NULL) = 1 AND wake_at IS NOT NULL
    AND wake_at <= ?1 ${typed(4)} ORDER BY wake_at LIMIT ?3)
) AS c JOIN jobs AS j ON j.seq = c.seq WHERE NOT EXISTS (SELECT 1 FROM paused_queues WHERE name = ?2)
ORDER BY j.priority DESC, j.run_at, j.seq LIMIT ?3`;

/** RUNNING jobs of key ?1 whose lease is live at ?2: one walk of jobs_key_running. */
export const KEY_RUNNING = "SELECT count(*) AS n FROM jobs INDEXED BY jobs_key_running WHERE ckey = ?1 AND token IS NOT NULL AND wake_at > ?2";
/** Start times of rate key ?1 after ?2, oldest first. */
export const RATE_STARTS = "SELECT at FROM flow_starts WHERE rkey = ?1 AND at > ?2 ORDER BY at";
export const TRIM_STARTS = "DELETE FROM flow_starts WHERE rkey = ?1 AND at <= ?2";
export const ADD_STARTS = "INSERT INTO flow_starts (rkey, at) SELECT value, ?2 FROM json_each(?1)";

/**
 * Parks rows (?1: JSON [[seq, gate], ...]) out of every claim index. An expired lease parked this
 * way becomes PENDING: its lease is lost either way, and it waits for its key like the others.
 */
export const PARK = `UPDATE jobs SET status = CASE WHEN jobs.token IS NULL THEN jobs.status ELSE 'pending' END, token = NULL, wake_at = NULL,
  parked = p.value->>1 FROM json_each(?1) AS p WHERE jobs.seq = p.value->>0`;
/** The best ?2 parked rows of gate ?1 wait again (due at their own run_at). */
export const UNPARK = `UPDATE jobs SET wake_at = run_at, parked = NULL WHERE seq IN (SELECT seq FROM jobs INDEXED BY jobs_parked
  WHERE parked = ?1 AND token IS NULL AND wake_at IS NULL AND ${WAITING} ORDER BY priority DESC, run_at, seq LIMIT ?2)`;
/** Rate gate ?1 (of queue ?2) opens at ?3 for up to ?4 starts. */
export const GATE_WAKE = `INSERT INTO flow_gates (gate, queue, wake_at, lim) VALUES (?1, ?2, ?3, ?4)
  ON CONFLICT (gate) DO UPDATE SET wake_at = min(wake_at, excluded.wake_at), lim = excluded.lim`;
export const DUE_GATES = "DELETE FROM flow_gates WHERE wake_at <= ?1 RETURNING gate, lim";
/** The earliest rate gate to open, and its queue. */
export const GATE_MIN = "SELECT queue, wake_at AS w FROM flow_gates ORDER BY wake_at LIMIT 1";
/** Claims the rows ?4 (JSON array of seqs): ?1 now, ?2 token prefix, ?3 lease expiry. */
export const CLAIM_SEQS = `UPDATE jobs SET status = 'running', started_at = ?1, attempts = attempts + 1, token = ?2 || '.' || jobs.seq, wake_at = ?3
  FROM (SELECT value AS s FROM json_each(?4)) AS p WHERE jobs.seq = p.s RETURNING ${ROW_JSON}`;

/** The waiting job of queue ?1 with debounce key ?2, oldest first. */
export const DEBOUNCE_FIND = `SELECT ${ROW_JSON}, seq FROM jobs WHERE seq = (SELECT seq FROM jobs INDEXED BY jobs_debounce
  WHERE queue = ?1 AND dkey = ?2 AND token IS NULL AND ${WAITING} ORDER BY seq LIMIT 1)`;
/** A debounced row takes the new job: ?1.. in this order, then ?19 seq. */
export const DEBOUNCE_SET = `UPDATE jobs SET job_type = ?1, payload = ?2, priority = ?3, max_retries = ?4, metadata = ?5, created_by = ?6,
  timeout_ms = ?7, flow = ?8, ckey = ?9, climit = ?10, rkey = ?11, rlimit = ?12, rperiod = ?13, dkey = ?14, run_at = ?15, scheduled_at = ?16,
  status = ?17, wake_at = ?18, parked = NULL WHERE seq = ?19`;
/** Marks (once) that this database has seen flow control, so claims look for gated rows. */
export const FLOW_USED = "INSERT INTO portico_migrations (name) VALUES ('flow-control-used') ON CONFLICT DO NOTHING";
export const FLOW_USED_CHECK = "SELECT 1 AS x FROM portico_migrations WHERE name = 'flow-control-used'";
