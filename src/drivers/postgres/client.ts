/**
 * The queue's `postgres` client, replaced by a fresh one when a connection is lost mid-use.
 *
 * Why: in `postgres` 3.4.9 a connection that closes while a write is still buffered keeps its
 * stale write timer, so when it reconnects its startup message is never sent. Every query routed
 * to it then waits for the connect timeout (30 s), and again on each retry; the server, for its
 * part, waits for that startup message before it can shut down. A new client has none of that
 * state. The old one ends once the operations still running on it are done (or after a grace, so
 * what waits on a stuck connection fails and is retried on the new client): a lost connection is
 * often one of several healthy ones (an operator ends one backend), and ending the old client at
 * once failed the statements running on those after the server had applied them (a completion
 * committed but reported failed). A client the caller passed in is never replaced: it is theirs
 * (docs/postgres.md).
 */
import postgres, { type Options, type Sql } from "postgres";
import type { PostgresClientOptions } from "./queue.ts";
import { isConnectionLost } from "./errors.ts";

/** How long a replaced client's running operations have to finish before its connections are closed under them. */
const REPLACED_GRACE_MS = 5_000;

export class PgClient {
  #sql: Sql;
  readonly #make: (() => Sql) | null;
  readonly #onReplace: (sql: Sql) => void;
  #ended = false;
  /** How many operations run on each client (between {@link use} and {@link done}). */
  readonly #running = new Map<Sql, number>();
  /** Replaced clients whose operations still run, each with its grace timer. */
  readonly #retired = new Map<Sql, ReturnType<typeof setTimeout>>();
  /** Replaced clients being ended (close() waits for them). */
  readonly #ending = new Set<Promise<void>>();

  /** `url` makes (and may replace) a pool of `max` connections with `options`; `sql` is the caller's client, used as it is. */
  constructor(source: { url: string; max: number; options?: PostgresClientOptions } | { sql: Sql }, onReplace: (sql: Sql) => void) {
    if ("url" in source) {
      // No array-type fetch: the queue reads no arrays, and postgres (3.4.9) runs that fetch on each
      // new connection from a promise nobody handles, so a connection reset or ended during it
      // (as ending a replaced client does) ended the process with an unhandled rejection.
      this.#make = () => postgres(source.url, { onnotice: () => {}, ...(source.options as Options<Record<string, never>>), max: source.max, fetch_types: false });
      this.#sql = this.#make();
    } else {
      this.#make = null;
      this.#sql = source.sql;
    }
    this.#onReplace = onReplace;
  }

  /** The client now (for its options and the LISTEN; operations take it with {@link use}). */
  get sql(): Sql {
    return this.#sql;
  }

  /** The client for one operation: pass it to {@link failed} on an error and to {@link done} once the operation settled. */
  use(): Sql {
    const sql = this.#sql;
    this.#running.set(sql, (this.#running.get(sql) ?? 0) + 1);
    return sql;
  }

  /** The operation that took `sql` with {@link use} has settled; a replaced client ends with its last one. */
  done(sql: Sql): void {
    const n = (this.#running.get(sql) ?? 1) - 1;
    if (n > 0) {
      this.#running.set(sql, n);
      return;
    }
    this.#running.delete(sql);
    if (this.#retired.has(sql)) this.#retire(sql, 0);
  }

  /**
   * After `error` from an operation that ran on `used`: when a connection was lost and `used` is
   * still the current client we made, a fresh client takes its place and the old one is ended.
   * Returns whether it was replaced.
   */
  failed(used: Sql, error: unknown): boolean {
    if (this.#make === null || this.#ended || used !== this.#sql || !isConnectionLost(error)) return false;
    this.#sql = this.#make();
    if (this.#running.has(used)) {
      const timer = setTimeout(() => this.#retire(used, 0), REPLACED_GRACE_MS);
      (timer as { unref?: () => void }).unref?.();
      this.#retired.set(used, timer);
    } else {
      this.#retire(used, 0);
    }
    this.#onReplace(this.#sql);
    return true;
  }

  /** Ends the client if the queue made it, and any it replaced, giving running queries `timeoutSeconds`. */
  async end(timeoutSeconds: number): Promise<void> {
    if (this.#make === null || this.#ended) return;
    this.#ended = true;
    for (const sql of [...this.#retired.keys()]) this.#retire(sql, timeoutSeconds);
    await Promise.all([this.#sql.end({ timeout: timeoutSeconds }), ...this.#ending]);
  }

  /** Ends a replaced client, giving what still runs on it `timeoutSeconds`; what waits on it then fails. */
  #retire(sql: Sql, timeoutSeconds: number): void {
    const timer = this.#retired.get(sql);
    if (timer !== undefined) clearTimeout(timer);
    this.#retired.delete(sql);
    const ending: Promise<void> = sql
      .end({ timeout: timeoutSeconds })
      .catch(() => {})
      .finally(() => this.#ending.delete(ending));
    this.#ending.add(ending);
  }
}
