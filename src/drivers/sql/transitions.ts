/**
 * The job lifecycle as SQL, once for every dialect: what each transition writes (its SET clause)
 * and which rows a lease-bound transition may touch. Mirrors src/core's transitions; the
 * conformance suite holds them in step. Parameters are written `$n` and rendered per dialect.
 */
import type { LeaseRef } from "../../core/index.ts";
import { WAITING_SQL } from "./row-codec.ts";

/** How a dialect spells the few things that differ. */
export interface SqlDialect {
  /** The n-th (1-based) numbered parameter. */
  param(n: number): string;
  /** The larger of two integers. */
  greatest(a: string, b: string): string;
}

export const SQLITE: SqlDialect = { param: (n) => `?${n}`, greatest: (a, b) => `max(${a}, ${b})` };
export const POSTGRES: SqlDialect = { param: (n) => `$${n}`, greatest: (a, b) => `GREATEST(${a}, ${b})` };

/** `text` with every `$n` rendered in `dialect`. */
export function render(dialect: SqlDialect, text: string): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => dialect.param(Number(n)));
}

/** The transitions' SET clauses; `$1`.. are the values listed beside each. */
export const SET = {
  /** $1 now, $2 result (JSON text). A finished job gets finished_at, which retention walks. */
  complete: "status = 'completed', completed_at = $1, result = $2, token = NULL, wake_at = NULL, finished_at = $1",
  /** $1 error, $2 now, $3 retry time: back to waiting, due at the retry time. */
  retrying: "status = 'retrying', retry_count = retry_count + 1, error_message = $1, failed_at = $2, token = NULL, run_at = $3, wake_at = $3",
  /** $1 status (failed or dead_letter), $2 error, $3 now: never removed by retention, so no finished_at. */
  failed: "status = $1, error_message = $2, failed_at = $3, token = NULL, wake_at = NULL",
  /** The released claim hands its attempt back (core's stallsOf counts only lost leases). */
  release: (d: SqlDialect) => `status = 'pending', token = NULL, started_at = NULL, wake_at = run_at, attempts = ${d.greatest("attempts - 1", "0")}`,
  /**
   * $1 now. A RUNNING job keeps its lease token in `ctoken`, so the holder's next renewal learns
   * it was cancelled (rather than merely lost); its complete/fail match nothing (no live token).
   */
  cancel: "status = 'cancelled', ctoken = CASE WHEN status = 'running' THEN token END, token = NULL, wake_at = NULL, finished_at = $1",
  /** $1 the progress (JSON text), written only under the live lease. */
  progress: "progress = $1",
  /** $1 now: due at once, retries and attempts start over. */
  retry: "status = 'pending', retry_count = 0, attempts = 0, run_at = $1, wake_at = $1",
} as const;

/** Rows cancel may touch. */
export const CANCELLABLE = `status IN ${WAITING_SQL}`;
/** Rows cancel with `running: true` (and bulk cancel) may touch. */
export const CANCELLABLE_RUNNING = "status IN ('pending','scheduled','retrying','running')";
/** Rows purge may remove: finished ones only. */
export const PURGEABLE = "status IN ('completed','failed','dead_letter','cancelled')";
/** Rows retry may touch. */
export const RETRYABLE = "status IN ('dead_letter','failed')";

/**
 * The row a live lease holds, its seq, token and id bound as `$k`, `$k+1`, `$k+2`: found by
 * the primary key at the end of the token, and the id, token and status checks make a forged or
 * stale token (its job reclaimed since) match nothing.
 */
export function heldWhere(k: number): string {
  return `seq = $${k} AND token = $${k + 1} AND id = $${k + 2} AND status = 'running'`;
}

/** The row's primary key carried at the end of a lease token, or null for a malformed token. */
export function leaseSeq(lease: LeaseRef): number | null {
  if (typeof lease?.token !== "string") return null;
  const seq = Number(lease.token.slice(lease.token.lastIndexOf(".") + 1));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}
