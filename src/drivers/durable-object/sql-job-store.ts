/**
 * SqlJobStore: the SQL core's SQLite store (src/drivers/sql/) on a Durable Object's storage.
 * The object is the only writer of its storage, so the store keeps its per-object caches on.
 */
import { SqliteJobStore, type SqliteExecutor } from "../sql/sqlite-store.ts";

export type { StatementCounter } from "../sql/sqlite-store.ts";

/** The slice of `SqlStorage` this store uses (structural, so no Cloudflare runtime import). */
export interface SqlExec {
  exec(query: string, ...bindings: unknown[]): { toArray(): Record<string, unknown>[]; readonly rowsWritten: number };
}

/** The slice of `DurableObjectStorage` this store uses. */
export interface SqlStorageHost {
  readonly sql: SqlExec;
  transactionSync<T>(fn: () => T): T;
}

/** `ctx.storage` as the core's executor: numbered `?n` parameters bind as they are. */
function executor(storage: SqlStorageHost): SqliteExecutor {
  const sql = storage.sql;
  return {
    all: (query, ...bindings) => sql.exec(query, ...bindings).toArray(),
    run: (query, ...bindings) => sql.exec(query, ...bindings).rowsWritten,
    exec: (query) => void sql.exec(query),
    transaction: (fn) => storage.transactionSync(fn),
  };
}

/** The queue port over a Durable Object's SQLite storage, synchronous; the object wraps it in RPC methods. */
export class SqlJobStore extends SqliteJobStore {
  constructor(storage: SqlStorageHost) {
    super(executor(storage));
  }
}
