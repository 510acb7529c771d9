/**
 * A {@link SqliteDatabase} handle as the SQL core's executor: statements are prepared once and
 * cached, the core's numbered `?n` parameters are rewritten to positional `?` (the one form
 * bun:sqlite, node:sqlite and better-sqlite3 all bind the same way), and transactions are
 * `BEGIN IMMEDIATE`, so the write lock is taken up front and waits out the busy timeout instead
 * of failing half-way when another process writes.
 */
import type { SqliteExecutor } from "../sql/sqlite-store.ts";
import type { SqliteDatabase, SqliteStatement } from "./database.ts";

interface Prepared {
  statement: SqliteStatement;
  /** For each positional `?`, the 1-based index of the value it takes; null when they are already in order. */
  order: number[] | null;
}

/** Rewrites `?n` parameters to `?`, returning the value order. Statements use one form, never both. */
export function positional(sql: string): { sql: string; order: number[] | null } {
  const order: number[] = [];
  const text = sql.replace(/\?(\d*)/g, (_, n: string) => {
    if (n === "") throw new Error(`SQL mixes ? and ?n parameters: ${sql}`);
    order.push(Number(n));
    return "?";
  });
  return { sql: text, order: order.every((n, i) => n === i + 1) ? null : order };
}

/** The executor over `db`, plus `immediate` (one BEGIN IMMEDIATE transaction, reentrant). */
export function sqliteExecutor(db: SqliteDatabase): SqliteExecutor & { immediate<T>(fn: () => T): T } {
  const cache = new Map<string, Prepared>();
  const prepare = (sql: string): Prepared => {
    let p = cache.get(sql);
    if (p === undefined) {
      const { sql: text, order } = positional(sql);
      cache.set(sql, (p = { statement: db.prepare(text), order }));
    }
    return p;
  };
  const args = (p: Prepared, bindings: unknown[]) => (p.order === null ? bindings : p.order.map((n) => bindings[n - 1]));
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  let depth = 0;
  const immediate = <T>(fn: () => T): T => {
    if (depth > 0) return fn();
    begin.run();
    depth++;
    try {
      const value = fn();
      commit.run();
      return value;
    } catch (error) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // SQLite already rolled back on its own (some errors end the transaction).
      }
      throw error;
    } finally {
      depth--;
    }
  };
  return {
    all: (sql, ...bindings) => {
      const p = prepare(sql);
      return p.statement.all(...args(p, bindings)) as Record<string, unknown>[];
    },
    run: (sql, ...bindings) => {
      const p = prepare(sql);
      return Number(p.statement.run(...args(p, bindings)).changes);
    },
    exec: (sql) => db.exec(sql),
    transaction: immediate,
    immediate,
  };
}
