/**
 * The queue's `postgres` client, replaced by a fresh one when a connection is lost mid-use.
 *
 * Why: in `postgres` 3.4.9 a connection that closes while a write is still buffered keeps its
 * stale write timer, so when it reconnects its startup message is never sent. Every query routed
 * to it then waits for the connect timeout (30 s), and again on each retry; the server, for its
 * part, waits for that startup message before it can shut down. A new client has none of that
 * state, and ending the old one at once fails its waiting queries fast, so callers retry on the
 * new one. A client the caller passed in is never replaced: it is theirs (docs/postgres.md).
 */
import postgres, { type Options, type Sql } from "postgres";
import type { PostgresClientOptions } from "./queue.ts";
import { isConnectionLost } from "./errors.ts";

export class PgClient {
  #sql: Sql;
  readonly #make: (() => Sql) | null;
  readonly #onReplace: (sql: Sql) => void;
  #ended = false;

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

  /** The client to use now: take it once per operation and pass it back to {@link failed}. */
  get sql(): Sql {
    return this.#sql;
  }

  /** True when the queue made the client (and so ends it on close). */
  get owned(): boolean {
    return this.#make !== null;
  }

  /**
   * After `error` from an operation that ran on `used`: when a connection was lost and `used` is
   * still the current client we made, a fresh client takes its place and the old one is ended.
   * Returns whether it was replaced.
   */
  failed(used: Sql, error: unknown): boolean {
    if (this.#make === null || this.#ended || used !== this.#sql || !isConnectionLost(error)) return false;
    this.#sql = this.#make();
    // Ending at once rejects what still waits on the old client; nothing of it is kept.
    void used.end({ timeout: 0 }).catch(() => {});
    this.#onReplace(this.#sql);
    return true;
  }

  /** Ends the client if the queue made it, giving running queries `timeoutSeconds`. */
  async end(timeoutSeconds: number): Promise<void> {
    if (this.#make === null || this.#ended) return;
    this.#ended = true;
    await this.#sql.end({ timeout: timeoutSeconds });
  }
}
